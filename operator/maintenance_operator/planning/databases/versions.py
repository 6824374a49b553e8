"""What a `version` change on a ManagedDatabase means: nothing, an upgrade for the next window, or a refusal.

Decided from the engine table alone, so the same answer reaches status, Events, metrics and `kubectl maintenance
dbs`. A refusal never touches the running database: the StatefulSet keeps the current version's image.
"""

from dataclasses import dataclass
from enum import StrEnum

from maintenance_operator.planning.databases.engines import ENGINES, EngineSpec, parse_version


class Refusal(StrEnum):
    """Condition reasons (CamelCase, as metav1.Condition wants) for a refused version."""

    UNKNOWN_ENGINE = "UnknownEngine"
    UNKNOWN_VERSION = "UnknownVersion"
    MAJOR_VERSION_CHANGE = "MajorVersionChange"
    DOWNGRADE = "DowngradeNotSupported"


@dataclass(frozen=True)
class Unchanged:
    """Nothing to do: the database runs (or is created at) `version`."""

    version: str


@dataclass(frozen=True)
class UpgradePending:
    """A change inside one release series, applied in the next maintenance window (or now with applyImmediately).

    `to_version` is the table's spelling, i.e. the image tag. For PostgreSQL it may be an earlier minor release of
    the same major (same on-disk format); other engines refuse downgrades.
    """

    from_version: str
    to_version: str

    @property
    def downgrade(self) -> bool:
        return (parse_version(self.to_version) or ()) < (parse_version(self.from_version) or ())


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    message: str


VersionDecision = Unchanged | UpgradePending | Refused


def _by_series(spec: EngineSpec) -> str:
    """`15: 15.10, 15.12; 16: 16.4, 16.6`: the known versions, grouped so the allowed upgrades are visible."""
    groups: dict[str, list[str]] = {}
    for v in spec.versions:
        groups.setdefault(spec.series_label(parse_version(v) or ()), []).append(v)
    return "; ".join(f"{series}: {', '.join(vs)}" for series, vs in groups.items())


def _keeps(current: str | None) -> str:
    return f" The database keeps running {current}." if current else " Nothing is created until then."


def _unknown(spec: EngineSpec, current: str | None, desired: str) -> Refused:
    parsed = parse_version(desired)
    matches = [v for v in spec.versions if parsed and (parse_version(v) or ())[: len(parsed)] == parsed]
    if matches:
        # A prefix such as `16` would float: the image would change on any pod restart, outside every window.
        why = (
            f"version {desired} is not exact: pin one of {', '.join(matches)} so the image only changes in a "
            "maintenance window."
        )
    else:
        why = f"version {desired} is not a {spec.title} version this operator runs."
    then = "" if current else " Set one of them."
    return Refused(Refusal.UNKNOWN_VERSION, f"{why} Known versions: {_by_series(spec)}.{then}{_keeps(current)}")


def decide(engine: str, current: str | None, desired: str) -> VersionDecision:
    """The meaning of moving from `current` (status.currentVersion; None before creation) to `desired` (spec).

    The current version need not be in the table (the operator may have dropped an old release since): it stays
    as it is, and it can still be upgraded within its series.
    """
    spec = ENGINES.get(engine)
    if spec is None:
        return Refused(Refusal.UNKNOWN_ENGINE, f"engine {engine!r} is not supported; supported: {', '.join(ENGINES)}.")
    running = parse_version(current) if current is not None else None
    if current is not None and running is None:
        return Refused(
            Refusal.UNKNOWN_VERSION,
            f"status.currentVersion {current!r} is not a version, so the operator cannot tell whether {desired} is a "
            "safe change; the running database is left as it is.",
        )
    wanted = spec.known(desired)
    if current is not None and parse_version(desired) == running:
        return Unchanged(current)
    if wanted is None:
        return _unknown(spec, current, desired)
    if current is None or running is None:
        return Unchanged(wanted)
    target = parse_version(wanted) or ()
    if spec.series(target) != spec.series(running):
        old, new = spec.series_label(running), spec.series_label(target)
        stay = spec.known_in_series(spec.series(running))
        back = f" Or keep {spec.title} {old}: set version to one of {', '.join(stay)}." if stay else ""
        return Refused(
            Refusal.MAJOR_VERSION_CHANGE,
            f"version change from {current} to {wanted} refused: it changes the {spec.title} {spec.series_noun} "
            f"from {old} to {new}. {spec.across_series.replace('{to}', wanted)}.{back}{_keeps(current)}",
        )
    if target < running and not spec.downgrade_allowed:
        return Refused(
            Refusal.DOWNGRADE,
            f"version change from {current} to {wanted} refused: it is a downgrade. "
            f"{spec.downgrade_refusal.replace('{to}', wanted)}.{_keeps(current)}",
        )
    return UpgradePending(current, wanted)
