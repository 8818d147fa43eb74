"""The CRDs and examples as loaded once per run, and a walker over schema nodes."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cenas_operator.api.crds import CRD_DIR, load_crd, openapi_schema

EXAMPLES = sorted((CRD_DIR / "examples").glob("*.yaml"))
PLURALS = ("nassearches", "nastrials")

Node = dict[str, Any]


@pytest.fixture(scope="session")
def crds() -> dict[str, Node]:
    return {plural: load_crd(plural) for plural in PLURALS}


@pytest.fixture(scope="session")
def schemas(crds: dict[str, Node]) -> dict[str, Node]:
    return {plural: openapi_schema(crd) for plural, crd in crds.items()}


@pytest.fixture(scope="session")
def examples() -> dict[str, Node]:
    return {path.name: yaml.safe_load(path.read_text()) for path in EXAMPLES}


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every schema node with its field path (list items as [], map values as {})."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


@pytest.fixture(scope="session")
def nodes(schemas: dict[str, Node]) -> Callable[[str], list[tuple[str, Node]]]:
    return lambda plural: list(walk(schemas[plural]))


def example_path(name: str) -> Path:
    return CRD_DIR / "examples" / name
