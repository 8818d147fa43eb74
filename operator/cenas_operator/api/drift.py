"""Drift check: do the Python types accept exactly what the CRD schema accepts?

Both sides are reduced to the same canonical form (type, format, enum, bounds, pattern, default,
required, nested properties) and compared; descriptions, CEL rules and list-type markers exist only
in the CRD and are not compared. The unit tests run this on every commit.
"""

from typing import Any

from pydantic import BaseModel

# Value constraints both sides express the same way.
_COMPARED = (
    "type",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
)

Node = dict[str, Any]


def model_drift(model: type[BaseModel], crd_schema: Node, path: str = "") -> list[str]:
    """Differences between a pydantic model and a CRD schema node, one message each; [] when none."""
    python = model.model_json_schema(by_alias=True, mode="validation")
    defs = python.get("$defs", {})
    problems: list[str] = []
    _diff(_canonical(crd_schema, {}), _canonical(python, defs), path or model.__name__, problems)
    return problems


def resource_drift(
    model: type[BaseModel], spec: type[BaseModel], status: type[BaseModel], crd_schema: Node
) -> list[str]:
    """Drift of a whole resource: its top-level fields, spec and status."""
    problems: list[str] = []
    fields = {f.alias or name for name, f in model.model_fields.items()}
    crd_fields = set(crd_schema.get("properties", {}))
    if fields != crd_fields:
        problems.append(f"top-level fields: CRD {sorted(crd_fields)} but Python {sorted(fields)}")
    properties = crd_schema.get("properties", {})
    problems += model_drift(spec, properties.get("spec", {}), "spec")
    problems += model_drift(status, properties.get("status", {}), "status")
    return problems


def _resolve(node: Node, defs: Node) -> Node:
    """Inline a pydantic $ref; keys beside the $ref (default) win over the definition's."""
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _canonical(node: Node, defs: Node) -> Node:
    node = _resolve(node, defs)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if _resolve(b, defs).get("type") != "null"]
        rest = {k: v for k, v in node.items() if k not in ("anyOf", "x-kubernetes-int-or-string")}
        if len(branches) == 1:  # Optional[X]: the null branch only means "may be absent".
            node = {**_resolve(branches[0], defs), **rest}
        else:
            node = _int_or_string(branches, rest, defs)
    out = {key: node[key] for key in _COMPARED if key in node}
    if out.get("default", 0) is None:
        del out["default"]
    if "enum" in out:
        out["enum"] = sorted(out["enum"])
    if node.get("format") == "date-time":  # int32/int64 formats have no pydantic counterpart
        out["format"] = "date-time"
    if "properties" in node:
        out["properties"] = {k: _canonical(v, defs) for k, v in node["properties"].items()}
        out["required"] = sorted(node.get("required", []))
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _canonical(node["additionalProperties"], defs)
    if "items" in node:
        out["items"] = _canonical(node["items"], defs)
    return out


def _int_or_string(branches: list[Node], rest: Node, defs: Node) -> Node:
    """The CRD puts int-or-string constraints beside the two bare branches; pydantic puts them in
    the branches. Both become one node of type int-or-string with all the constraints."""
    merged: Node = {}
    types = set()
    for branch in branches:
        branch = _resolve(branch, defs)
        types.add(branch.get("type"))
        merged.update({k: v for k, v in branch.items() if k != "type"})
    if types != {"integer", "string"}:
        raise ValueError(f"unsupported union of {sorted(map(str, types))}")
    return {**merged, **rest, "type": "int-or-string"}


def _diff(crd: Node, python: Node, path: str, problems: list[str]) -> None:
    for key in sorted(set(crd) | set(python)):
        left, right = crd.get(key), python.get(key)
        if key == "properties":
            left, right = left or {}, right or {}
            for name in sorted(set(left) - set(right)):
                problems.append(f"{path}.{name}: in the CRD but not in Python")
            for name in sorted(set(right) - set(left)):
                problems.append(f"{path}.{name}: in Python but not in the CRD")
            for name in sorted(set(left) & set(right)):
                _diff(left[name], right[name], f"{path}.{name}", problems)
        elif key in ("items", "additionalProperties") and left is not None and right is not None:
            _diff(left, right, f"{path}[]" if key == "items" else f"{path}{{}}", problems)
        elif left != right:
            problems.append(f"{path}: {key} is {left!r} in the CRD but {right!r} in Python")
