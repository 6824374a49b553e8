"""metav1.LabelSelector matching, so windows can pick targets from an in-memory index without a LIST."""

from collections.abc import Mapping
from typing import Any


def selector_problem(selector: Mapping[str, Any]) -> str | None:
    """Why a selector is invalid (the API server would reject it in a LIST), or None."""
    for i, expr in enumerate(selector.get("matchExpressions") or ()):
        op, values = expr.get("operator"), expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            return f"selector.matchExpressions[{i}]: operator {op} needs at least one value"
        if op in ("Exists", "DoesNotExist") and values:
            return f"selector.matchExpressions[{i}]: operator {op} takes no values"
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return f"selector.matchExpressions[{i}]: unknown operator {op!r}; use In, NotIn, Exists or DoesNotExist"
    return None


def matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes semantics: all matchLabels and all matchExpressions must hold; `{}` matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def to_query(selector: Mapping[str, Any]) -> str:
    """The `labelSelector` query string form, for server-side filtering."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], sorted(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)
