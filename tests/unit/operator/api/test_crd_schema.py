"""Conventions every field of both CRDs must follow, checked on the YAML itself (no cluster)."""

import re

import pytest

from cenas_operator.api import GROUP, VERSION

PLURALS = ("nassearches", "nastrials")


def _types(node):
    """int-or-string nodes (quantities) are both, and must satisfy the rules of both."""
    if node.get("x-kubernetes-int-or-string"):
        return {"integer", "string"}
    return {node.get("type")}


@pytest.mark.parametrize("plural", PLURALS)
def test_names_scope_and_status_subresource(crds, plural):
    spec = crds[plural]["spec"]
    assert crds[plural]["metadata"]["name"] == f"{plural}.{GROUP}"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["cenas"]
    assert spec["names"]["shortNames"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("plural", PLURALS)
def test_every_field_is_described(nodes, plural):
    undescribed = [
        path for path, node in nodes(plural) if path not in ("", ".metadata") and not node.get("description")
    ]
    assert undescribed == []


@pytest.mark.parametrize("plural", PLURALS)
def test_integers_reject_negative_values(nodes, plural):
    signed = [
        path for path, node in nodes(plural) if "integer" in _types(node) and node.get("minimum", -1) < 0
    ]
    assert signed == []


@pytest.mark.parametrize("plural", PLURALS)
def test_strings_lists_and_maps_are_bounded(nodes, plural):
    # Unbounded values make the API server's CEL cost estimate explode and let objects grow without limit.
    unbounded = []
    for path, node in nodes(plural):
        if path in (".apiVersion", ".kind"):
            continue
        kinds = _types(node)
        if "string" in kinds and not ({"maxLength", "enum"} & set(node) or node.get("format") == "date-time"):
            unbounded.append(path)
        if "array" in kinds and "maxItems" not in node:
            unbounded.append(path)
        if isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
            unbounded.append(path)
    assert unbounded == []


@pytest.mark.parametrize("plural", PLURALS)
def test_required_fields_have_no_default(nodes, plural):
    # A defaulted field is never missing, so listing it as required would make removing it a no-op.
    both = [
        f"{path}.{name}"
        for path, node in nodes(plural)
        for name in node.get("required", [])
        if "default" in node["properties"][name]
    ]
    assert both == []


@pytest.mark.parametrize("plural", PLURALS)
def test_list_maps_are_keyed_by_required_fields(nodes, plural):
    list_maps = [(path, node) for path, node in nodes(plural) if node.get("x-kubernetes-list-type") == "map"]
    assert list_maps
    for path, node in list_maps:
        assert set(node["x-kubernetes-list-map-keys"]) <= set(node["items"]["required"]), path


@pytest.mark.parametrize("plural", PLURALS)
def test_cel_rules_have_messages_that_name_a_field(nodes, plural):
    rules = [rule for _, node in nodes(plural) for rule in node.get("x-kubernetes-validations", [])]
    assert len(rules) >= 5
    for rule in rules:
        assert re.match(r"^(spec|metadata)\.[a-zA-Z]", rule["message"]), rule


@pytest.mark.parametrize("plural", PLURALS)
def test_no_phase_state_machine(nodes, plural):
    assert [path for path, _ in nodes(plural) if path.endswith(".phase")] == []


@pytest.mark.parametrize("plural", PLURALS)
def test_conditions_follow_metav1_condition(schemas, plural):
    conditions = schemas[plural]["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "lastTransitionTime", "reason", "message"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"


def _resolve(schema, json_path):
    """The schema node a printer column's simple JSONPath points at."""
    node = schema
    for step in re.sub(r"\[\?\(.*?\)\]", "[]", json_path).lstrip(".").split("."):
        name, is_list = step.removesuffix("[]"), step.endswith("[]")
        node = node["properties"][name]
        if is_list:
            node = node["items"]
    return node


@pytest.mark.parametrize("plural", PLURALS)
def test_printer_columns_point_at_fields_of_their_type(crds, schemas, plural):
    columns = crds[plural]["spec"]["versions"][0]["additionalPrinterColumns"]
    for column in columns:
        path = column["jsonPath"]
        if path.startswith(".metadata"):
            continue
        node = _resolve(schemas[plural], path)
        assert node["type"] == column["type"], path
    assert columns[-1] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
