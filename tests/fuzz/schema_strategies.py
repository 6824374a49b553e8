"""Hypothesis strategies derived from the committed CRD schemas (crds/*.yaml), for fuzzing the real API server
and operator.

`valid_spec(kind)` draws specs the structural schema accepts (types, enums, bounds, patterns, lengths), biased
towards values that matter semantically (cron fields, time zones, durations, versions, selectors), so most of
them reach the operator and only the CEL rules, which this module does not evaluate, or the operator refuse some.
`invalid_spec(kind)` draws one such spec with exactly one mutation outside the schema (a wrong type, a number out
of range, a bad enum value, an unknown or missing field, a broken pattern, an overlong string, a bad date-time),
which the API server must refuse at admission. `schema_errors` is the small checker that holds both to the
committed schema (jsonschema, with Kubernetes' structural rules: no unknown fields unless preserved).
"""

import re
import string
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "MaintenanceWindow": "maintenance.ops.dev_maintenancewindows.yaml",
    "BackupWindow": "maintenance.ops.dev_backupwindows.yaml",
    "ManagedDatabase": "maintenance.ops.dev_manageddatabases.yaml",
}
API_VERSION = "maintenance.ops.dev/v1alpha1"
Schema = dict[str, Any]
Json = Any


@cache
def spec_schema(kind: str) -> Schema:
    """The committed openAPIV3Schema of `kind`'s spec."""
    crd = yaml.safe_load((ROOT / "crds" / KINDS[kind]).read_text())
    schema: Schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


# -- the checker --------------------------------------------------------------------------------------------
def _json_schema(node: Schema) -> Schema:
    """OpenAPI v3 as JSON Schema: objects without additionalProperties refuse unknown fields (structural
    schemas prune or, with kubectl's strict field validation, refuse them), x-kubernetes-* keys dropped."""
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "description"}
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node:
        out["properties"] = {k: _json_schema(v) for k, v in node["properties"].items()}
        if "additionalProperties" not in node and not preserve:
            out["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _json_schema(node["additionalProperties"])
    if "items" in node:
        out["items"] = _json_schema(node["items"])
    return out


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            raise ValueError(f"not RFC 3339: {value!r}")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def schema_errors(kind: str, spec: Json) -> list[str]:
    """What the structural schema of `kind` refuses in `spec` (CEL rules aside); empty when it accepts it."""
    validator = jsonschema.Draft202012Validator(_json_schema(spec_schema(kind)), format_checker=FORMATS)
    return [f"{'.'.join(map(str, e.absolute_path)) or 'spec'}: {e.message}" for e in validator.iter_errors(spec)]


# -- values the schema accepts, biased to what matters ----------------------------------------------------------
CRON_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


@st.composite
def _cron_field(draw: st.DrawFn, bounds: tuple[int, int]) -> str:
    low, high = bounds
    number = st.integers(low - 1, high + 1)  # one past either end: the operator must say which field is wrong
    kind = draw(st.sampled_from(["*", "n", "range", "step", "list", "junk"]))
    if kind == "*":
        return "*"
    if kind == "n":
        return str(draw(number))
    if kind == "range":
        return f"{draw(number)}-{draw(number)}"
    if kind == "step":
        return f"{draw(st.sampled_from(['*', str(low)]))}/{draw(st.integers(0, high + 1))}"
    if kind == "list":
        return ",".join(str(n) for n in draw(st.lists(number, min_size=1, max_size=3)))
    return draw(st.sampled_from(["MON", "tue", "JAN", "?", "L", "5#2", "*/", "1--2", "x"]))


@st.composite
def _schedule(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@midnight", "@reboot"]))
    fields = [draw(_cron_field(b)) for b in CRON_FIELDS]
    if draw(st.integers(0, 9)) == 0:
        fields = fields[: draw(st.sampled_from([3, 4]))] + (["0"] if draw(st.booleans()) else [])
    elif draw(st.integers(0, 9)) == 0:
        fields = ["0", *fields]  # six fields, seconds first: refused with its own message
    return " ".join(fields)


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]
BAD_ZONES = ["Mars/Olympus_Mons", "europe/berlin", "UTC+1", "../../etc/passwd", "", " UTC", "Etc/GMT+99", "Z"]
DURATION = r"([0-9]{1,4}(d|h|m|s)){1,3}"
VERSIONS = {
    "postgresql": ["16.4", "16.6", "17.2", "15", "9.6", "99.1"],
    "mysql": ["8.0.40", "8.4.3", "8.0", "5.7.44", "9.1.0", "42"],
    "redis": ["7.4.1", "7.2.6", "7", "6.2.16", "0.0.1"],
}


def _label_key() -> st.SearchStrategy[str]:
    name = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True)
    odd = st.sampled_from(["Bad Key", "-lead", "a/b/c", "x" * 64, "maintenance.ops.dev/window", ""])
    return st.one_of(name, st.builds(lambda p, n: f"{p}/{n}", st.sampled_from(["example.com", "a.b"]), name), odd)


def _label_value() -> st.SearchStrategy[str]:
    return st.one_of(st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True), st.sampled_from(["bad value", "-x", "y" * 63]))


def _selector_requirement() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"key": _label_key(), "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])},
        optional={"values": st.lists(_label_value(), max_size=3)},
    )


def _selector() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": st.dictionaries(_label_key(), _label_value(), max_size=2),
            "matchExpressions": st.lists(_selector_requirement(), max_size=2),
        },
    )


def _rfc3339() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    return moments.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _size() -> st.SearchStrategy[str]:
    units = st.sampled_from(["", "Ki", "Mi", "Gi", "Ti", "Ei", "k", "M", "G"])
    return st.builds(lambda n, u: f"{n}{u}", st.sampled_from(["0", "1", "1.5", "10", "512", "99999999"]), units)


HINTS: dict[str, Callable[[], st.SearchStrategy[Json]]] = {
    "schedule": _schedule,
    "timeZone": lambda: st.sampled_from(ZONES + BAD_ZONES),
    "duration": lambda: st.one_of(
        st.sampled_from(["5m", "1h", "90m", "4m", "0m", "1d", "23h59m", "2d"]), _regex(DURATION)
    ),
    "rolloutTimeout": lambda: st.one_of(st.sampled_from(["10m", "0s", "1s"]), _regex(DURATION)),
    "maxAge": lambda: st.one_of(st.sampled_from(["7d", "0s", "1h"]), _regex(DURATION)),
    "selector": _selector,
    "start": _rfc3339,
    "end": _rfc3339,
    "size": _size,
    "engine": lambda: st.sampled_from(sorted(VERSIONS)),
    "version": lambda: st.sampled_from(sorted({v for vs in VERSIONS.values() for v in vs})),
    "replicas": lambda: st.sampled_from([1, 1, 1, 0, 2, 3]),
    "className": lambda: st.sampled_from(["standard", "", "fast-ssd"]),
    "volumeSnapshotClassName": lambda: st.sampled_from(["csi-snapclass", "", "missing"]),
    "url": lambda: st.sampled_from(["https://hooks.example.com/x", "http://127.0.0.1:1/", "https://"]),
}


def _regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


def _string(node: Schema) -> st.SearchStrategy[str]:
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("format") == "date-time":
        return _rfc3339()
    low, high = node.get("minLength", 0), min(node.get("maxLength", 40), 40)
    if "pattern" in node:
        text = st.from_regex(str(node["pattern"]), fullmatch=True)
        return text.filter(lambda s: low <= len(s) <= node.get("maxLength", 1 << 30))
    alphabet = string.ascii_letters + string.digits + "-._/ :@"
    return st.text(alphabet, min_size=low, max_size=max(low, high))


def _untyped(node: Schema) -> st.SearchStrategy[Json]:
    """A node without a type (x-kubernetes-preserve-unknown-fields, like noticeBefore: one string or a list)."""
    choices: list[st.SearchStrategy[Json]] = [st.integers(-5, 5), st.booleans(), st.none(), st.just({"a": 1})]
    if "pattern" in node:
        choices.insert(0, _string({**node, "type": "string"}))
    if "items" in node:
        choices.insert(0, _array({**node, "type": "array"}))
    return st.one_of(*choices)


def _array(node: Schema) -> st.SearchStrategy[list[Json]]:
    low = node.get("minItems", 0)
    return st.lists(valid(node["items"]), min_size=low, max_size=min(node.get("maxItems", 3), low + 3))


def _object(node: Schema) -> st.SearchStrategy[dict[str, Json]]:
    if "properties" not in node:
        extra = node.get("additionalProperties")
        values = valid(extra) if isinstance(extra, dict) else st.integers()
        return st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), values, max_size=2)
    required = set(node.get("required", ()))
    props = node["properties"]
    fields = {k: _field(k, v) for k, v in props.items()}
    return st.fixed_dictionaries(
        {k: s for k, s in fields.items() if k in required},
        optional={k: s for k, s in fields.items() if k not in required},
    )


def _field(name: str, node: Schema) -> st.SearchStrategy[Json]:
    hint = HINTS.get(name)
    if hint is None:
        return valid(node)
    # A hint may stray outside the schema (`0m`, an empty label key): only what the schema accepts is kept.
    checker = jsonschema.Draft202012Validator(_json_schema(node), format_checker=FORMATS)
    return st.one_of(hint().filter(checker.is_valid), valid(node))


def valid(node: Schema) -> st.SearchStrategy[Json]:
    """Any value the schema `node` accepts (structurally: CEL rules are left to the API server)."""
    kind = node.get("type")
    if kind is None:
        return _untyped(node)
    if kind == "string":
        return _string(node)
    if kind == "integer":
        return st.integers(node.get("minimum", -(2**31)), node.get("maximum", 2**31))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return _array(node)
    if kind == "object":
        return _object(node)
    raise ValueError(f"unsupported schema type {kind!r}")


def valid_spec(kind: str) -> st.SearchStrategy[dict[str, Json]]:
    spec: st.SearchStrategy[dict[str, Json]] = _object(spec_schema(kind))
    return spec


# -- one mutation outside the schema -------------------------------------------------------------------------
def _nodes(node: Schema, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Schema]]:
    """Every schema node with its path; an array's items at index 0."""
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _nodes(child, (*path, name))
    if "items" in node:
        yield from _nodes(node["items"], (*path, 0))


WRONG_TYPES: dict[str, list[Json]] = {
    "string": [7, True, ["x"], {"a": "b"}],
    "integer": ["3", 1.5, True, [1]],
    "boolean": ["true", 1, "yes"],
    "array": ["x", {"0": "x"}, 3],
    "object": ["x", ["x"], 3],
}


def _outside(node: Schema) -> list[Json]:
    """Values `node` refuses (each one on its own), when the node's schema allows any to be named."""
    kind = node.get("type")
    out: list[Json] = list(WRONG_TYPES.get(kind or "", []))
    if "enum" in node:
        out += [str(node["enum"][0]).upper() + "x", "", str(node["enum"][0]).lower() + " "]
    if "minimum" in node:
        out.append(node["minimum"] - 1)
    if "maximum" in node:
        out += [node["maximum"] + 1, 2**63]
    if kind == "string" and "maxLength" in node:
        out.append("a" * (node["maxLength"] + 1))
    if kind == "string" and node.get("minLength"):
        out.append("")
    if kind == "string" and "pattern" in node:
        broken = ["1 h", "-5m", "1.5h", "", "16.x", "10GB", "ftp://x", "Upper Case"]
        out += [text for text in broken if not re.search(node["pattern"], text)]
    if node.get("format") == "date-time":
        out += ["tomorrow", "2026-13-01T00:00:00Z", "2026-12-01 14:00"]
    if kind == "array" and "maxItems" in node:
        out.append(["x"] * (node["maxItems"] + 1))
    if kind is None and node.get("minItems"):
        out.append([])  # an untyped node still has its array bounds
    return out


def _set(doc: Json, path: tuple[str | int, ...], value: Json) -> Json:
    """`doc` with the value at `path` replaced, creating the parents a path needs (an array gets one item)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(doc) if isinstance(doc, list) and doc else [{}]
        items[0] = _set(items[0], rest, value)
        return items
    out = dict(doc) if isinstance(doc, dict) else {}
    out[head] = _set(out.get(head, {} if rest and not isinstance(rest[0], int) else []), rest, value)
    return out


def _without(doc: Json, path: tuple[str | int, ...]) -> Json:
    """`doc` without the field at `path` (an array's first item stands for the array)."""
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        return [_without(doc[0], rest), *doc[1:]] if isinstance(doc, list) and doc else doc
    if not isinstance(doc, dict) or head not in doc:
        return doc
    out = dict(doc)
    if rest:
        out[head] = _without(out[head], rest)
    else:
        del out[head]
    return out


MISSING = object()  # the mutation that removes a required field


@cache
def mutations(kind: str) -> tuple[tuple[str, tuple[str | int, ...], Json], ...]:
    """Every single change outside `kind`'s schema: (label, path, value or MISSING)."""
    out: list[tuple[str, tuple[str | int, ...], Json]] = []
    for path, node in _nodes(spec_schema(kind)):
        where = ".".join(map(str, path)) or "spec"
        out += [(f"{where}={value!r}"[:80], path, value) for value in _outside(node)]
        if "properties" in node:
            out.append((f"{where}.unknownField", (*path, "unknownField"), "surprise"))
        prefix = f"{where}." if path else ""
        out += [(f"{prefix}{name} missing", (*path, name), MISSING) for name in node.get("required", ())]
    return tuple(out)


@st.composite
def invalid_spec(draw: st.DrawFn, kind: str) -> tuple[str, Json]:
    """(what was mutated, a spec) with one change the committed schema refuses."""
    base = draw(valid_spec(kind))
    label, path, value = draw(st.sampled_from(mutations(kind)))
    if value is MISSING:
        return label, _without(_set(base, path, "placeholder"), path)  # the parents exist, then the field goes
    return label, _set(base, path, value)


# -- whole resources ---------------------------------------------------------------------------------------------
def resource(kind: str, name: str, spec: Json) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


@st.composite
def candidate(draw: st.DrawFn, kind: str) -> tuple[str, dict[str, Json]]:
    """(a label saying how it was made, a spec): three in four valid by schema, one in four mutated outside it."""
    if draw(st.integers(0, 3)) == 0:
        return draw(invalid_spec(kind))
    return "valid", draw(valid_spec(kind))
