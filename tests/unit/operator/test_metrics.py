"""The operator's metrics: names, types and label sets of DESIGN.md section 7, and the update helpers."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cenas_operator import metrics
from cenas_operator.api.nassearch import CarbonMode, DecisionAction

EXPECTED = {
    # name (as exposed), type, label names
    "cenas_emissions_grams_total": ("counter", ("namespace", "nassearch")),
    "cenas_emissions_counterfactual_grams_total": ("counter", ("namespace", "nassearch")),
    "cenas_emissions_avoided_grams": ("gauge", ("namespace", "nassearch")),
    "cenas_energy_joules_total": ("counter", ("namespace", "nassearch")),
    "cenas_search_carbon_budget_grams": ("gauge", ("namespace", "nassearch")),
    "cenas_search_carbon_budget_remaining_grams": ("gauge", ("namespace", "nassearch")),
    "cenas_search_deadline_slack_seconds": ("gauge", ("namespace", "nassearch")),
    "cenas_grid_carbon_intensity_grams_per_kilowatt_hour": ("gauge", ("location",)),
    "cenas_grid_carbon_intensity_forecast_grams_per_kilowatt_hour": ("gauge", ("location",)),
    "cenas_forecast_issued_timestamp_seconds": ("gauge", ("location",)),
    "cenas_gpus": ("gauge", ("state",)),
    "cenas_trials": ("gauge", ("phase",)),
    "cenas_policy_decisions_total": ("counter", ("action", "mode")),
    "cenas_forecast_requests_total": ("counter", ()),
    "cenas_forecast_failures_total": ("counter", ()),
    "cenas_reconcile_duration_seconds": ("histogram", ()),
    "cenas_decision_actuation_seconds": ("histogram", ()),
    "cenas_checkpoint_lost_work_seconds_total": ("counter", ()),
}


def _families() -> dict:
    return {m._name if m._type != "counter" else m._name + "_total": m
            for m in metrics.REGISTRY._names_to_collectors.values()}


def value(name: str, **labels: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, labels)


@pytest.fixture
def search() -> tuple[str, str]:
    return f"ns-{uuid.uuid4().hex[:8]}", "s1"


def test_names_types_and_labels_are_the_designed_ones() -> None:
    families = _families()
    assert set(families) == set(EXPECTED)
    for name, (kind, labels) in EXPECTED.items():
        assert families[name]._type == kind, name
        assert tuple(families[name]._labelnames) == labels, name


def test_naming_conventions() -> None:
    for name, (kind, _) in EXPECTED.items():
        assert name.startswith("cenas_")
        assert name.endswith("_total") == (kind == "counter"), name
        # grams per kWh is the one non-base unit, by convention of the grid-intensity literature (design)
        rest = name.replace("_grams_per_kilowatt_hour", "")
        assert not any(unit in rest for unit in ("_kilo", "_milli", "_hours", "_minutes", "_kg")), name


def test_every_metric_has_a_docstring_naming_its_meaning() -> None:
    for collector in metrics.REGISTRY._names_to_collectors.values():
        assert len(collector._documentation) > 30, collector._name


def test_exposition_parses_and_enum_labels_start_at_zero() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    gpu_states = {s.labels["state"] for s in parsed["cenas_gpus"].samples}
    assert gpu_states == set(metrics.GPU_STATES)
    decisions = {(s.labels["action"], s.labels["mode"]) for s in parsed["cenas_policy_decisions"].samples
                 if s.name == "cenas_policy_decisions_total"}
    assert decisions == {(a.value, m.value) for a in DecisionAction for m in CarbonMode}


def test_add_carbon_accumulates_and_refuses_negative(search) -> None:
    ns, name = search
    metrics.add_carbon(ns, name, grams=10.0, counterfactual_grams=25.0, energy_joules=3.6e6)
    metrics.add_carbon(ns, name, grams=5.0, counterfactual_grams=1.0, energy_joules=1.0)
    assert value("cenas_emissions_grams_total", namespace=ns, nassearch=name) == 15.0
    assert value("cenas_emissions_counterfactual_grams_total", namespace=ns, nassearch=name) == 26.0
    assert value("cenas_energy_joules_total", namespace=ns, nassearch=name) == 3.6e6 + 1.0
    with pytest.raises(ValueError, match="grams must be >= 0"):
        metrics.add_carbon(ns, name, grams=-1.0, counterfactual_grams=0.0, energy_joules=0.0)
    assert value("cenas_emissions_grams_total", namespace=ns, nassearch=name) == 15.0


def test_avoided_is_a_signed_gauge(search) -> None:
    ns, name = search
    metrics.set_search_status(ns, name, avoided_grams=120.0, budget_grams=1000.0, emitted_grams=400.0,
                              deadline_slack_seconds=3600.0)
    assert value("cenas_emissions_avoided_grams", namespace=ns, nassearch=name) == 120.0
    metrics.set_search_status(ns, name, avoided_grams=-30.5, budget_grams=1000.0, emitted_grams=950.0,
                              deadline_slack_seconds=-60.0)
    assert value("cenas_emissions_avoided_grams", namespace=ns, nassearch=name) == -30.5
    assert value("cenas_search_carbon_budget_remaining_grams", namespace=ns, nassearch=name) == 50.0
    assert value("cenas_search_carbon_budget_grams", namespace=ns, nassearch=name) == 1000.0
    assert value("cenas_search_deadline_slack_seconds", namespace=ns, nassearch=name) == -60.0


def test_unset_budget_or_deadline_removes_the_series(search) -> None:
    ns, name = search
    metrics.set_search_status(ns, name, avoided_grams=0.0, budget_grams=10.0, emitted_grams=1.0,
                              deadline_slack_seconds=5.0)
    metrics.set_search_status(ns, name, avoided_grams=0.0, budget_grams=None, emitted_grams=1.0,
                              deadline_slack_seconds=None)
    for gone in ("cenas_search_carbon_budget_grams", "cenas_search_carbon_budget_remaining_grams",
                 "cenas_search_deadline_slack_seconds"):
        assert value(gone, namespace=ns, nassearch=name) is None, gone


def test_remove_search_drops_every_per_search_series(search) -> None:
    ns, name = search
    metrics.add_carbon(ns, name, grams=1.0, counterfactual_grams=2.0, energy_joules=3.0)
    metrics.set_search_status(ns, name, avoided_grams=1.0, budget_grams=10.0, emitted_grams=1.0,
                              deadline_slack_seconds=5.0)
    metrics.remove_search(ns, name)
    metrics.remove_search(ns, name)  # idempotent
    text = generate_latest(metrics.REGISTRY).decode()
    assert f'namespace="{ns}"' not in text
    assert {m._labelnames for m in metrics.PER_SEARCH} == {("namespace", "nassearch")}


def test_totals_fill_missing_with_zero_and_reject_unknown_labels() -> None:
    metrics.set_totals({"running": 3, "target": 4, "sampling": 1, "evaluation": 3}, {"running": 2})
    assert value("cenas_gpus", state="target") == 4
    assert value("cenas_trials", phase="running") == 2
    metrics.set_totals({"running": 1}, {})
    assert value("cenas_gpus", state="target") == 0
    assert value("cenas_trials", phase="running") == 0
    with pytest.raises(ValueError, match="unknown state"):
        metrics.set_totals({"my-trial-00001": 1}, {})
    with pytest.raises(ValueError, match="unknown phase"):
        metrics.set_totals({}, {"Running": 1})


def test_decisions_accept_only_the_api_enums() -> None:
    before = value("cenas_policy_decisions_total", action="ScaleUp", mode="Shadow")
    metrics.record_decision(DecisionAction.SCALE_UP, "Shadow")
    assert value("cenas_policy_decisions_total", action="ScaleUp", mode="Shadow") == before + 1
    with pytest.raises(ValueError):
        metrics.record_decision("scale-up", CarbonMode.ACTIVE)


def test_forecast_request_hook_counts_failures() -> None:
    requests = value("cenas_forecast_requests_total")
    failures = value("cenas_forecast_failures_total")
    metrics.record_forecast_request("/v1/forecasts/current", True)
    metrics.record_forecast_request("/v1/intensity/current", False)
    assert value("cenas_forecast_requests_total") == requests + 2
    assert value("cenas_forecast_failures_total") == failures + 1


def test_unknown_intensity_is_absent_never_zero() -> None:
    loc = f"L-{uuid.uuid4().hex[:6]}"
    metrics.set_forecast(loc, intensity_grams_per_kilowatt_hour=250.0,
                         next_hour_forecast_grams_per_kilowatt_hour=240.0, issued_timestamp=1.7e9)
    assert value("cenas_grid_carbon_intensity_grams_per_kilowatt_hour", location=loc) == 250.0
    metrics.set_forecast(loc, intensity_grams_per_kilowatt_hour=None,
                         next_hour_forecast_grams_per_kilowatt_hour=240.0, issued_timestamp=1.7e9)
    assert value("cenas_grid_carbon_intensity_grams_per_kilowatt_hour", location=loc) is None
    assert value("cenas_forecast_issued_timestamp_seconds", location=loc) == 1.7e9


def test_metric_names_cover_exposed_series_names() -> None:
    names = metrics.metric_names()
    assert {"cenas_reconcile_duration_seconds_bucket", "cenas_reconcile_duration_seconds_count",
            "cenas_emissions_grams_total", "cenas_gpus"} <= names
    assert "cenas_emissions_avoided_grams_total" not in names
