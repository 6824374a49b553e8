"""metav1.LabelSelector semantics in memory, and the `labelSelector` query string that asks the API server the same."""

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.targets.selectors import matches, selector_problem, to_query

WEB = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        # `{}` selects everything, labelled or not; so do empty or null parts.
        ({}, WEB, True),
        ({}, {}, True),
        ({"matchLabels": {}, "matchExpressions": []}, WEB, True),
        ({"matchLabels": None, "matchExpressions": None}, {}, True),
        # matchLabels: every pair must be present with that exact value.
        ({"matchLabels": {"app": "web"}}, WEB, True),
        ({"matchLabels": {"app": "web", "env": "prod"}}, WEB, True),
        ({"matchLabels": {"app": "web", "env": "dev"}}, WEB, False),
        ({"matchLabels": {"app": "api"}}, WEB, False),
        ({"matchLabels": {"owner": "team-a"}}, WEB, False),
        ({"matchLabels": {"app": "web"}}, {}, False),
        ({"matchLabels": {"app": ""}}, {"app": ""}, True),
        ({"matchLabels": {"app": ""}}, {}, False),
        ({"matchLabels": {"app": "Web"}}, WEB, False),  # values are case sensitive
        # In: the key must be present with one of the values.
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]}, WEB, True),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, WEB, False),
        ({"matchExpressions": [{"key": "owner", "operator": "In", "values": ["a"]}]}, WEB, False),
        ({"matchExpressions": [{"key": "owner", "operator": "In", "values": [""]}]}, {"owner": ""}, True),
        ({"matchExpressions": [{"key": "owner", "operator": "In", "values": [""]}]}, {}, False),
        # NotIn: absent keys match; present ones must have another value.
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, WEB, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev", "prod"]}]}, WEB, False),
        ({"matchExpressions": [{"key": "owner", "operator": "NotIn", "values": ["a"]}]}, WEB, True),
        ({"matchExpressions": [{"key": "owner", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        # Exists / DoesNotExist look at the key only, whatever the value (even empty).
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, WEB, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": ""}, True),
        ({"matchExpressions": [{"key": "owner", "operator": "Exists"}]}, WEB, False),
        ({"matchExpressions": [{"key": "owner", "operator": "DoesNotExist"}]}, WEB, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, WEB, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"tier": ""}, False),
        # `values: null` is how the API server shows Exists/DoesNotExist.
        ({"matchExpressions": [{"key": "tier", "operator": "Exists", "values": None}]}, WEB, True),
        # Everything is ANDed: matchLabels with expressions, and expressions with each other.
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            WEB,
            True,
        ),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod"]},
                    {"key": "tier", "operator": "DoesNotExist"},
                ],
            },
            WEB,
            False,
        ),
        ({"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "env", "operator": "Exists"}]}, WEB, False),
        # Contradictions select nothing.
        (
            {
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod"]},
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                ]
            },
            WEB,
            False,
        ),
        # Prefixed keys are ordinary keys.
        (
            {"matchLabels": {"maintenance.ops.dev/group": "a"}},
            {"maintenance.ops.dev/group": "a", "group": "b"},
            True,
        ),
        ({"matchLabels": {"maintenance.ops.dev/group": "a"}}, {"group": "a"}, False),
    ],
)
def test_matches(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert matches(selector, labels) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {},
        {"matchLabels": {"app": "web"}},
        {"matchExpressions": []},
        {"matchExpressions": None},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x", "y"]}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists"}]},
        {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": None}]},
    ],
)
def test_valid_selectors_have_no_problem(selector: dict[str, Any]) -> None:
    assert selector_problem(selector) is None


@pytest.mark.parametrize(
    ("selector", "fragments"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            ["matchExpressions[0]", "In", "at least one value"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            ["matchExpressions[0]", "In", "at least one value"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": None}]},
            ["matchExpressions[0]", "NotIn", "at least one value"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            ["matchExpressions[0]", "Exists", "no values"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]},
            ["matchExpressions[0]", "DoesNotExist", "no values"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
            ["matchExpressions[0]", "'Equals'", "In, NotIn, Exists or DoesNotExist"],
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]},
            ["matchExpressions[0]", "'in'", "In, NotIn, Exists or DoesNotExist"],
        ),
        (
            {"matchExpressions": [{"key": "a"}]},
            ["matchExpressions[0]", "None", "In, NotIn, Exists or DoesNotExist"],
        ),
        # The first bad expression is named by its index.
        (
            {
                "matchExpressions": [
                    {"key": "a", "operator": "Exists"},
                    {"key": "b", "operator": "In", "values": ["x"]},
                    {"key": "c", "operator": "NotIn", "values": []},
                    {"key": "d", "operator": "Exists", "values": ["x"]},
                ]
            },
            ["matchExpressions[2]", "NotIn"],
        ),
    ],
)
def test_selector_problem_names_the_expression_and_the_fix(selector: dict[str, Any], fragments: list[str]) -> None:
    problem = selector_problem(selector)
    assert problem is not None
    assert problem.startswith("selector.")
    for fragment in fragments:
        assert fragment in problem


@pytest.mark.parametrize(
    ("selector", "query"),
    [
        ({}, ""),
        ({"matchLabels": {"app": "web"}}, "app=web"),
        ({"matchLabels": {"tier": "frontend", "app": "web"}}, "app=web,tier=frontend"),
        ({"matchLabels": {"app": ""}}, "app="),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}, "env in (dev,prod)"),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, "env notin (dev)"),
        ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, "canary"),
        ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, "!canary"),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "example.com/team", "operator": "In", "values": ["a"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "app=web,example.com/team in (a),!canary",
        ),
    ],
)
def test_to_query_uses_the_label_selector_syntax(selector: dict[str, Any], query: str) -> None:
    assert to_query(selector) == query


# ---------------------------------------------------------------------------------------------------------------
# Properties. Two independent re-statements of the semantics: one per requirement as "which values (None for
# absent) may the key have", and one by parsing the query string the way the API server's parser does.

Allowed = Callable[[str | None], bool]


def _allowed_values(op: str, values: list[str]) -> Allowed:
    return {
        "In": lambda v: v is not None and v in values,
        "NotIn": lambda v: v is None or v not in values,
        "Exists": lambda v: v is not None,
        "DoesNotExist": lambda v: v is None,
    }[op]


def brute_force_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    requirements: list[tuple[str, Allowed]] = [
        (key, _allowed_values("In", [value])) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    requirements += [
        (e["key"], _allowed_values(e["operator"], list(e.get("values") or [])))
        for e in selector.get("matchExpressions") or []
    ]
    return all(allowed(labels.get(key)) for key, allowed in requirements)


# The grammar of k8s.io/apimachinery/pkg/labels.Parse, restricted to what a metav1.LabelSelector can express.
_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?{_NAME}"
_VALUE = rf"(?:{_NAME})?"
_REQUIREMENT = re.compile(
    rf"(?P<not>!)(?P<absent>{_KEY})"
    rf"|(?P<key>{_KEY})(?:"
    rf"(?P<eq>==?|!=)(?P<value>{_VALUE})"
    rf"|\s+(?P<set>in|notin)\s+\((?P<values>{_VALUE}(?:,{_VALUE})*)\)"
    r")?"
)


def _split_requirements(query: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in query:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if query else []


def query_matches(query: str, labels: Mapping[str, str]) -> bool:
    """Evaluate a labelSelector string; fails the test on any syntax the API server would reject."""
    parsed = [_REQUIREMENT.fullmatch(text) for text in _split_requirements(query)]
    for m in parsed:
        assert m is not None, f"invalid requirement in labelSelector {query!r}"
    return all(_holds(m, labels) for m in parsed if m is not None)


def _holds(m: re.Match[str], labels: Mapping[str, str]) -> bool:
    if m["absent"]:
        return m["absent"] not in labels
    if m["eq"]:
        return (labels.get(m["key"]) == m["value"]) is (m["eq"] != "!=")
    if m["set"]:
        present = m["key"] in labels and labels[m["key"]] in m["values"].split(",")
        return present if m["set"] == "in" else not present
    return m["key"] in labels


keys = st.sampled_from(["app", "tier", "env", "example.com/team", "a.b-c_d"])
values = st.sampled_from(["web", "api", "prod", "a-1", "x.y_z", ""])
label_sets = st.dictionaries(keys, values, max_size=5)
expressions: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.fixed_dictionaries(
        {"key": keys, "operator": st.sampled_from(["In", "NotIn"]), "values": st.lists(values, min_size=1, max_size=3)}
    ),
    st.fixed_dictionaries(
        {"key": keys, "operator": st.sampled_from(["Exists", "DoesNotExist"])},
        optional={"values": st.sampled_from([None, []])},
    ),
)
selectors = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.one_of(st.none(), st.dictionaries(keys, values, max_size=3)),
        "matchExpressions": st.one_of(st.none(), st.lists(expressions, max_size=4)),
    },
)


@given(selectors, label_sets)
def test_matches_is_the_kubernetes_semantics(selector: dict[str, Any], labels: dict[str, str]) -> None:
    assert selector_problem(selector) is None
    assert matches(selector, labels) is brute_force_matches(selector, labels)


@given(selectors, label_sets)
def test_server_side_query_selects_the_same_objects(selector: dict[str, Any], labels: dict[str, str]) -> None:
    assert query_matches(to_query(selector), labels) is matches(selector, labels)


@given(label_sets)
def test_an_objects_own_labels_select_it(labels: dict[str, str]) -> None:
    assert matches({"matchLabels": labels}, labels)
    assert matches({"matchExpressions": [{"key": k, "operator": "Exists"} for k in labels]}, labels)


@given(selectors, label_sets, st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
def test_adding_a_requirement_never_selects_more(selector: dict[str, Any], labels: dict[str, str], op: str) -> None:
    values = ["web"] if op in ("In", "NotIn") else None
    narrower = {
        **selector,
        "matchExpressions": [
            *(selector.get("matchExpressions") or []),
            {"key": "app", "operator": op, "values": values},
        ],
    }
    assert not matches(narrower, labels) or matches(selector, labels)


@pytest.mark.parametrize("query", ["app = web", "env in dev", "env in (a b)", "!", "app=web,,tier", "app=web,", "=web"])
def test_the_query_oracle_rejects_what_the_api_server_rejects(query: str) -> None:
    with pytest.raises(AssertionError, match="invalid requirement"):
        query_matches(query, {})
