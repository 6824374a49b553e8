"""Fuzzing: resources generated from the committed CRD schemas (and one mutation outside them) are applied with
the real kubectl to the real API server and operator. Each is refused at admission, or gets a Ready condition
whose False message is precise; the operator stays up, and a canary window restarts its target on time meanwhile.

`--fuzz-examples N` (default 300) sets how many resources are created; `--fuzz-seed` picks the seed (a fixed one
by default, so that a CI run is reproducible; 0 for a random one; the seed is printed). After the creations,
rounds of updates (new specs for existing names, so CEL transition rules and the operator's update paths are
fuzzed too) go on until the canary's occurrence has restarted its target.
"""

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tests.cluster.cluster import LocalCluster
from tests.fuzz import schema_strategies as fuzz
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import announce
from tests.integration.workloads import apply, deployment, get, revisions, starting_soon, wait_rolled_out, window

pytestmark = pytest.mark.integration

BATCH = 30
SHORT = {"MaintenanceWindow": "mw", "BackupWindow": "bw", "ManagedDatabase": "md"}
CANARY = {"canary": "yes"}
# Reasons whose message must name the spec field to fix. Others (a database provisioning, a missing permission,
# an object the API server refused) name what they wait for instead.
SPEC_REASONS = {"InvalidSpec"}
# Known: a BackupWindow reports a cluster without the snapshot API as InvalidSpec, though no field is wrong.
NOT_A_FIELD = ("the API server does not serve volumesnapshots",)
REPR = re.compile(r"Traceback|object at 0x|<class |\w+Error\(|\{'|\[\{|\bNone\b")
FIELDS = {
    kind: {str(p[-1]) for p, _ in fuzz._nodes(fuzz.spec_schema(kind)) if p and isinstance(p[-1], str)}
    for kind in fuzz.KINDS
}


def draw(strategy: st.SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """`count` examples of `strategy`, the same for the same seed."""
    out: list[Any] = []
    while len(out) < count:
        quiet = settings(
            max_examples=count - len(out),
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )

        @hypothesis_seed(seed + len(out))
        @quiet
        @given(strategy)
        def collect(value: Any) -> None:
            out.append(value)

        collect()
    return out[:count]


def fuzzed(kind: str, index: int, spec: Any) -> dict[str, Any]:
    """A generated resource; a MaintenanceWindow's selector always leaves the canary out (a fuzzed window
    that selected it could win it, by starting earlier, and restart it off time or never when suspended)."""
    if kind == "MaintenanceWindow" and isinstance(spec, dict) and isinstance(spec.get("selector"), dict):
        selector = spec["selector"]
        expressions = selector.get("matchExpressions", [])
        if isinstance(expressions, list):
            spec = {**spec, "selector": {**selector, "matchExpressions": [*expressions, NO_CANARY]}}
    # Every tenth database has a long name: its StatefulSet and Services must still fit theirs.
    name = f"{SHORT[kind]}{index:04d}" + ("-" + "x" * 52 if kind == "ManagedDatabase" and index % 10 == 9 else "")
    return fuzz.resource(kind, name, spec)


NO_CANARY = {"key": "canary", "operator": "DoesNotExist"}


def apply_batch(cluster: LocalCluster, namespace: str, items: list[dict[str, Any]]) -> tuple[set[str], list[str]]:
    """Apply a stream of documents; the names kubectl applied, and its errors.

    Not a List: kubectl validates a List on the client as a whole, so one item of a wrong type refuses them all.
    Each document of a stream is sent on its own, the API server judges it, and kubectl goes on past a refusal.
    """
    stream = "\n---\n".join(json.dumps(item) for item in items)
    result = cluster.kubectl("apply", "-n", namespace, "-o", "name", "-f", "-", input=stream, check=False)
    applied = {line.rsplit("/", 1)[-1] for line in result.stdout.split()}
    return applied, [line for line in result.stderr.splitlines() if line.startswith("Error from server")]


Observed = dict[str, tuple[str, Any, dict[str, Any]]]


def observed(cluster: LocalCluster, namespace: str) -> Observed:
    """name -> (kind, spec, Ready condition, or {} until the operator has one for the current generation)."""
    listing = cluster.kubectl_json("get", "-n", namespace, "maintenancewindows,backupwindows,manageddatabases")
    out: Observed = {}
    for item in listing["items"]:
        conditions = (item.get("status") or {}).get("conditions") or []
        ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
        current = ready.get("observedGeneration") == item["metadata"]["generation"]
        out[item["metadata"]["name"]] = (item["kind"], item.get("spec"), ready if current else {})
    return out


def imprecise(kind: str, condition: dict[str, Any]) -> str | None:
    """Why a Ready=False message would not tell a user what to fix, or None."""
    message = condition.get("message") or ""
    if not message.strip():
        return "empty message"
    if REPR.search(message):
        return "a Python repr or traceback"
    named = any(re.search(rf"\b{f}\b", message) for f in FIELDS[kind])
    if condition.get("reason") in SPEC_REASONS and not message.startswith(NOT_A_FIELD) and not named:
        return "names no field"
    return None


Candidate = tuple[str, str, dict[str, Any]]  # kind, how it was made ("valid" or the mutation), manifest


class Fuzzer:
    """Applies candidates, waits for the operator's verdict on each admitted one, and keeps the figures."""

    def __init__(self, cluster: LocalCluster, namespace: str, operator: OperatorProcess) -> None:
        self.cluster, self.namespace, self.operator = cluster, namespace, operator
        self.tried: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.refusals: list[str] = []
        self.admitted_mutants: Counter[str] = Counter()
        self.ready: dict[str, Counter[str]] = {kind: Counter() for kind in fuzz.KINDS}
        self.messages: dict[str, str] = {}  # kind/reason -> one message
        self.defects: dict[str, str] = {}  # name -> what was wrong with a verdict on it

    def alive(self) -> bool:
        return self.operator.proc is not None and self.operator.proc.poll() is None

    def run(self, candidates: list[Candidate]) -> None:
        """Apply in batches, then wait until every admitted generation has a Ready condition, and judge it."""
        for i in range(0, len(candidates), BATCH):
            batch = candidates[i : i + BATCH]
            applied, errors = apply_batch(self.cluster, self.namespace, [manifest for _, _, manifest in batch])
            self.refusals += errors[:2]
            for kind, label, manifest in batch:
                self.tried[kind] += 1
                if manifest["metadata"]["name"] not in applied:
                    self.refused[kind] += 1
                elif label != "valid":
                    self.admitted_mutants[f"{kind} {label}"] += 1
        assert self.alive(), "the operator exited"

        def verdicts() -> Observed:
            state = observed(self.cluster, self.namespace)
            missing = [name for name, (_, _, ready) in state.items() if not ready]
            assert not missing, f"no Ready condition for the current generation of {missing[:10]}"
            return state

        state = eventually(verdicts, timeout=180, interval=1, what="a Ready condition on every admitted resource")
        self.ready = {kind: Counter() for kind in fuzz.KINDS}
        for name, (kind, spec, ready) in state.items():
            if name == "canary":
                continue
            self.ready[kind][ready["status"]] += 1
            if ready["status"] == "False":
                self.messages.setdefault(f"{kind}/{ready['reason']}", ready["message"])
                if (why := imprecise(kind, ready)) is not None:
                    self.defects[name] = f"{kind} {name} {why}: {ready['message']!r} for {json.dumps(spec)}"

    def report(self, created: dict[str, Counter[str]]) -> None:
        for kind in sorted(fuzz.KINDS):
            print(
                f"[fuzz] {kind}: applied {self.tried[kind]}, refused at admission {self.refused[kind]}; "
                f"after the creations Ready=True {created[kind]['True']}, Ready=False {created[kind]['False']}; "
                f"at the end Ready=True {self.ready[kind]['True']}, Ready=False {self.ready[kind]['False']}"
            )
        for reason, message in sorted(self.messages.items()):
            print(f"[fuzz]   {reason}: {message[:240]}")
        for line in self.refusals[:: max(1, len(self.refusals) // 8)][:8]:
            print(f"[fuzz]   refused: {line[:240]}")
        print(f"[fuzz] mutants the API server admitted: {self.admitted_mutants.most_common(8)}")


def creations(examples: int, seed: int) -> list[Candidate]:
    kinds = sorted(fuzz.KINDS)
    specs = {kind: iter(draw(fuzz.candidate(kind), examples // 3 + 1, seed)) for kind in kinds}
    out: list[Candidate] = []
    for index in range(examples):
        kind = kinds[index % 3]
        label, spec = next(specs[kind])
        out.append((kind, label, fuzzed(kind, index, spec)))
    return out


def updates(examples: int, seed: int) -> list[Candidate]:
    """A batch of new specs for names of the creations (or new names, when the kind does not match)."""
    any_kind = st.sampled_from(sorted(fuzz.KINDS)).flatmap(lambda k: fuzz.candidate(k).map(lambda c: (k, c)))
    rng = random.Random(seed)
    batch: dict[str, Candidate] = {}  # by name: one verdict per name and batch
    for kind, (label, spec) in draw(any_kind, BATCH, seed):
        manifest = fuzzed(kind, rng.randrange(examples), spec)
        batch.setdefault(manifest["metadata"]["name"], (kind, label, manifest))
    return list(batch.values())


def test_fuzzed_resources_are_refused_or_reported_while_the_canary_restarts_on_time(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, request: pytest.FixtureRequest
) -> None:
    cluster = crds
    examples: int = request.config.getoption("--fuzz-examples")
    seed: int = request.config.getoption("--fuzz-seed") or random.randrange(2**32)
    print(f"\n[fuzz] {examples} resources, --fuzz-seed {seed}")

    # The canary: a pending Deployment whose daily window opens at the next minute boundary.
    apply(cluster, namespace, deployment("canary", CANARY))
    wait_rolled_out(cluster, namespace, "deployment/canary")
    announce(cluster, namespace, "deployment/canary")
    start, fields = starting_soon()
    apply(cluster, namespace, window("canary", {"matchLabels": CANARY}, **fields))
    pending = lambda: (get(cluster, namespace, "mw/canary").get("status") or {}).get("pendingCount") == 1  # noqa: E731
    eventually(pending, what="the canary pending")

    fuzzer = Fuzzer(cluster, namespace, operator)
    began = datetime.now(UTC)
    fuzzer.run(creations(examples, seed))
    created = fuzzer.ready
    rounds = 0
    while revisions(cluster, namespace, "canary") < 2 and datetime.now(UTC) < start + timedelta(minutes=2):
        rounds += 1
        fuzzer.run(updates(examples, seed + rounds))
    ended = datetime.now(UTC)
    print(f"[fuzz] {sum(fuzzer.tried.values())} applies ({examples} creations, {rounds} rounds of {BATCH} updates)")
    print(f"[fuzz] {(ended - began).total_seconds():.0f} s from the first apply to the last verdict")
    fuzzer.report(created)

    assert sum(fuzzer.tried.values()) >= examples
    assert not fuzzer.defects, "\n".join(list(fuzzer.defects.values())[:20])
    assert fuzzer.alive(), "the operator exited"
    crashes = [line for line in operator.log_text().splitlines() if "Traceback" in line or "exception" in line]
    assert not crashes, crashes[:10]

    # The canary: restarted once, in its occurrence, within a minute of its start, while the fuzzing ran.
    assert revisions(cluster, namespace, "canary") == 2, "the canary was not restarted in its occurrence"
    template = get(cluster, namespace, "deployment/canary")["spec"]["template"]["metadata"]["annotations"]
    assert template["maintenance.ops.dev/occurrence"] == start.strftime("%Y%m%dT%H%MZ")
    restarted = datetime.fromisoformat(template["kubectl.kubernetes.io/restartedAt"].replace("Z", "+00:00"))
    assert start <= restarted <= start + timedelta(seconds=60), (start, restarted)
    assert began <= restarted <= ended, (began, restarted, ended)
    print(f"[fuzz] the canary restarted {(restarted - start).total_seconds():.1f} s after its window opened")
