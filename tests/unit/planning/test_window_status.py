"""A MaintenanceWindow's status: what it will do in `pending`, what another window handles in `handledElsewhere`."""

from datetime import timedelta

from maintenance_operator.api.windows import MaintenanceWindowStatus
from maintenance_operator.planning import restarts
from maintenance_operator.planning.window_status import maintenance_status
from tests.unit.planning.factories import ANNOUNCED, WINDOW_START, workload

NOW = WINDOW_START - timedelta(hours=1)


def test_targets_handled_elsewhere_are_listed_apart_with_their_window() -> None:
    mine = workload("api", required="security", required_since=ANNOUNCED)
    theirs = workload("web", required="hardware", required_since=ANNOUNCED)
    step = restarts.plan([mine], None, restarts.Wait.OUTSIDE_WINDOW, restarts.Policy(), NOW)
    out = maintenance_status(
        previous={},
        generation=1,
        upcoming=[],
        current=None,
        step=step,
        problem=None,
        now=NOW,
        last_run=None,
        elsewhere=[(theirs, "nightly")],
    )
    assert (out["pendingCount"], [p["name"] for p in out["pending"]]) == (1, ["api"])
    assert out["handledElsewhereCount"] == 1
    assert out["handledElsewhere"] == [{"kind": "Deployment", "name": "web", "reason": "hardware", "window": "nightly"}]
    MaintenanceWindowStatus.model_validate(out)  # what the CRD schema accepts


def test_an_invalid_window_lists_nothing_elsewhere() -> None:
    out = maintenance_status(
        previous={"handledElsewhere": [{"kind": "Deployment", "name": "web", "reason": "x", "window": "nightly"}]},
        generation=2,
        upcoming=[],
        current=None,
        step=None,
        problem="duration: must be at least 5m",
        now=NOW,
        last_run=None,
    )
    assert out["handledElsewhereCount"] == 0 and "handledElsewhere" not in out
