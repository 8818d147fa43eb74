"""Every PromQL expression of the Grafana dashboard and the PrometheusRule parses (promql-parser, the
Prometheus grammar), and every metric it selects is exported by the code: cenas_operator.metrics, the
forecaster's registry, or `up`, which Prometheus itself writes for each scrape target."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest

from cenas_forecaster.service import metrics as forecaster_metrics
from cenas_operator import metrics as operator_metrics

PROMETHEUS_OWN = {"up"}
# Grafana's variables, replaced by values of the right shape before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1d", "$__interval": "1m"}
LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.+),\s*(?P<label>[a-zA-Z_]\w*)\)$")


def exported() -> set[str]:
    return (operator_metrics.metric_names() | operator_metrics.metric_names(forecaster_metrics.REGISTRY)
            | PROMETHEUS_OWN)


def selected_metrics(expr: str) -> set[str]:
    """Metric names of every vector selector in `expr` (by name or by a __name__="..." matcher)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    expr = re.sub(r"\$\{?\w+\}?", "x", expr)  # $namespace, ${location}: inside quoted matchers
    names: set[str] = set()
    unnamed: list[str] = []

    def visit(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
                return
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__" and str(matcher.op) == "MatchOp.Equal":
                    names.add(matcher.value)
                    return
            unnamed.append(str(node))

    promql_parser.walk(promql_parser.parse(expr), visit)
    assert not unnamed, f"selectors without a metric name cannot be checked: {unnamed}"
    return names


def dashboard_expressions(dashboard: dict) -> list[str]:
    exprs = []
    for panel in dashboard["panels"]:
        for sub in [panel, *panel.get("panels", [])]:
            exprs += [t["expr"] for t in sub.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = LABEL_VALUES.match(query)
            assert match, f"variable {variable['name']}: only label_values(<expr>, <label>) is used"
            exprs.append(match["expr"])
    return exprs


@pytest.fixture(scope="module")
def monitoring(chart):
    docs = chart.render(chart.path / "ci" / "monitoring-values.yaml")
    configmap = chart.one(docs, "ConfigMap", "-dashboard")
    dashboard = json.loads(configmap["data"]["cenas-overview.json"])
    rule = chart.one(docs, "PrometheusRule")
    return dashboard, rule, configmap


def test_the_checker_finds_names_and_refuses_bad_promql() -> None:
    assert selected_metrics('sum by (le) (rate(a_bucket{x=~"$namespace"}[$__rate_interval])) / b') == {"a_bucket", "b"}
    assert selected_metrics('{__name__="c_total"}') == {"c_total"}
    assert "cenas_not_a_metric_total" not in exported()
    with pytest.raises(ValueError):
        selected_metrics("sum(rate(cenas_gpus[5m])")


def test_every_dashboard_expression_parses_and_uses_exported_metrics(monitoring) -> None:
    dashboard, _, _ = monitoring
    exprs = dashboard_expressions(dashboard)
    assert len(exprs) >= 15
    used: set[str] = set()
    for expr in exprs:
        names = selected_metrics(expr)
        assert names, expr
        assert names <= exported(), f"{expr!r} uses {names - exported()}, which no code exports"
        used |= names
    # the panels the issue asks for
    for required in ("cenas_grid_carbon_intensity_grams_per_kilowatt_hour",
                     "cenas_grid_carbon_intensity_forecast_grams_per_kilowatt_hour", "cenas_gpus",
                     "cenas_emissions_grams_total", "cenas_emissions_counterfactual_grams_total",
                     "cenas_emissions_avoided_grams", "cenas_trials", "cenas_policy_decisions_total"):
        assert required in used, required


def test_every_alert_expression_parses_and_uses_exported_metrics(monitoring) -> None:
    _, rule, _ = monitoring
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert {"CenasCarbonBudgetNearlySpent", "CenasDeadlineAtRisk", "CenasForecastStale",
            "CenasOperatorDown"} <= set(alerts)
    for name, alert in alerts.items():
        names = selected_metrics(alert["expr"])
        assert names and names <= exported(), f"{name}: {names - exported()}"
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["labels"]["team"] == "ml-platform"  # prometheusRule.alertLabels
        assert alert["annotations"]["summary"]


def test_alert_thresholds_come_from_values(monitoring) -> None:
    _, rule, _ = monitoring
    alerts = {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert alerts["CenasCarbonBudgetNearlySpent"].strip().endswith("> 0.8")
    assert alerts["CenasDeadlineAtRisk"].strip().endswith("< 3600")


def test_operator_down_watches_the_operator_metrics_service(chart, monitoring) -> None:
    _, rule, _ = monitoring
    docs = chart.render(chart.path / "ci" / "monitoring-values.yaml")
    service = chart.one(docs, "Service", "-operator-metrics")["metadata"]["name"]
    alerts = {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert f'job="{service}"' in alerts["CenasOperatorDown"]
    monitors = {m["metadata"]["name"]: m for m in chart.find(docs, "ServiceMonitor")}
    assert set(monitors) == {"cenas-operator", "cenas-forecaster"}
    operator_monitor = monitors["cenas-operator"]["spec"]
    labels = chart.one(docs, "Service", "-operator-metrics")["metadata"]["labels"]
    assert operator_monitor["selector"]["matchLabels"].items() <= labels.items()
    assert operator_monitor["endpoints"][0]["port"] == "metrics"


def test_dashboard_configmap_carries_the_sidecar_label(monitoring) -> None:
    dashboard, _, configmap = monitoring
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "cenas"}
    assert dashboard["uid"] == "cenas-overview"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_monitoring_objects_are_off_by_default(chart) -> None:
    kinds = {d["kind"] for d in chart.render()}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "ConfigMap"}


def test_every_operator_metric_is_on_the_dashboard_or_in_an_alert(monitoring) -> None:
    dashboard, rule, _ = monitoring
    exprs = dashboard_expressions(dashboard) + [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    used = set().union(*(selected_metrics(e) for e in exprs))
    families = {f.name + ("_total" if f.type == "counter" else "_bucket" if f.type == "histogram" else "")
                for f in operator_metrics.REGISTRY.collect()}
    assert families - used == set()
