"""Generate CustomResourceDefinitions from the pydantic models, so schema and code cannot disagree.

pydantic emits JSON Schema with `$ref`s, `anyOf [X, null]` for optionals and titles; Kubernetes wants a
structural schema: everything inlined, one type per node, no nulls. `structural()` does that translation.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from maintenance_operator.api import names
from maintenance_operator.api.resources import RESOURCES, Resource

_DROP = {"title", "$defs"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {name: _resolve(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _resolve(value, defs)
    if "anyOf" in out:
        branches = [b for b in out.pop("anyOf") if b.get("type") != "null"]
        if (either := _string_or_list(branches)) is not None:
            return {**either, **out}
        if len(branches) != 1:
            raise ValueError(f"cannot express a union of {len(branches)} types in a structural schema")
        out = {**branches[0], **out}
    if out.get("additionalProperties") is False:
        # Structural schemas forbid it; unknown fields are pruned, and kubectl's strict validation rejects them.
        del out["additionalProperties"]
    if out.get("default", 0) is None:
        del out["default"]
    elif isinstance(out.get("default"), dict):
        out["default"] = _without_nulls(out["default"])
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def _string_or_list(branches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A string, or a list of such strings (`noticeBefore: 72h` or `[168h, 24h]`), as a structural schema.

    A structural schema has one type per node, so the node has none and keeps what it gets
    (`x-kubernetes-preserve-unknown-fields`); the API server still checks a string's pattern and length, and a
    list's items and size (each keyword applies only to values of its own type). Other types (a number, an
    object) pass admission and the operator reports them in the Ready condition.
    """
    if len(branches) != 2:
        return None
    text, many = sorted(branches, key=lambda b: str(b.get("type")), reverse=True)
    if text.get("type") != "string" or many.get("type") != "array" or many.get("items") != text:
        return None
    string_rules = {k: v for k, v in text.items() if k != "type"}
    list_rules = {k: v for k, v in many.items() if k != "type"}
    return {"x-kubernetes-preserve-unknown-fields": True, **string_rules, **list_rules}


def structural(model: type[Any]) -> dict[str, Any]:
    """The model's validation schema as a Kubernetes structural schema."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return dict(_resolve(schema, schema.get("$defs", {})))


def _without_nulls(node: Any) -> Any:
    """A default as the API server accepts it: a model's unset optionals (None, at any depth) left out."""
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    return node


def _without_defaults(node: Any) -> Any:
    """Status shows what the operator wrote; server-side defaults there would invent values."""
    if isinstance(node, list):
        return [_without_defaults(n) for n in node]
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    return node


def crd(resource: Resource) -> dict[str, Any]:
    spec_schema = structural(resource.spec)
    status_schema = _without_defaults(structural(resource.status))
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "jsonPath": c.json_path,
            **({"description": c.description} if c.description else {}),
            **({"priority": c.priority} if c.priority else {}),
        }
        for c in resource.columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{resource.plural}.{names.GROUP}"},
        "spec": {
            "group": names.GROUP,
            "scope": resource.scope,
            "names": {
                "kind": resource.kind,
                "listKind": f"{resource.kind}List",
                "plural": resource.plural,
                "singular": resource.singular,
                "shortNames": resource.short_names,
                "categories": ["maintenance-operator"],  # not "maintenance": the Maintenance kind's singular
            },
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": resource.description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def render(resource: Resource) -> str:
    header = "# Generated by `make crds` from maintenance_operator.api; do not edit.\n"
    return header + yaml.safe_dump(crd(resource), sort_keys=False, width=120)


def file_name(resource: Resource) -> str:
    return f"{names.GROUP}_{resource.plural}.yaml"


def kustomization() -> str:
    """crds/ as one kustomize resource (`kubectl apply -k crds`; deploy/base includes it)."""
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(file_name(r) for r in RESOURCES),
    }
    return "# Generated by `make crds`; do not edit.\n" + yaml.safe_dump(body, sort_keys=False)


def rendered_files() -> dict[str, str]:
    return {**{file_name(r): render(r) for r in RESOURCES}, "kustomization.yaml": kustomization()}


def main(argv: list[str] | None = None) -> int:
    out_dir = Path((argv if argv is not None else sys.argv[1:] or ["crds"])[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered_files().items():
        (out_dir / name).write_text(text)
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
