"""Local wall time -> UTC under the DST rules: gaps move to the transition, folds take the first instant."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from maintenance_operator.schedule import ScheduleError
from maintenance_operator.schedule.zones import load_zone, resolve


@pytest.mark.parametrize(
    ("zone", "wall", "expected_utc"),
    [
        # Europe/Berlin 2026: spring forward 03-29 02:00 CET -> 03:00 CEST, fall back 10-25 03:00 CEST -> 02:00 CET
        ("Europe/Berlin", "2026-03-29T01:59", "2026-03-29T00:59"),
        ("Europe/Berlin", "2026-03-29T02:00", "2026-03-29T01:00"),  # gap -> 03:00 CEST
        ("Europe/Berlin", "2026-03-29T02:30", "2026-03-29T01:00"),  # gap -> 03:00 CEST
        ("Europe/Berlin", "2026-03-29T03:00", "2026-03-29T01:00"),
        ("Europe/Berlin", "2026-10-25T01:59", "2026-10-24T23:59"),
        ("Europe/Berlin", "2026-10-25T02:00", "2026-10-25T00:00"),  # ambiguous -> CEST
        ("Europe/Berlin", "2026-10-25T02:30", "2026-10-25T00:30"),  # ambiguous -> CEST
        ("Europe/Berlin", "2026-10-25T03:00", "2026-10-25T02:00"),
        # America/New_York 2026: 03-08 02:00 EST -> 03:00 EDT, 11-01 02:00 EDT -> 01:00 EST
        ("America/New_York", "2026-03-08T02:30", "2026-03-08T07:00"),
        ("America/New_York", "2026-03-08T03:00", "2026-03-08T07:00"),
        ("America/New_York", "2026-11-01T01:30", "2026-11-01T05:30"),  # EDT, not EST (06:30Z)
        ("America/New_York", "2026-11-01T02:00", "2026-11-01T07:00"),
        # Australia/Lord_Howe 2026: 30-minute shifts; 04-05 02:00 +11 -> 01:30 +10:30, 10-04 02:00 -> 02:30
        ("Australia/Lord_Howe", "2026-04-05T01:29", "2026-04-04T14:29"),
        ("Australia/Lord_Howe", "2026-04-05T01:45", "2026-04-04T14:45"),  # ambiguous -> +11
        ("Australia/Lord_Howe", "2026-04-05T02:00", "2026-04-04T15:30"),
        ("Australia/Lord_Howe", "2026-10-04T02:00", "2026-10-03T15:30"),  # gap -> 02:30 +11
        ("Australia/Lord_Howe", "2026-10-04T02:29", "2026-10-03T15:30"),
        ("Australia/Lord_Howe", "2026-10-04T02:30", "2026-10-03T15:30"),
        # Pacific/Chatham (+12:45/+13:45): 2026-09-27 02:45 -> 03:45, 2026-04-05 03:45 -> 02:45
        ("Pacific/Chatham", "2026-09-27T03:00", "2026-09-26T14:00"),
        ("Pacific/Chatham", "2026-04-05T03:00", "2026-04-04T13:15"),  # ambiguous -> +13:45
        # no DST at all
        ("Asia/Kolkata", "2026-03-29T02:30", "2026-03-28T21:00"),
        ("UTC", "2026-03-29T02:30", "2026-03-29T02:30"),
        # Pacific/Apia skipped 2011-12-30 entirely: every wall time of that day moves to the start of the 31st
        ("Pacific/Apia", "2011-12-30T12:00", "2011-12-30T10:00"),
    ],
)
def test_resolve(zone: str, wall: str, expected_utc: str) -> None:
    resolved = resolve(datetime.fromisoformat(wall), ZoneInfo(zone))
    assert resolved == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)
    assert resolved.tzinfo is UTC


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/Argentina/Buenos_Aires"])
def test_load_zone(name: str) -> None:
    assert load_zone(name).key == name


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("Europe/Berln", ["unknown time zone 'Europe/Berln'", "did you mean 'Europe/Berlin'?"]),
        ("europe/berlin", ["did you mean 'Europe/Berlin'?"]),
        ("Mars/Olympus_Mons", ["unknown time zone", "e.g. 'Europe/Berlin' or 'UTC'"]),
        ("", ["unknown time zone ''"]),
        ("America", ["unknown time zone 'America'"]),  # a directory of the zone database
        ("../etc/passwd", ["unknown time zone"]),
        ("/etc/localtime", ["unknown time zone"]),
        ("localtime", ["host's local zone"]),
        ("Local", ["host's local zone"]),
    ],
)
def test_unknown_zones_are_named_with_a_suggestion(name: str, fragments: list[str]) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_zone(name)
    assert caught.value.problems[0].field == "timeZone"
    for fragment in fragments:
        assert fragment in str(caught.value)
