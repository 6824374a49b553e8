"""`kubectl maintenance announce`: kubectl's selector strings, the object it creates, and the server's refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from maintenance_operator.api import names, rest
from maintenance_operator.api.platform import MaintenanceSpec
from maintenance_operator.cli import announce, common, label_selectors
from maintenance_operator.cli.kubeapi import KubeError
from maintenance_operator.cli.main import main
from maintenance_operator.planning.announcements.matching import announcement_of
from maintenance_operator.planning.targets.selectors import matches, to_query
from tests.unit.cli.fakes import FakeApi

SELECTORS: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("  ", {}),
    ("a=b", {"matchLabels": {"a": "b"}}),
    ("a==b", {"matchLabels": {"a": "b"}}),
    ("a=", {"matchLabels": {"a": ""}}),
    ("a=b,a=b", {"matchLabels": {"a": "b"}}),
    ("c!=d", {"matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["d"]}]}),
    ("e in (y, x, y)", {"matchExpressions": [{"key": "e", "operator": "In", "values": ["x", "y"]}]}),
    ("f notin (z)", {"matchExpressions": [{"key": "f", "operator": "NotIn", "values": ["z"]}]}),
    ("g", {"matchExpressions": [{"key": "g", "operator": "Exists"}]}),
    ("!h", {"matchExpressions": [{"key": "h", "operator": "DoesNotExist"}]}),
    (
        "a=b,c!=d,e in (x,y),f notin (z),g,!h",
        {
            "matchLabels": {"a": "b"},
            "matchExpressions": [
                {"key": "c", "operator": "NotIn", "values": ["d"]},
                {"key": "e", "operator": "In", "values": ["x", "y"]},
                {"key": "f", "operator": "NotIn", "values": ["z"]},
                {"key": "g", "operator": "Exists"},
                {"key": "h", "operator": "DoesNotExist"},
            ],
        },
    ),
    (
        " app.kubernetes.io/name = web , ! example.com/legacy ",
        {
            "matchLabels": {"app.kubernetes.io/name": "web"},
            "matchExpressions": [{"key": "example.com/legacy", "operator": "DoesNotExist"}],
        },
    ),
]

BAD_SELECTORS = [
    ("a in x", "expected '(' after a in"),
    ("a in ()", "expected a value for a"),
    ("a in (x y)", "expected ',' or ')'"),
    ("a in (x", "expected ',' or ')'"),
    ("a>1", "'<' and '>' cannot be stored"),
    ("a=b,", "a requirement must follow the last ','"),
    (",a", "expected a label key"),
    ("a b", "expected =, ==, !=, in or notin after a"),
    ("!", "expected a label key, found 'the end'"),
    ("!a=b", "expected ',' before '='"),
    ("a=b=c", "expected ',' before '='"),
    ("a=b,a=c", "a=b and a=c never both hold"),
    ("Bad_/x=1", "is not a label key"),
    ("-a=1", "is not a label key"),
    (f"{'k' * 64}=1", "is not a label key"),
    ("a=-b", "is not a label value"),
    (f"a={'v' * 64}", "is not a label value"),
]


@pytest.mark.parametrize(("text", "expected"), SELECTORS)
def test_parse_selector(text: str, expected: dict[str, Any]) -> None:
    parsed = label_selectors.parse_selector(text)
    assert parsed == expected
    assert label_selectors.parse_selector(to_query(parsed)) == parsed  # the planning layer's inverse reads back


@pytest.mark.parametrize(("text", "message"), BAD_SELECTORS)
def test_parse_selector_refuses(text: str, message: str) -> None:
    with pytest.raises(label_selectors.SelectorError, match=message.replace("(", r"\(").replace(")", r"\)")):
        label_selectors.parse_selector(text)


def test_selector_semantics_as_kubectl() -> None:
    selector = label_selectors.parse_selector("tier=web,env!=dev,!legacy")
    assert matches(selector, {"tier": "web", "env": "prod"})
    assert matches(selector, {"tier": "web"})  # != matches a missing key, as kubectl's does
    assert not matches(selector, {"tier": "web", "env": "dev"})
    assert not matches(selector, {"tier": "web", "legacy": "true"})


def args(*extra: str) -> list[str]:
    return ["announce", "openssl", "--reason", "security", "--description", "Base image openssl fix", *extra]


FULL = (
    "--namespaces",
    "env in (prod,staging)",
    "-l",
    "tier=web",
    "--image",
    "*/base:2026.1*",
    "--image",
    "*/base:2026.1*",
    "--kind",
    "deploy",
    "--kind",
    "mdb",
    "--since",
    "2026-12-01T00:00:00+01:00",
    "--deadline",
    "2026-12-15T00:00:00Z",
)


def test_creates_the_maintenance(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    monkeypatch.setattr(common, "connect", lambda a: api)
    assert main(args(*FULL)) == 0
    [(resource, namespace, body)] = api.created
    assert (resource, namespace) == (rest.MAINTENANCES, "")
    assert body == {
        "apiVersion": names.API_VERSION,
        "kind": "Maintenance",
        "metadata": {"name": "openssl"},
        "spec": {
            "reason": "security",
            "description": "Base image openssl fix",
            "targets": {
                "namespaceSelector": {
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]
                },
                "selector": {"matchLabels": {"tier": "web"}},
                "kinds": ["Deployment", "ManagedDatabase"],
                "images": ["*/base:2026.1*"],
            },
            "requiredSince": "2026-11-30T23:00:00Z",
            "deadline": "2026-12-15T00:00:00Z",
        },
    }
    # What the operator (and apps) make of it: the same conversion, the same schema.
    MaintenanceSpec.model_validate(body["spec"])
    assert not isinstance(announcement_of("openssl", body["spec"], None), str)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "maintenance/openssl created: security, required since 2026-11-30T23:00:00Z, deadline 2026-12-15T00:00:00Z",
        "targets: namespaces env in (prod,staging); labels tier=web; kinds Deployment, ManagedDatabase; "
        "images */base:2026.1*",
        "Progress: kubectl maintenance announcements openssl",
    ]


def test_minimal_maintenance_targets_everything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeApi()
    monkeypatch.setattr(common, "connect", lambda a: api)
    assert main(args()) == 0
    spec = api.created[0][2]["spec"]
    assert spec == {"reason": "security", "description": "Base image openssl fix"}
    assert "required since its creation" in capsys.readouterr().out
    assert "targets: every namespace" in announce.summary(api.created[0][2], "created")[1]


def test_dry_run_prints_without_creating(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    monkeypatch.setattr(common, "connect", lambda a: api)
    assert main(args("-l", "tier=web", "--dry-run")) == 0
    assert yaml.safe_load(capsys.readouterr().out)["spec"]["targets"] == {"selector": {"matchLabels": {"tier": "web"}}}
    assert main(args("--dry-run", "-o", "json")) == 0
    assert json.loads(capsys.readouterr().out)["metadata"] == {"name": "openssl"}
    assert api.created == [] and api.calls == []


def test_output_json_prints_the_created_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common, "connect", lambda a: FakeApi())
    assert main(args("-o", "json")) == 0
    assert json.loads(capsys.readouterr().out)["spec"]["reason"] == "security"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("-l", "a in x"), "argument -l/--selector: 'a in x': expected '(' after a in"),
        (("--namespaces", "a>1"), "argument --namespaces: 'a>1': '<' and '>' cannot be stored"),
        (("--kind", "pod"), "argument --kind: 'pod': unknown kind; use one of deploy, deployment"),
        (("--image", "a b"), "an image pattern is one word"),
        (("--deadline", "tomorrow"), "'tomorrow' is not an RFC 3339 time"),
        (("--since", "2026-12-01T00:00:00"), "is not an RFC 3339 time with a UTC offset"),
    ],
)
def test_bad_flags_exit_2(extra: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args(*extra))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_reason_and_description_limits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["announce", "x", "--reason", "r" * 64, "--description", "d"])
    assert "1 to 63 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["announce", "x", "--reason", " ", "--description", "d"])
    assert "1 to 63 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["announce", "x", "--reason", "r", "--description", "d" * 2049])
    assert "at most 2048 characters" in capsys.readouterr().err


class RefusingApi(FakeApi):
    def __init__(self, status: int, message: str) -> None:
        super().__init__()
        self.status, self.message = status, message

    def create(self, resource: rest.Resource, namespace: str, body: Any) -> dict[str, Any]:
        text = f'create {resource.name} "{body["metadata"]["name"]}" failed ({self.status}): {self.message}'
        raise KubeError(text, self.status)


def test_admission_refusal_shown_plainly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cel = (
        'Maintenance.maintenance.ops.dev "openssl" is invalid: spec: Invalid value: "object": '
        "deadline must be after requiredSince"
    )
    monkeypatch.setattr(common, "connect", lambda a: RefusingApi(422, cel))
    assert main(args("--since", "2026-12-02T00:00:00Z", "--deadline", "2026-12-01T00:00:00Z")) == 1
    assert capsys.readouterr().err == (
        'error: the API server refused Maintenance openssl: spec: Invalid value: "object": '
        "deadline must be after requiredSince\n"
    )


def test_name_taken_and_forbidden(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi()
    monkeypatch.setattr(common, "connect", lambda a: api)
    assert main(args()) == 0
    capsys.readouterr()
    assert main(args()) == 1
    assert capsys.readouterr().err == (
        "error: Maintenance openssl already exists: see kubectl maintenance announcements openssl\n"
    )
    api.forbidden.add(("maintenances", ""))
    assert main(["announce", "other", "--reason", "r", "--description", "d"]) == 1
    assert 'forbidden: you may not create maintenances.maintenance.ops.dev "other"' in capsys.readouterr().err


def test_help_names_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["announce", "--help"])
    out = capsys.readouterr().out
    for flag in ("--reason", "--description", "--selector", "--namespaces", "--image", "--kind", "--since"):
        assert flag in out
    assert "--deadline" in out and "--dry-run" in out
