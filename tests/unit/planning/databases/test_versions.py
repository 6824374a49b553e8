"""Version changes: patch upgrades wait for the window, major changes and unknown versions are refused precisely."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.databases.engines import ENGINES, parse_version
from maintenance_operator.planning.databases.versions import (
    Refusal,
    Refused,
    Unchanged,
    UpgradePending,
    VersionDecision,
    decide,
)


@pytest.mark.parametrize(
    ("engine", "current", "desired", "expected"),
    [
        # Creation: the desired version, if known.
        ("postgresql", None, "16.4", Unchanged("16.4")),
        ("mysql", None, "8.4.3", Unchanged("8.4.3")),
        ("redis", None, "7.2.5", Unchanged("7.2.5")),
        ("postgresql", None, "16.04", Unchanged("16.4")),  # the table's spelling is the image tag
        # No change, even when the running version left the table since.
        ("postgresql", "16.4", "16.4", Unchanged("16.4")),
        ("postgresql", "16.4", "16.04", Unchanged("16.4")),
        ("postgresql", "16.1", "16.1", Unchanged("16.1")),
        # Inside one series: pending maintenance.
        ("postgresql", "16.4", "16.6", UpgradePending("16.4", "16.6")),
        ("postgresql", "16.1", "16.9", UpgradePending("16.1", "16.9")),  # from a version the table dropped
        ("postgresql", "17.5", "17.2", UpgradePending("17.5", "17.2")),  # same on-disk format: allowed back
        ("mysql", "8.0.39", "8.0.42", UpgradePending("8.0.39", "8.0.42")),
        ("mysql", "8.4.2", "8.4.5", UpgradePending("8.4.2", "8.4.5")),
        ("redis", "7.2.5", "7.2.7", UpgradePending("7.2.5", "7.2.7")),
        ("redis", "7.2.7", "7.4.2", UpgradePending("7.2.7", "7.4.2")),
        ("redis", "7.2.5", "7.4.0", UpgradePending("7.2.5", "7.4.0")),
    ],
)
def test_accepted(engine: str, current: str | None, desired: str, expected: VersionDecision) -> None:
    assert decide(engine, current, desired) == expected


@pytest.mark.parametrize(
    ("engine", "current", "desired", "reason", "fragments"),
    [
        (
            "postgresql",
            "16.4",
            "17.2",
            Refusal.MAJOR_VERSION_CHANGE,
            [
                "from 16.4 to 17.2 refused",
                "PostgreSQL major version from 16 to 17",
                "data migration",
                "create a new ManagedDatabase with version 17.2",
                "pg_dump | pg_restore",
                "set version to one of 16.4, 16.6, 16.8, 16.9",
                "keeps running 16.4",
            ],
        ),
        (
            "postgresql",
            "17.2",
            "16.9",
            Refusal.MAJOR_VERSION_CHANGE,
            ["PostgreSQL major version from 17 to 16", "keeps running 17.2"],
        ),
        (
            "postgresql",
            "14.9",
            "15.10",
            Refusal.MAJOR_VERSION_CHANGE,
            ["from 14 to 15", "keeps running 14.9"],
        ),
        (
            "mysql",
            "8.0.40",
            "8.4.3",
            Refusal.MAJOR_VERSION_CHANGE,
            [
                "MySQL release series from 8.0 to 8.4",
                "data migration",
                "create a new ManagedDatabase with version 8.4.3",
                "mysqldump",
                "set version to one of 8.0.39, 8.0.40, 8.0.41, 8.0.42",
                "keeps running 8.0.40",
            ],
        ),
        (
            "mysql",
            "8.0.40",
            "8.0.39",
            Refusal.DOWNGRADE,
            ["from 8.0.40 to 8.0.39 refused: it is a downgrade", "MySQL does not support downgrades", "8.0.40."],
        ),
        (
            "redis",
            "7.4.1",
            "7.2.7",
            Refusal.DOWNGRADE,
            ["Redis does not support downgrades", "version 7.2.7", "keeps running 7.4.1"],
        ),
        (
            "redis",
            "6.2.14",
            "7.2.5",
            Refusal.MAJOR_VERSION_CHANGE,
            ["Redis major version from 6 to 7", "restoreFrom", "keeps running 6.2.14"],
        ),
        (
            "postgresql",
            "16.4",
            "16.5",
            Refusal.UNKNOWN_VERSION,
            [
                "version 16.5 is not a PostgreSQL version this operator runs",
                "Known versions: 15: 15.10, 15.12, 15.13; 16: 16.4, 16.6, 16.8, 16.9; 17: 17.2, 17.4, 17.5.",
                "keeps running 16.4",
            ],
        ),
        (
            "postgresql",
            "16.4",
            "16",
            Refusal.UNKNOWN_VERSION,
            ["version 16 is not exact: pin one of 16.4, 16.6, 16.8, 16.9", "maintenance window"],
        ),
        (
            "mysql",
            None,
            "8.4",
            Refusal.UNKNOWN_VERSION,
            ["version 8.4 is not exact: pin one of 8.4.2, 8.4.3, 8.4.4, 8.4.5", "Nothing is created"],
        ),
        (
            "redis",
            None,
            "8.0.0",
            Refusal.UNKNOWN_VERSION,
            ["not a Redis version", "7: 7.2.5, 7.2.6, 7.2.7, 7.4.0, 7.4.1, 7.4.2", "Nothing is created"],
        ),
        ("redis", "7.2.5", "latest", Refusal.UNKNOWN_VERSION, ["version latest is not a Redis version"]),
        # The major-change check needs a known target: an unknown major is reported as unknown.
        ("postgresql", "16.4", "18.0", Refusal.UNKNOWN_VERSION, ["18.0 is not a PostgreSQL version"]),
        ("postgresql", "garbage", "16.4", Refusal.UNKNOWN_VERSION, ["status.currentVersion 'garbage'"]),
        ("oracle", None, "19.3", Refusal.UNKNOWN_ENGINE, ["'oracle'", "postgresql, mysql, redis"]),
    ],
)
def test_refused(engine: str, current: str | None, desired: str, reason: Refusal, fragments: list[str]) -> None:
    decision = decide(engine, current, desired)
    assert isinstance(decision, Refused)
    assert decision.reason is reason
    for fragment in fragments:
        assert fragment in decision.message


@pytest.mark.parametrize(
    ("change", "downgrade"),
    [(UpgradePending("16.4", "16.6"), False), (UpgradePending("17.5", "17.2"), True)],
)
def test_downgrade_flag(change: UpgradePending, downgrade: bool) -> None:
    assert change.downgrade is downgrade


def test_refusal_reasons_are_condition_reasons() -> None:
    assert all(r.value.isalnum() and r.value[0].isupper() for r in Refusal)


# ---------------------------------------------------------------------------------------------------------------
# Properties over known versions, versions the table does not know, and arbitrary text.

engines = st.sampled_from(sorted(ENGINES))
near_versions = st.builds(
    lambda parts: ".".join(map(str, parts)),
    st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=3),
)


@st.composite
def version_pairs(draw: st.DrawFn) -> tuple[str, str | None, str]:
    name = draw(engines)
    pool = st.one_of(st.sampled_from(ENGINES[name].versions), near_versions, st.text(max_size=8))
    current = draw(st.none() | pool)
    return name, current, draw(pool)


@given(version_pairs())
def test_never_accepts_a_change_of_series(case: tuple[str, str | None, str]) -> None:
    name, current, desired = case
    spec = ENGINES[name]
    decision = decide(name, current, desired)
    if isinstance(decision, UpgradePending):
        before, after = parse_version(decision.from_version), parse_version(decision.to_version)
        assert before is not None and after is not None
        assert spec.series(before) == spec.series(after)
        assert decision.to_version in spec.versions, "only exact, known image tags are ever deployed"
        assert spec.downgrade_allowed or after > before
        assert before != after


@given(version_pairs())
def test_never_moves_off_the_running_version_silently(case: tuple[str, str | None, str]) -> None:
    name, current, desired = case
    decision = decide(name, current, desired)
    if isinstance(decision, Unchanged):
        if current is None:
            assert decision.version in ENGINES[name].versions
        else:
            assert decision.version == current
    elif isinstance(decision, Refused) and current is not None and parse_version(current) is not None:
        assert f"keeps running {current}" in decision.message
    elif isinstance(decision, UpgradePending):
        assert decision.from_version == current


@given(st.text(max_size=10), st.none() | st.text(max_size=10), st.text(max_size=10))
def test_any_input_gets_an_answer(engine: str, current: str | None, desired: str) -> None:
    assert isinstance(decide(engine, current, desired), Unchanged | UpgradePending | Refused)
