"""The objects a ManagedDatabase owns: exact, deterministic, and shaped for server-side apply."""

import base64
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.api import names
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.planning.databases import manifests as dm
from maintenance_operator.planning.databases.engines import ENGINES

DB = dm.DatabaseRef(name="orders", namespace="shop", uid="uid-orders")
OWNER = {
    "apiVersion": "maintenance.ops.dev/v1alpha1",
    "kind": "ManagedDatabase",
    "name": "orders",
    "uid": "uid-orders",
    "controller": True,
    "blockOwnerDeletion": True,
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def spec(engine: str = "postgresql", version: str = "16.4", **changes: Any) -> ManagedDatabaseSpec:
    wire: dict[str, Any] = {"engine": engine, "version": version, "storage": {"size": "10Gi"}, **changes}
    return ManagedDatabaseSpec.model_validate(wire)


def counter() -> dm.PasswordGenerator:
    numbers: Iterator[int] = itertools.count(1)
    return lambda: f"pw{next(numbers)}"


def container(sts: dict[str, Any]) -> dict[str, Any]:
    containers = sts["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def env_refs(c: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"]) for e in c["env"]
    }


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


# ---------------------------------------------------------------------------------------------------------------
# StatefulSet


@pytest.mark.parametrize(
    ("engine", "version", "image", "port", "mount", "probe"),
    [
        (
            "postgresql",
            "16.4",
            "docker.io/library/postgres:16.4",
            5432,
            {"name": "data", "mountPath": "/var/lib/postgresql/data", "subPath": "pgdata"},
            ["sh", "-c", 'exec pg_isready -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
        ),
        (
            "mysql",
            "8.0.40",
            "docker.io/library/mysql:8.0.40",
            3306,
            {"name": "data", "mountPath": "/var/lib/mysql", "subPath": "mysql"},
            ["mysqladmin", "ping", "--host=127.0.0.1", "--port=3306", "--silent"],
        ),
        (
            "redis",
            "7.2.5",
            "docker.io/library/redis:7.2.5",
            6379,
            {"name": "data", "mountPath": "/data"},
            ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"],
        ),
    ],
)
def test_statefulset_per_engine(
    engine: str, version: str, image: str, port: int, mount: dict[str, str], probe: list[str]
) -> None:
    sts = dm.statefulset(DB, spec(engine, version), version)
    c = container(sts)
    assert c["image"] == image
    assert c["ports"] == [{"name": engine, "containerPort": port, "protocol": "TCP"}]
    assert c["volumeMounts"] == [mount]
    assert c["readinessProbe"]["exec"]["command"] == probe
    assert c["readinessProbe"]["timeoutSeconds"] > 1  # the 1 s default is too short for an exec into a busy DB
    assert sts["metadata"]["labels"]["app.kubernetes.io/version"] == version
    # Not on the pod template: a window installs an upgrade by changing the image alone, in one rollout.
    assert "app.kubernetes.io/version" not in sts["spec"]["template"]["metadata"]["labels"]


def test_statefulset_runs_the_applied_version_not_the_desired_one() -> None:
    """A pending upgrade (spec 16.6) must not reach the image before its window: the caller passes 16.4."""
    sts = dm.statefulset(DB, spec(version="16.6"), "16.4")
    assert container(sts)["image"] == "docker.io/library/postgres:16.4"


def test_statefulset_shape() -> None:
    sts = dm.statefulset(DB, spec(), "16.4")
    assert sts["apiVersion"] == "apps/v1"
    assert sts["kind"] == "StatefulSet"
    assert "status" not in sts
    meta = sts["metadata"]
    assert (meta["name"], meta["namespace"]) == ("orders", "shop")
    assert meta["ownerReferences"] == [OWNER]
    assert meta["labels"] == {
        "app.kubernetes.io/name": "postgresql",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/component": "database",
        "app.kubernetes.io/managed-by": "maintenance-operator",
        "app.kubernetes.io/version": "16.4",
        names.LABEL_DATABASE: "orders",
    }
    s = sts["spec"]
    assert s["replicas"] == 1
    assert s["serviceName"] == "orders-headless"
    assert s["selector"] == {"matchLabels": {"app.kubernetes.io/name": "postgresql", names.LABEL_DATABASE: "orders"}}
    template_labels = s["template"]["metadata"]["labels"]
    assert s["selector"]["matchLabels"].items() <= template_labels.items()
    assert "annotations" not in s["template"]["metadata"], "restart annotations belong to other field managers"
    assert s["template"]["spec"]["terminationGracePeriodSeconds"] == 60


@pytest.mark.parametrize(
    ("engine", "env"),
    [
        (
            "postgresql",
            {"POSTGRES_USER": "username", "POSTGRES_PASSWORD": "password", "POSTGRES_DB": "database"},
        ),
        (
            "mysql",
            {
                "MYSQL_ROOT_PASSWORD": "root-password",
                "MYSQL_USER": "username",
                "MYSQL_PASSWORD": "password",
                "MYSQL_DATABASE": "database",
            },
        ),
        ("redis", {"REDIS_PASSWORD": "password", "REDISCLI_AUTH": "password"}),
    ],
)
def test_env_comes_from_the_credentials_secret(engine: str, env: dict[str, str]) -> None:
    c = container(dm.statefulset(DB, spec(engine, ENGINES[engine].versions[0]), ENGINES[engine].versions[0]))
    assert env_refs(c) == {name: ("orders-credentials", key) for name, key in env.items()}
    # Every key the container reads exists in the Secret the same engine generates.
    assert set(env.values()) <= set(decoded(dm.secret(DB, engine, counter())))


@pytest.mark.parametrize(
    ("engine", "args", "pre_stop"),
    [
        ("postgresql", None, ["sh", "-c", 'exec gosu postgres pg_ctl stop -D "$PGDATA" -m fast -w -t 50']),
        ("mysql", None, None),
        (
            "redis",
            ["redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
            None,
        ),
    ],
)
def test_args_and_shutdown_hook(engine: str, args: list[str] | None, pre_stop: list[str] | None) -> None:
    c = container(dm.statefulset(DB, spec(engine, ENGINES[engine].versions[0]), ENGINES[engine].versions[0]))
    assert c.get("args") == args
    assert c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") == pre_stop


@pytest.mark.parametrize(
    ("storage", "claim_size", "expected"),
    [
        (
            {"size": "10Gi"},
            None,
            {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        ),
        (
            {"size": "5Gi", "className": "fast-ssd"},
            None,
            {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "5Gi"}},
                "storageClassName": "fast-ssd",
            },
        ),
        # Storage grown to 20Gi: the immutable claim template keeps what the StatefulSet was created with.
        (
            {"size": "20Gi"},
            "10Gi",
            {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        ),
    ],
)
def test_data_claim_template(storage: dict[str, str], claim_size: str | None, expected: dict[str, Any]) -> None:
    sts = dm.statefulset(DB, spec(storage=storage), "16.4", claim_size=claim_size)
    (template,) = sts["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "data"
    assert template["metadata"]["labels"][names.LABEL_DATABASE] == "orders"  # how backups find data volumes
    assert template["spec"] == expected


@pytest.mark.parametrize(("on_delete", "when_deleted"), [(None, "Retain"), ("Retain", "Retain"), ("Delete", "Delete")])
def test_volume_retention_follows_on_delete(on_delete: str | None, when_deleted: str) -> None:
    changes: dict[str, Any] = {} if on_delete is None else {"onDelete": on_delete}
    sts = dm.statefulset(DB, spec(**changes), "16.4")
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": when_deleted, "whenScaled": "Retain"}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (None, None),
        ({"requests": {"cpu": "250m", "memory": "512Mi"}}, {"requests": {"cpu": "250m", "memory": "512Mi"}}),
        (
            {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        ),
        ({"limits": {"cpu": "1"}}, {"limits": {"cpu": "1"}}),
    ],
)
def test_resources(resources: dict[str, Any] | None, expected: dict[str, Any] | None) -> None:
    changes: dict[str, Any] = {} if resources is None else {"resources": resources}
    assert container(dm.statefulset(DB, spec(**changes), "16.4")).get("resources") == expected


# ---------------------------------------------------------------------------------------------------------------
# Services, Secret, restored volume


@pytest.mark.parametrize(
    ("builder", "name", "extra"),
    [
        (dm.headless_service, "orders-headless", {"clusterIP": "None", "publishNotReadyAddresses": True}),
        (dm.client_service, "orders", {"type": "ClusterIP"}),
    ],
    ids=["headless", "client"],
)
@pytest.mark.parametrize(("engine", "port"), [("postgresql", 5432), ("mysql", 3306), ("redis", 6379)])
def test_services(builder: Any, name: str, extra: dict[str, Any], engine: str, port: int) -> None:
    svc = builder(DB, engine)
    assert (svc["apiVersion"], svc["kind"]) == ("v1", "Service")
    assert (svc["metadata"]["name"], svc["metadata"]["namespace"]) == (name, "shop")
    assert svc["metadata"]["ownerReferences"] == [OWNER]
    assert svc["spec"] == {
        "selector": {"app.kubernetes.io/name": engine, names.LABEL_DATABASE: "orders"},
        "ports": [{"name": engine, "port": port, "targetPort": engine, "protocol": "TCP"}],
        **extra,
    }
    # The selector picks the StatefulSet's pods.
    pod_labels = dm.statefulset(DB, spec(engine, ENGINES[engine].versions[0]), "1")["spec"]["template"]["metadata"]
    assert svc["spec"]["selector"].items() <= pod_labels["labels"].items()


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        (
            "postgresql",
            {
                "username": "app",
                "password": "pw1",
                "database": "app",
                "host": "orders.shop.svc",
                "port": "5432",
            },
        ),
        (
            "mysql",
            {
                "username": "app",
                "password": "pw1",
                "root-password": "pw2",
                "database": "app",
                "host": "orders.shop.svc",
                "port": "3306",
            },
        ),
        ("redis", {"password": "pw1", "host": "orders.shop.svc", "port": "6379"}),
    ],
)
def test_secret(engine: str, expected: dict[str, str]) -> None:
    secret = dm.secret(DB, engine, counter())
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", "Opaque")
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == ("orders-credentials", "shop")
    assert secret["metadata"]["ownerReferences"] == [OWNER]
    assert secret["metadata"]["labels"][names.LABEL_DATABASE] == "orders"
    assert "stringData" not in secret
    assert decoded(secret) == expected


def test_secret_is_deterministic_given_the_generator() -> None:
    assert dm.secret(DB, "mysql", counter()) == dm.secret(DB, "mysql", counter())


def test_random_password() -> None:
    passwords = {dm.random_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(len(p) == 32 and p.isalnum() and p.isascii() for p in passwords)


@pytest.mark.parametrize("class_name", [None, "fast-ssd"])
def test_restored_claim(class_name: str | None) -> None:
    storage = {"size": "10Gi"} if class_name is None else {"size": "10Gi", "className": class_name}
    pvc = dm.restored_claim(DB, spec(storage=storage, restoreFrom={"volumeSnapshotName": "orders-nightly"}), "snap")
    assert (pvc["apiVersion"], pvc["kind"]) == ("v1", "PersistentVolumeClaim")
    # The name the StatefulSet controller looks for, so the pod starts on the restored data.
    assert pvc["metadata"]["name"] == "data-orders-0"
    assert pvc["metadata"]["name"] == f"data-{dm.statefulset(DB, spec(), '16.4')['metadata']['name']}-0"
    assert pvc["metadata"]["namespace"] == "shop"
    assert "ownerReferences" not in pvc["metadata"], "owning it would delete restored data under onDelete: Retain"
    assert (
        pvc["metadata"]["labels"]
        == dm.statefulset(DB, spec(), "16.4")["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]
    )
    assert pvc["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "snap",
    }
    assert pvc["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert pvc["spec"].get("storageClassName") == class_name


def test_claim_resize_owns_only_the_size() -> None:
    assert dm.claim_resize(DB, "20Gi") == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-orders-0", "namespace": "shop"},
        "spec": {"resources": {"requests": {"storage": "20Gi"}}},
    }


@pytest.mark.parametrize(
    ("engine", "expected"),
    [("postgresql", "orders.shop.svc:5432"), ("mysql", "orders.shop.svc:3306"), ("redis", "orders.shop.svc:6379")],
)
def test_endpoint(engine: str, expected: str) -> None:
    assert dm.endpoint(DB, engine) == expected


# ---------------------------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("orders", None),
        ("a", None),
        ("orders-2", None),
        ("x" * 52, None),
        ("x" * 53, "at most 52"),
        ("2fast", "starting with a letter"),
        ("Orders", "lowercase"),
        ("orders.eu", "lowercase letters, digits and '-'"),
        ("orders-", "ending with a letter or digit"),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    found = dm.name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and repr(name) in found


def all_manifests(db: dm.DatabaseRef, engine: str) -> list[dict[str, Any]]:
    s = spec(engine, ENGINES[engine].versions[-1], storage={"size": "1Gi", "className": "standard"})
    return [
        dm.statefulset(db, s, ENGINES[engine].versions[-1]),
        dm.headless_service(db, engine),
        dm.client_service(db, engine),
        dm.secret(db, engine, counter()),
        dm.restored_claim(db, s, "snap"),
    ]


@given(
    st.from_regex(r"[a-z]([-a-z0-9]{0,50}[a-z0-9])?", fullmatch=True),
    st.sampled_from(sorted(ENGINES)),
)
def test_every_accepted_name_gives_valid_children(name: str, engine: str) -> None:
    """A name `name_problem` accepts never produces an object the API server would reject for its name or labels."""
    assert dm.name_problem(name) is None
    db = dm.DatabaseRef(name=name, namespace="shop", uid="u")
    for manifest in all_manifests(db, engine):
        assert {"apiVersion", "kind", "metadata"} <= manifest.keys() and "status" not in manifest
        meta = manifest["metadata"]
        assert meta["namespace"] == "shop"
        assert len(meta["name"]) <= (63 if manifest["kind"] in ("Service", "StatefulSet") else 253)
        assert all(LABEL_VALUE.fullmatch(v) and len(v) <= 63 for v in meta["labels"].values())
    # The pod's `controller-revision-hash` label: `<statefulset>-<hash of up to 10 characters>`.
    assert len(f"{dm.statefulset_name(name)}-{'h' * 10}") <= 63
    assert DNS_LABEL.fullmatch(dm.headless_service_name(name))
