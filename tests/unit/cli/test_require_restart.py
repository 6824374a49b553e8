"""`require` and `restart`: argument forms, the exact PATCH each sends, and one-line errors."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from maintenance_operator.api import names, rest
from maintenance_operator.api.rest import DEPLOYMENTS, MANAGED_DATABASES, STATEFULSETS
from maintenance_operator.cli import common, kubeapi, require, restart
from maintenance_operator.cli.main import build_parser, main
from maintenance_operator.planning.targets.workloads import restart_patch
from tests.unit.cli.fakes import FakeApi, deployment

NOW = datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deployment/web", (DEPLOYMENTS, "web")),
        ("deploy/web", (DEPLOYMENTS, "web")),
        ("Deployment/web", (DEPLOYMENTS, "web")),
        ("deployments/web", (DEPLOYMENTS, "web")),
        ("deployment.apps/web", (DEPLOYMENTS, "web")),
        ("statefulset/db", (STATEFULSETS, "db")),
        ("sts/db", (STATEFULSETS, "db")),
        ("mdb/orders", (MANAGED_DATABASES, "orders")),
        ("manageddatabase/orders", (MANAGED_DATABASES, "orders")),
    ],
)
def test_parse_target(text: str, expected: tuple[rest.Resource, str]) -> None:
    assert common.parse_target(text, common.KIND_ALIASES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web", "name a target as KIND/NAME"),
        ("deployment/", "name a target as KIND/NAME"),
        ("deployment/a/b", "name a target as KIND/NAME"),
        ("pod/web", "unknown kind 'pod'; use one of deploy, deployment, deployments, manageddatabase"),
    ],
)
def test_parse_target_errors(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        common.parse_target(text, common.KIND_ALIASES)


def test_require_arguments() -> None:
    args = build_parser().parse_args(
        ["require", "deploy/web", "sts/db", "--reason", " security ", "--since", "2026-11-30T11:00:00+01:00", "-n", "x"]
    )
    assert args.targets == [(DEPLOYMENTS, "web"), (STATEFULSETS, "db")]
    assert args.reason == "security"
    assert args.since == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert args.namespace == "x"


@pytest.mark.parametrize(
    "argv",
    [
        ["require", "deploy/web"],  # no reason
        ["require", "deploy/web", "--reason", "  "],
        ["require", "deploy/web", "--reason", "a\nb"],
        ["require", "deploy/web", "--reason", "security", "--since", "yesterday"],
        ["require", "deploy/web", "--reason", "security", "--since", "2026-11-30T10:00:00"],  # no offset
        ["restart", "mdb/orders"],  # not restartable
        ["apps", "-o", "wide"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_require_sends_one_merge_patch_per_target() -> None:
    api = FakeApi()
    api.add(DEPLOYMENTS, deployment("team-a", "web"))
    lines = list(require.require(api, [(DEPLOYMENTS, "web")], "team-a", "database-security", NOW))
    assert api.patches == [
        (
            DEPLOYMENTS,
            "team-a",
            "web",
            {
                "metadata": {
                    "annotations": {
                        names.ANNOTATION_REQUIRED: "database-security",
                        names.ANNOTATION_REQUIRED_SINCE: "2026-11-30T10:00:05Z",
                    }
                }
            },
            rest.MERGE_PATCH,
        )
    ]
    assert [c[0] for c in api.calls] == ["patch", "get"]  # the fake's get is its lookup; no GET goes to the API
    assert lines == ["deployment/web: maintenance required (database-security) since 2026-11-30T10:00:05Z"]


def test_require_refuses_future_since(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: FakeApi())
    assert main(["require", "deploy/web", "--reason", "security", "--since", "2999-01-01T00:00:00Z"]) == 1
    assert "is in the future" in capsys.readouterr().err


def test_require_not_found(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: FakeApi())
    assert main(["require", "deploy/web", "--reason", "security"]) == 1
    assert capsys.readouterr().err == 'error: not found: Deployment "web" in namespace "team-a"\n'


def test_require_forbidden(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi(forbidden={("statefulsets", "prod")})
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["require", "sts/db", "--reason", "hardware", "-n", "prod"]) == 1
    assert capsys.readouterr().err == 'error: forbidden: you may not patch statefulsets.apps "db" in namespace "prod"\n'


def test_restart_patch_is_kubectls() -> None:
    assert restart_patch(NOW) == {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-30T10:00:05Z"}}}
        }
    }


def test_restart_pending_target(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    api.add(DEPLOYMENTS, deployment("team-a", "web", reason="security", since="2026-11-20T00:00:00Z"))
    lines = list(restart.restart(api, [(DEPLOYMENTS, "web")], "team-a", NOW))
    assert api.patches[0][4] == rest.STRATEGIC_MERGE_PATCH
    assert api.patches[0][3] == restart_patch(NOW)
    assert "record its pending security maintenance (required since 2026-11-20T00:00:00Z) as done" in lines[0]
    assert "once the rollout completes" in lines[0]
    assert "kubectl rollout status -n team-a deployment/web" in lines[0]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (deployment("team-a", "web"), "no maintenance was pending"),
        (deployment("team-a", "web", reason="security"), "has no maintenance.ops.dev/required-since yet"),
    ],
)
def test_restart_messages(obj: dict[str, object], message: str) -> None:
    api = FakeApi()
    api.add(DEPLOYMENTS, obj)
    assert message in next(restart.restart(api, [(DEPLOYMENTS, "web")], "team-a", NOW))


def test_restart_of_an_on_delete_statefulset_says_no_pod_is_replaced() -> None:
    api = FakeApi()
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "team-a"},
        "spec": {"replicas": 3, "updateStrategy": {"type": "OnDelete"}},
    }
    api.add(STATEFULSETS, sts)
    lines = list(restart.restart(api, [(STATEFULSETS, "db")], "team-a", NOW))
    assert api.patches[0][3] == restart_patch(NOW)
    assert "statefulset/db has updateStrategy OnDelete: no pod is replaced until it is deleted" in lines[0]
    assert lines[1] == "statefulset/db restarted; no maintenance was pending on it"


def test_restart_paused_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    api.add(DEPLOYMENTS, deployment("team-a", "web", paused=True))
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["restart", "deploy/web"]) == 1
    assert "deployment/web is paused" in capsys.readouterr().err
    assert api.patches == []


@pytest.mark.parametrize(
    ("status", "verb", "resource", "namespace", "name", "expected"),
    [
        (
            403,
            "list",
            rest.DEPLOYMENTS,
            None,
            None,
            "forbidden: you may not list deployments.apps across all namespaces",
        ),
        (403, "list", "namespaces", None, None, "forbidden: you may not list namespaces"),
        (
            403,
            "patch",
            rest.DEPLOYMENTS,
            "a",
            "web",
            'forbidden: you may not patch deployments.apps "web" in namespace "a"',
        ),
        (404, "get", rest.STATEFULSETS, "a", "db", 'not found: StatefulSet "db" in namespace "a"'),
        (
            404,
            "list",
            rest.MAINTENANCE_WINDOWS,
            "a",
            None,
            "not found: the API server does not serve maintenancewindows.maintenance.ops.dev"
            " (are the maintenance-operator CRDs installed?)",
        ),
        (
            401,
            "list",
            rest.DEPLOYMENTS,
            "a",
            None,
            "unauthorized: the API server rejected your credentials (expired token or wrong context?)",
        ),
        (
            422,
            "patch",
            rest.DEPLOYMENTS,
            "a",
            "web",
            'patch deployments.apps "web" in namespace "a" failed (422): bad',
        ),
    ],
)
def test_describe_failure(
    status: int, verb: str, resource: rest.Resource | str, namespace: str | None, name: str | None, expected: str
) -> None:
    assert kubeapi.describe_failure(status, "bad", verb, resource, namespace, name) == expected


def test_connect_errors_are_one_line(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apps", "--kubeconfig", "/nonexistent/kubeconfig"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load kubeconfig /nonexistent/kubeconfig") and err.count("\n") == 1
