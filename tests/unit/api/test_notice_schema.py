"""The webhook body's JSON Schema in docs/ is the one generated from the models, and real bodies validate."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from maintenance_operator.api.notices import NoticePayload, NoticeTarget, OccurrenceTimes, WindowRef
from tools import notice_schema

SCHEMA = json.loads(notice_schema.TARGET.read_text())


def test_committed_schema_is_current() -> None:
    assert notice_schema.TARGET.read_text() == notice_schema.render(), "run `make notice-schema`"


def payload() -> NoticePayload:
    start = datetime(2026, 12, 1, 14, tzinfo=UTC)
    return NoticePayload(
        id="uid/20261201T1400Z/1d/abc",
        window=WindowRef(namespace="shop", name="weekly"),
        occurrence=OccurrenceTimes(
            id="20261201T1400Z", start=start, end=start.replace(hour=15), time_zone="Europe/Berlin"
        ),
        lead_time="1d",
        targets=[NoticeTarget(kind="Deployment", name="web", reason="security", downtime_expected=True)],
        sent_at=datetime(2026, 11, 30, 14, tzinfo=UTC),
    )


def test_a_body_validates_and_is_compact_json() -> None:
    body = payload().body()
    document = json.loads(body)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)
    assert document["occurrence"]["start"] == "2026-12-01T14:00:00Z"
    assert document["targets"][0] == {
        "kind": "Deployment",
        "name": "web",
        "reason": "security",
        "downtimeExpected": True,
    }


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"extra": 1}, id="unknown-field"),
        pytest.param({"targets": []}, id="no-targets"),
        pytest.param({"leadTime": 24}, id="lead-time-not-a-string"),
    ],
)
def test_the_schema_refuses_other_bodies(change: dict[str, object]) -> None:
    document = {**json.loads(payload().body()), **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(document)
