"""The objects a ManagedDatabase owns, as plain dicts ready for server-side apply.

Pure and deterministic (the password generator is passed in), so every field is table-tested without a cluster.
Each dict carries apiVersion, kind, name and namespace and only the fields the operator owns: no status, no
defaults the API server fills in, no pod-template annotations (a window's or a user's restart annotation must
survive our next apply).
"""

import base64
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from maintenance_operator.api import names
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.planning.databases.engines import SECRET_HOST, SECRET_PORT, EngineSpec, engine

DATA_VOLUME: Final = "data"
COMPONENT: Final = "database"
# The StatefulSet controller labels each pod `controller-revision-hash: <name>-<hash>`, which must fit in 63
# characters; the headless Service name (`<name>-headless`) must too.
MAX_NAME_LENGTH: Final = 52
TERMINATION_GRACE_SECONDS: Final = 60  # covers PostgreSQL's fast-shutdown hook (50 s) and MySQL's buffer flush
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_PASSWORD_ALPHABET: Final = string.ascii_letters + string.digits

Manifest = dict[str, Any]
PasswordGenerator = Callable[[], str]


@dataclass(frozen=True)
class DatabaseRef:
    """The ManagedDatabase the objects belong to (owner reference, names, labels)."""

    name: str
    namespace: str
    uid: str


def name_problem(name: str) -> str | None:
    """Why children cannot be named after this ManagedDatabase, or None. Builders assume a name that passed."""
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"name {name!r} is {len(name)} characters; a ManagedDatabase name can have at most {MAX_NAME_LENGTH}, "
            "because its StatefulSet's pods and its Services are named after it"
        )
    if not _DNS_LABEL.fullmatch(name):
        return (
            f"name {name!r} cannot name a Service: use lowercase letters, digits and '-', starting with a letter "
            "and ending with a letter or digit"
        )
    return None


def random_password(length: int = 32) -> str:
    """The production generator: letters and digits only, safe in URLs, shells and the kubelet's `$(VAR)` expansion."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


# Names of the children. Stable: users and applications refer to them (endpoint, Secret, volumes).
def statefulset_name(database: str) -> str:
    return database


def service_name(database: str) -> str:
    return database


def headless_service_name(database: str) -> str:
    return f"{database}-headless"


def secret_name(database: str) -> str:
    return f"{database}-credentials"


def data_claim_name(database: str) -> str:
    """The PVC the StatefulSet controller creates (and restoreFrom pre-creates) for the one pod."""
    return f"{DATA_VOLUME}-{statefulset_name(database)}-0"


def endpoint(db: DatabaseRef, engine_name: str) -> str:
    """`host:port` clients use, for status and listings."""
    return f"{service_name(db.name)}.{db.namespace}.svc:{engine(engine_name).port}"


def selector_labels(db: DatabaseRef, engine_name: str) -> dict[str, str]:
    """The StatefulSet and Service selector: immutable on a StatefulSet, so only labels that never change."""
    return {"app.kubernetes.io/name": engine_name, names.LABEL_DATABASE: db.name}


def labels(db: DatabaseRef, engine_name: str) -> dict[str, str]:
    """On every child, so `-l maintenance.ops.dev/database=<name>` finds them all (backups find data PVCs so)."""
    return {
        **selector_labels(db, engine_name),
        "app.kubernetes.io/instance": db.name,
        "app.kubernetes.io/component": COMPONENT,
        names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
    }


def owner_reference(db: DatabaseRef) -> dict[str, Any]:
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.MANAGED_DATABASE,
        "name": db.name,
        "uid": db.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(db: DatabaseRef, name: str, engine_name: str, *, owned: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": db.namespace, "labels": labels(db, engine_name)}
    if owned:
        meta["ownerReferences"] = [owner_reference(db)]
    return meta


def _claim_spec(size: str, class_name: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if class_name is not None:
        spec["storageClassName"] = class_name
    return spec


def _container(db: DatabaseRef, spec: ManagedDatabaseSpec, eng: EngineSpec, version: str) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": DATA_VOLUME, "mountPath": eng.data_path}
    if eng.data_sub_path is not None:
        mount["subPath"] = eng.data_sub_path
    container: dict[str, Any] = {
        "name": eng.name,
        "image": eng.image_ref(version),
        "ports": [{"name": eng.port_name, "containerPort": eng.port, "protocol": "TCP"}],
        "env": [
            {"name": e.env, "valueFrom": {"secretKeyRef": {"name": secret_name(db.name), "key": e.key}}}
            for e in eng.secret_env
        ],
        "readinessProbe": {
            "exec": {"command": list(eng.readiness)},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "volumeMounts": [mount],
    }
    if eng.args:
        container["args"] = list(eng.args)
    if eng.pre_stop:
        container["lifecycle"] = {"preStop": {"exec": {"command": list(eng.pre_stop)}}}
    if spec.resources is not None:
        given = (("requests", spec.resources.requests), ("limits", spec.resources.limits))
        container["resources"] = {k: dict(v) for k, v in given if v}
    return container


def statefulset(db: DatabaseRef, spec: ManagedDatabaseSpec, version: str, *, claim_size: str | None = None) -> Manifest:
    """One replica of the engine's official image at `version`: the *applied* version (status.currentVersion),
    never an unapplied spec change, so re-applying outside a window cannot start an upgrade.

    `claim_size`: the size already in the existing StatefulSet's claim template, which the API server will not let
    change (growth is done on the PVC itself); defaults to spec.storage.size for a new StatefulSet.
    """
    eng = engine(spec.engine)
    pod_labels = {**labels(db, eng.name), "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {**_metadata(db, statefulset_name(db.name), eng.name), "labels": pod_labels},
        "spec": {
            "replicas": 1,  # high availability is not supported yet; larger specs are refused before this
            "serviceName": headless_service_name(db.name),
            "selector": {"matchLabels": selector_labels(db, eng.name)},
            "updateStrategy": {"type": "RollingUpdate"},
            # Deleting the StatefulSet (with its owner) deletes the data volume only when the user asked for it.
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Delete" if spec.on_delete == "Delete" else "Retain",
                "whenScaled": "Retain",
            },
            "template": {
                # No version label here: the template changes only through the image, in one rollout.
                "metadata": {"labels": labels(db, eng.name)},
                "spec": {
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "containers": [_container(db, spec, eng, version)],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": DATA_VOLUME, "labels": labels(db, eng.name)},
                    "spec": _claim_spec(claim_size or spec.storage.size, spec.storage.class_name),
                }
            ],
        },
    }


def _service(db: DatabaseRef, eng: EngineSpec, name: str, *, headless: bool) -> Manifest:
    spec: dict[str, Any] = {
        "selector": selector_labels(db, eng.name),
        "ports": [{"name": eng.port_name, "port": eng.port, "targetPort": eng.port_name, "protocol": "TCP"}],
    }
    if headless:
        # Governs the StatefulSet's pod DNS; published before readiness so the pod's own name resolves at start.
        spec |= {"clusterIP": "None", "publishNotReadyAddresses": True}
    else:
        spec["type"] = "ClusterIP"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(db, name, eng.name), "spec": spec}


def headless_service(db: DatabaseRef, engine_name: str) -> Manifest:
    return _service(db, engine(engine_name), headless_service_name(db.name), headless=True)


def client_service(db: DatabaseRef, engine_name: str) -> Manifest:
    return _service(db, engine(engine_name), service_name(db.name), headless=False)


def credentials(db: DatabaseRef, engine_name: str, generate: PasswordGenerator) -> dict[str, str]:
    """The Secret's values: fixed user/database names, one generated password per key (in table order), and where
    to connect, so an application can take everything from the Secret with `envFrom`."""
    eng = engine(engine_name)
    values = dict(eng.fixed)
    for key in eng.generated:
        values[key] = generate()
    values[SECRET_HOST] = f"{service_name(db.name)}.{db.namespace}.svc"
    values[SECRET_PORT] = str(eng.port)
    return values


def secret(db: DatabaseRef, engine_name: str, generate: PasswordGenerator) -> Manifest:
    """Created once and never overwritten (the handler creates it only when absent): the data directory keeps the
    passwords of its first start, so new ones would lock everybody out. `data`, not `stringData`, which
    server-side apply does not track."""
    values = credentials(db, engine_name, generate)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(db, secret_name(db.name), engine_name),
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode("ascii") for k, v in sorted(values.items())},
    }


def restored_claim(db: DatabaseRef, spec: ManagedDatabaseSpec, snapshot: str) -> Manifest:
    """The data PVC pre-created from a VolumeSnapshot, under the name the StatefulSet controller will adopt.

    No owner reference: the volume's life follows `onDelete` through the StatefulSet's retention policy, exactly
    like a claim the controller created; owning it here would delete restored data with the ManagedDatabase even
    under `Retain`.
    """
    eng = engine(spec.engine)
    claim_spec = _claim_spec(spec.storage.size, spec.storage.class_name)
    claim_spec["dataSource"] = {"apiGroup": names.SNAPSHOT_API_GROUP, "kind": names.VOLUME_SNAPSHOT, "name": snapshot}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(db, data_claim_name(db.name), eng.name, owned=False),
        "spec": claim_spec,
    }


def claim_resize(db: DatabaseRef, size: str) -> Manifest:
    """The apply that grows the data volume (the claim template itself is immutable); only the size is owned."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": data_claim_name(db.name), "namespace": db.namespace},
        "spec": {"resources": {"requests": {"storage": size}}},
    }
