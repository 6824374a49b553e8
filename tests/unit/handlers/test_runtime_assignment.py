"""The operator's window choice is the CLI's: one ranking of the namespace's windows, rebuilt when one changes."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maintenance_operator.cli.windowobjects import parse_window
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.planning.windows import assignment

NS = "shop"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DATA = {"tier": "data"}


def window_object(name: str, schedule: str, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "MaintenanceWindow",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": {"matchLabels": DATA}, "schedule": schedule, **spec},
    }


@dataclass
class FakeWindow:
    """A window task as the runtime sees it, its candidate built the way WindowRunner builds it."""

    body: Mapping[str, Any]
    namespace: str = NS

    def __post_init__(self) -> None:
        self.name = self.body["metadata"]["name"]
        self.candidate = assignment.candidate(self.name, self.body["spec"], self.body.get("status") or {})

    def selects(self, labels: Mapping[str, str]) -> bool:
        return True

    def covers(self, namespace_labels: Mapping[str, str] | None) -> bool:
        return False

    def wake(self) -> None:
        pass


class NoNamespaces:
    """The cache as these tests need it: no namespace seen (no cluster window covers any)."""

    def namespace_labels(self, namespace: str) -> None:
        return None


def runtime(*objects: dict[str, Any], clock: Any = lambda: NOW) -> Runtime:
    rt = Runtime(client=None, cache=NoNamespaces(), clock=clock)  # type: ignore[arg-type]  # the client is not used
    rt.window_runners = {obj["metadata"]["name"]: FakeWindow(obj) for obj in objects}
    return rt


def test_a_suspended_window_is_named_by_the_operator_and_the_cli_alike() -> None:
    objects = [window_object("frozen", "0 3 * * *", suspend=True), window_object("later", "0 4 * * *")]
    in_operator = runtime(*objects).window_for(NS, DATA)
    in_cli = assignment.assign([parse_window(o).candidate for o in objects], DATA, NOW)
    assert (in_operator.window, in_operator.suspended) == ("frozen", True)
    assert in_cli == in_operator


def test_the_ranking_is_rebuilt_when_a_window_changes_or_its_occurrence_passes() -> None:
    now = [NOW]
    rt = runtime(window_object("early", "0 11 * * *"), window_object("late", "0 12 * * *"), clock=lambda: now[0])
    assert rt.window_for(NS, DATA).window == "early"
    rt.window_runners["early"] = FakeWindow(window_object("early", "0 13 * * *"))
    assert rt.window_for(NS, DATA).window == "late", "a changed window is ranked anew"
    now[0] = NOW + timedelta(hours=3, minutes=10)  # 13:10: late closed at 13:00, early is open since then
    assert rt.window_for(NS, DATA).window == "early"
