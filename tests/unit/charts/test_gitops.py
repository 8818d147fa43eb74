"""docs/gitops/: the Argo CD health checks run in Lua 5.1 (the dialect of Argo CD's gopher-lua) on
NASSearch/NASTrial objects shaped like docs/API.md's conditions, the argocd-cm copy equals the .lua files,
and the Argo CD and Flux examples' values render through the chart."""

from __future__ import annotations

import pytest
import yaml
from lupa import lua51


@pytest.fixture(scope="module")
def gitops(chart):
    return chart.repo / "docs" / "gitops"


def health(script: str, obj: dict) -> tuple[str, str]:
    """Run an Argo CD health script: `obj` is a global Lua table, the script returns {status, message}."""
    lua = lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)  # lists become 1-based arrays, as in Argo CD
    result = lua.execute(script)
    return result["status"], result["message"]


def cond(kind: str, status: str, reason: str = "R", message: str = "") -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2026-11-23T00:00:00Z"}


def search(*conditions: dict, generation: int = 2, observed: int = 2) -> dict:
    return {"apiVersion": "cenas.dev/v1alpha1", "kind": "NASSearch",
            "metadata": {"name": "s", "generation": generation},
            "status": {"observedGeneration": observed, "conditions": list(conditions)}}


SEARCH_CASES = [
    ({"apiVersion": "cenas.dev/v1alpha1", "kind": "NASSearch", "metadata": {"name": "s", "generation": 1}},
     "Progressing", "Waiting for the cenas operator"),
    (search(cond("Ready", "True"), generation=3, observed=2), "Progressing", "observe generation 3"),
    (search(cond("Ready", "False", "InvalidSpec", "spec.gpus.max too small")), "Degraded",
     "InvalidSpec: spec.gpus.max too small"),
    (search(cond("Ready", "True"), cond("Complete", "True", "CarbonBudgetReached")), "Healthy",
     "Complete: CarbonBudgetReached"),
    (search(cond("Ready", "True"), cond("Suspended", "True", "UserSuspended")), "Suspended", "UserSuspended"),
    (search(cond("Ready", "True"), cond("Progressing", "True", "TrialsRunning")), "Healthy", "Running trials"),
    (search(cond("Ready", "True"), cond("Progressing", "False", "WaitingForLowIntensity")), "Healthy",
     "Waiting: WaitingForLowIntensity"),
    (search(cond("Ready", "True"), cond("Progressing", "True"), cond("ForecastAvailable", "False", "ForecastStale")),
     "Healthy", "rule-based fallback: ForecastStale"),
]


@pytest.mark.parametrize(("obj", "status", "message"), SEARCH_CASES)
def test_nassearch_health(gitops, obj, status, message) -> None:
    got_status, got_message = health((gitops / "health-nassearch.lua").read_text(), obj)
    assert got_status == status
    assert message in got_message


def trial(*conditions: dict, **status) -> dict:
    return {"apiVersion": "cenas.dev/v1alpha1", "kind": "NASTrial", "metadata": {"name": "t"},
            "status": {"conditions": list(conditions), **status}}


TRIAL_CASES = [
    ({"apiVersion": "cenas.dev/v1alpha1", "kind": "NASTrial", "metadata": {"name": "t"}}, "Progressing", "Pending"),
    (trial(cond("Running", "True"), progress={"step": 41200, "totalSteps": 78200}), "Healthy",
     "step 41200/78200"),
    (trial(cond("Running", "False"), cond("Suspended", "True", "LowIntensityWait")), "Suspended",
     "LowIntensityWait"),
    (trial(cond("Complete", "True")), "Healthy", "Complete"),
    (trial(cond("Running", "False"), cond("Failed", "True", "BackoffLimitExceeded", "exit 1")), "Degraded",
     "BackoffLimitExceeded: exit 1"),
]


@pytest.mark.parametrize(("obj", "status", "message"), TRIAL_CASES)
def test_nastrial_health(gitops, obj, status, message) -> None:
    got_status, got_message = health((gitops / "health-nastrial.lua").read_text(), obj)
    assert got_status == status
    assert message in got_message


def test_argocd_cm_embeds_the_scripts_verbatim(gitops) -> None:
    data = yaml.safe_load((gitops / "argocd-cm-health.yaml").read_text())["data"]
    assert data["resource.customizations.health.cenas.dev_NASSearch"] == (gitops / "health-nassearch.lua").read_text()
    assert data["resource.customizations.health.cenas.dev_NASTrial"] == (gitops / "health-nastrial.lua").read_text()


def test_example_values_render_through_the_chart(chart, gitops, tmp_path) -> None:
    argo = [d for d in yaml.safe_load_all((gitops / "argocd-application.yaml").read_text())
            if d["spec"]["source"].get("path") == "charts/cenas"]
    flux = [d for d in yaml.safe_load_all((gitops / "flux-helmrelease.yaml").read_text()) if d["kind"] == "HelmRelease"]
    assert len(argo) == len(flux) == 1
    assert flux[0]["spec"]["upgrade"]["crds"] == "CreateReplace"
    for name, values in (("argo", argo[0]["spec"]["source"]["helm"]["valuesObject"]), ("flux", flux[0]["spec"]["values"])):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values))
        docs = chart.render(path)
        assert chart.one(docs, "Deployment", "-operator")
