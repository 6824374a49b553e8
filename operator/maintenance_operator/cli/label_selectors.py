"""Label selectors as `kubectl -l` writes them (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), parsed into a
metav1.LabelSelector, with a clear message for what a LabelSelector cannot hold."""

import re
from collections.abc import Sequence
from typing import Any

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|[^\s,()=!]+)")


class SelectorError(ValueError):
    """Why a selector string is not a label selector; the text names the part that is wrong."""


def parse_selector(text: str) -> dict[str, Any]:
    """`a=b,c!=d,e in (x,y),f notin (z),g,!h` as a metav1.LabelSelector (`{}` for an empty string), as
    `kubectl -l` reads it. `=`/`==` become matchLabels, `!=` a NotIn of one value; `>` and `<` are refused, as
    a LabelSelector cannot hold them."""
    tokens = _tokens(text)
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    i = 0
    while i < len(tokens):
        i, requirement = _requirement(tokens, i, text)
        if isinstance(requirement, tuple):
            key, value = requirement
            if key in match_labels and match_labels[key] != value:
                raise SelectorError(f"{text!r}: {key}={match_labels[key]} and {key}={value} never both hold")
            match_labels[key] = value
        else:
            expressions.append(requirement)
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(f"{text!r}: expected ',' before {tokens[i]!r}")
            i += 1
            if i == len(tokens):
                raise SelectorError(f"{text!r}: a requirement must follow the last ','")
    selector: dict[str, Any] = {}
    if match_labels:
        selector["matchLabels"] = match_labels
    if expressions:
        selector["matchExpressions"] = expressions
    return selector


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        found = _TOKEN.match(text, position)
        if found is None:  # pragma: no cover - the pattern matches any non-blank character
            raise SelectorError(f"{text!r}: cannot read {text[position:]!r}")
        tokens.append(found.group(1))
        position = found.end()
    if any("<" in token or ">" in token for token in tokens):
        raise SelectorError(f"{text!r}: '<' and '>' cannot be stored in a label selector")
    return tokens


def _key(token: str | None, text: str) -> str:
    if token is None or token in ("==", "!=", "=", "!", "(", ")", ","):
        raise SelectorError(f"{text!r}: expected a label key, found {token or 'the end'!r}")
    if len(token.rpartition("/")[2]) > 63 or len(token.partition("/")[0]) > 253 or not _KEY.match(token):
        raise SelectorError(
            f"{text!r}: {token!r} is not a label key (at most 63 letters, digits, '-', '_', '.', optionally "
            "after a DNS prefix and '/')"
        )
    return token


def _value(token: str | None, key: str, text: str) -> str:
    if token is None or token in ("==", "!=", "=", "!", "(", ")", ","):
        raise SelectorError(f"{text!r}: expected a value for {key}, found {token or 'the end'!r}")
    if len(token) > 63 or not _VALUE.match(token):
        raise SelectorError(f"{text!r}: {token!r} is not a label value (at most 63 letters, digits, '-', '_', '.')")
    return token


def _at(tokens: Sequence[str], i: int) -> str | None:
    return tokens[i] if i < len(tokens) else None


def _requirement(tokens: Sequence[str], i: int, text: str) -> tuple[int, tuple[str, str] | dict[str, Any]]:
    """One requirement from `tokens[i]`: the next index, and (key, value) for equality or an expression."""
    if tokens[i] == "!":
        return i + 2, {"key": _key(_at(tokens, i + 1), text), "operator": "DoesNotExist"}
    key = _key(tokens[i], text)
    op = _at(tokens, i + 1)
    if op in (None, ","):
        return i + 1, {"key": key, "operator": "Exists"}
    if op in ("=", "==", "!="):
        # `a=` is the empty value, as kubectl reads it
        empty = _at(tokens, i + 2) in (None, ",")
        value = "" if empty else _value(_at(tokens, i + 2), key, text)
        end = i + 2 if empty else i + 3
        if op == "!=":
            return end, {"key": key, "operator": "NotIn", "values": [value]}
        return end, (key, value)
    if op in ("in", "notin"):
        if _at(tokens, i + 2) != "(":
            raise SelectorError(f"{text!r}: expected '(' after {key} {op}")
        values: list[str] = []
        j = i + 3
        while True:
            values.append(_value(_at(tokens, j), key, text))
            sep = _at(tokens, j + 1)
            if sep == ")":
                break
            if sep != ",":
                raise SelectorError(f"{text!r}: expected ',' or ')' in the values of {key} {op}")
            j += 2
        return j + 2, {"key": key, "operator": "In" if op == "in" else "NotIn", "values": sorted(set(values))}
    raise SelectorError(f"{text!r}: expected =, ==, !=, in or notin after {key}, found {op!r}")
