"""Fixtures for the Helm chart tests: the helm binary from `make testbin` (a missing binary fails, it is
never skipped) and a renderer returning the manifests as dicts."""

from __future__ import annotations

import copy
import functools
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "cenas"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = "1.37.2"  # the control plane of hack/testbin; helm's own default (1.20) is below kubeVersion


def helm_binary() -> Path:
    helm = REPO / ".testbin" / "helm"
    if not helm.exists():
        pytest.fail(f"{helm} is missing: run `make testbin` (make test does)")
    return helm


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(helm_binary()), *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@functools.lru_cache(maxsize=64)
def _render(values: Path | None, namespace: str, release: str, sets: tuple[str, ...]) -> list[dict]:
    args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    if values is not None:
        args += ["-f", str(values)]
    for item in sets:
        args += ["--set", item]
    out = run_helm(*args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render(values: Path | None = None, *, namespace: str = "cenas-system", release: str = "cenas",
           sets: tuple[str, ...] = ()) -> list[dict]:
    """`helm template` as a list of manifests (cached per arguments; the caller gets its own copy)."""
    return copy.deepcopy(_render(values, namespace, release, tuple(sets)))


def find(docs: list[dict], kind: str, name_suffix: str = "") -> list[dict]:
    return [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]


def one(docs: list[dict], kind: str, name_suffix: str = "") -> dict:
    found = find(docs, kind, name_suffix)
    assert len(found) == 1, f"{kind} *{name_suffix}: {[d['metadata']['name'] for d in found]}"
    return found[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`ci_values`: every charts/cenas/ci/*-values.yaml, one test per file (ids are the file names)."""
    if "ci_values" in metafunc.fixturenames:
        metafunc.parametrize("ci_values", CI_VALUES, ids=[p.name for p in CI_VALUES])


class Chart:
    """The helpers as one fixture (with --import-mode=importlib a test module cannot import conftest)."""

    path = CHART
    repo = REPO
    ci_values = CI_VALUES
    run_helm = staticmethod(run_helm)
    render = staticmethod(render)
    find = staticmethod(find)
    one = staticmethod(one)


@pytest.fixture(scope="session")
def chart() -> Chart:
    return Chart()
