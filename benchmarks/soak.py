"""soak: many run-now occurrences over the same targets, and the operator's RSS along the way (issue 13).

W MaintenanceWindows (`policy: Always`) each select T/W of T one-replica Deployments; in each round every window
gets a run-now and the round ends when each window's run succeeded with all its targets restarted. Occurrences
are rounds x windows. Prints RSS at the start (windows settled, nothing run yet), every `report_every`
occurrences, and at the end, with the peak; memory kept per occurrence would show as RSS growing with the count.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    apply_in_chunks,
    create_deployments,
    current_rss_mib,
    peak_rss_mib,
    poll,
    wait_all_available,
)
from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import window

NS = "bench-soak"


def _runs(cluster: LocalCluster) -> dict[str, dict[str, Any]]:
    """Each window's lastRun, from one LIST."""
    items = cluster.kubectl_json("get", "mw", "-n", NS)["items"]
    return {mw["metadata"]["name"]: (mw.get("status") or {}).get("lastRun") or {} for mw in items}


def _restarts(operator: OperatorProcess) -> int:
    values = re.findall(
        r'^maintenance_restarts_total\{[^}]*result="succeeded"[^}]*\} ([0-9.e+]+)$', operator.metrics(), re.MULTILINE
    )
    return sum(int(float(v)) for v in values)


def bench_soak(
    cluster: LocalCluster, work: Path, occurrences: int, targets: int, windows: int, report_every: int
) -> None:
    cluster.create_namespace(NS)
    per_window = targets // windows
    names = [f"w{w:02d}" for w in range(windows)]
    started = time.monotonic()
    for name in names:
        create_deployments(cluster, NS, [f"{name}-app-{i:02d}" for i in range(per_window)], {"soak": name})
    wait_all_available(cluster, NS, per_window * windows)
    print(f"  setup: {per_window * windows} Deployments available in {time.monotonic() - started:.0f} s", flush=True)
    rounds = -(-occurrences // windows)
    with OperatorProcess(cluster, [NS], work / "soak-operator.log") as operator:
        specs = [window(n, {"matchLabels": {"soak": n}}, policy="Always", concurrency=per_window) for n in names]
        apply_in_chunks(cluster, NS, specs)

        def settled() -> bool:
            items = cluster.kubectl_json("get", "mw", "-n", NS)["items"]
            return sum(1 for mw in items if (mw.get("status") or {}).get("nextOccurrences")) == windows

        poll(settled, 120, "every window's status written", interval=1.0)
        print(f"  RSS at the start: {current_rss_mib(operator):.1f} MiB", flush=True)
        soaked = time.monotonic()
        done, previous = 0, {n: "" for n in names}
        for round_ in range(rounds):
            # Run-now ids are to the second: the next occurrence must not open in the second of the last one.
            last = max((_start(o) for o in previous.values() if o), default=0.0)
            poll(lambda: time.time() >= last + 1, 5, "a new second", interval=0.05)  # noqa: B023
            previous = _round(cluster, names, previous, per_window, f"soak-{round_}", f"round {round_ + 1}/{rounds}")
            before, done = done, done + windows
            if done // report_every > before // report_every or round_ == rounds - 1:
                print(
                    f"  after {done} occurrences ({done * per_window} restarts), "
                    f"{time.monotonic() - soaked:.0f} s: RSS {current_rss_mib(operator):.1f} MiB",
                    flush=True,
                )
        seconds = time.monotonic() - soaked
        end_rss, peak = current_rss_mib(operator), peak_rss_mib(operator)
        restarted = _restarts(operator)
    print(f"  {done} occurrences in {seconds:.0f} s ({seconds / max(done, 1):.1f} s each)")
    print(f"  restarts the operator reported: {restarted} (expected {done * per_window})")
    print(f"  RSS at the end: {end_rss:.1f} MiB (peak {peak:.1f} MiB)", flush=True)


def _round(
    cluster: LocalCluster, names: list[str], previous: dict[str, str], per_window: int, trigger: str, what: str
) -> dict[str, str]:
    """Run-now on every window; each window's new occurrence once its run succeeded with every target restarted."""
    cluster.kubectl("annotate", "mw", *names, "-n", NS, "--overwrite", f"maintenance.ops.dev/run-now={trigger}")

    def finished() -> bool:
        runs = _runs(cluster)
        return all(
            runs[n].get("occurrence") not in ("", None, previous[n])
            and runs[n].get("result") == "Succeeded"
            and runs[n].get("restarted") == per_window
            for n in names
        )

    poll(finished, 600, what, interval=0.5)
    runs = _runs(cluster)
    return {n: str(runs[n]["occurrence"]) for n in names}


def _start(occurrence_id: str) -> float:
    """The Unix time a run-now occurrence id names (`20261201T143005Z`)."""
    return datetime.strptime(occurrence_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
