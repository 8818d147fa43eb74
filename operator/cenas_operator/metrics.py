"""Prometheus metrics of the operator (DESIGN.md section 7): prefix `cenas_`, base units, `_total` on counters.

Every metric lives in `REGISTRY`, this module's own registry (like the forecaster's), so tests and the
operator's `/metrics` endpoint see exactly these series and nothing a library registered by accident.
The chart's Grafana dashboard and PrometheusRule may query only names defined here, in the forecaster's
registry, or Prometheus' own `up`; `tests/unit/charts/test_promql.py` checks that.

Label cardinality is bounded: `namespace`/`nassearch` exist once per search and `remove_search` drops them
when the search is deleted; every other label takes values from a fixed enum (`GPU_STATES`,
`TRIAL_PHASES`, `DecisionAction`, `CarbonMode`) or from the configured grid locations. No label names a
trial or a pod.

Avoided emissions, the one signed quantity. `status.carbon.avoidedGrams` = counterfactual - emitted is
negative when waiting turned out dirtier than running at once, and a Prometheus counter must never
decrease. So the operator exports
  - `cenas_emissions_counterfactual_grams_total`, a counter (the "run now at gpus.max" emissions only
    grow), and the avoided grams over any window are a PromQL difference:
    `increase(cenas_emissions_counterfactual_grams_total[1d]) - increase(cenas_emissions_grams_total[1d])`;
  - `cenas_emissions_avoided_grams`, a gauge without `_total` that mirrors `status.carbon.avoidedGrams`
    (the whole search so far, signed, and it survives an operator restart because status does).
The name `cenas_emissions_avoided_grams_total` of the design sketch is deliberately not used: a `_total`
that goes down breaks `rate()` and `increase()`, which would read every decrease as a counter reset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cenas_operator.api.nassearch import CarbonMode, DecisionAction

REGISTRY = CollectorRegistry(auto_describe=True)

SEARCH_LABELS = ("namespace", "nassearch")
GPU_STATES = ("running", "target", "sampling", "evaluation")
"""`cenas_gpus{state}`: as in NASSearch `status.gpus` (sampling + evaluation = target, the two pools)."""
TRIAL_PHASES = ("pending", "running", "suspended", "succeeded", "failed")
"""`cenas_trials{phase}`: as in NASSearch `status.trials`."""

# --- carbon (per search) ---------------------------------------------------------------------------
EMISSIONS = Counter(
    "cenas_emissions_grams_total",
    "Operational emissions of the search's trials in grams CO2e (energy x realized grid intensity).",
    SEARCH_LABELS, registry=REGISTRY,
)
COUNTERFACTUAL = Counter(
    "cenas_emissions_counterfactual_grams_total",
    "Grams CO2e the same work would have emitted run at once at spec.gpus.max (carbon-agnostic baseline); "
    "avoided grams = increase(this) - increase(cenas_emissions_grams_total).",
    SEARCH_LABELS, registry=REGISTRY,
)
AVOIDED = Gauge(
    "cenas_emissions_avoided_grams",
    "status.carbon.avoidedGrams: counterfactual minus emitted grams CO2e of the search so far; "
    "negative when waiting turned out dirtier.",
    SEARCH_LABELS, registry=REGISTRY,
)
ENERGY = Counter(
    "cenas_energy_joules_total",
    "Energy of the search's trials in joules (NVML where measured, else powerWatts x running time).",
    SEARCH_LABELS, registry=REGISTRY,
)
BUDGET = Gauge(
    "cenas_search_carbon_budget_grams",
    "spec.budget.carbonGrams of the search in grams CO2e (absent when the search has no carbon budget).",
    SEARCH_LABELS, registry=REGISTRY,
)
BUDGET_REMAINING = Gauge(
    "cenas_search_carbon_budget_remaining_grams",
    "spec.budget.carbonGrams minus status.carbon.emittedGrams in grams CO2e (from status: survives restarts).",
    SEARCH_LABELS, registry=REGISTRY,
)
DEADLINE_SLACK = Gauge(
    "cenas_search_deadline_slack_seconds",
    "Seconds to spec.budget.deadline minus the estimated time the remaining work needs at spec.gpus.max; "
    "negative means the deadline cannot be met (absent without a deadline).",
    SEARCH_LABELS, registry=REGISTRY,
)

# --- grid -----------------------------------------------------------------------------------------
INTENSITY = Gauge(
    "cenas_grid_carbon_intensity_grams_per_kilowatt_hour",
    "Newest observed grid carbon intensity the operator used, in grams CO2e per kWh.",
    ["location"], registry=REGISTRY,
)
INTENSITY_FORECAST = Gauge(
    "cenas_grid_carbon_intensity_forecast_grams_per_kilowatt_hour",
    "Median forecast of the grid carbon intensity for the coming hour, in grams CO2e per kWh, from the "
    "forecast the last decision used.",
    ["location"], registry=REGISTRY,
)
FORECAST_ISSUED = Gauge(
    "cenas_forecast_issued_timestamp_seconds",
    "Unix time at which the forecast in use for a location was issued (time() minus this is its age).",
    ["location"], registry=REGISTRY,
)

# --- control --------------------------------------------------------------------------------------
GPUS = Gauge(
    "cenas_gpus",
    "GPUs over all searches: running = held by running trial pods; target = allocated by the last "
    "decisions, split into the sampling pool (supernet, scoring) and the evaluation pool (full trainings).",
    ["state"], registry=REGISTRY,
)
TRIALS = Gauge(
    "cenas_trials",
    "NASTrials over all searches by phase (pending, running, suspended, succeeded, failed).",
    ["phase"], registry=REGISTRY,
)
DECISIONS = Counter(
    "cenas_policy_decisions_total",
    "Allocation decisions taken, by action (ScaleUp, ScaleDown, Hold, Suspend) and mode (Active, Shadow).",
    ["action", "mode"], registry=REGISTRY,
)
FORECAST_REQUESTS = Counter(
    "cenas_forecast_requests_total", "Requests to the forecaster (each after its retries).", registry=REGISTRY,
)
FORECAST_FAILURES = Counter(
    "cenas_forecast_failures_total",
    "Forecaster requests that failed after their retries (the cached forecast or the rule-based fallback "
    "was used).",
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "cenas_reconcile_duration_seconds", "Wall time of one reconciliation pass of a NASSearch, in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0), registry=REGISTRY,
)
ACTUATION_SECONDS = Histogram(
    "cenas_decision_actuation_seconds",
    "Wall time from the start of a pass that changed a search's trials to the end of its writes (trials "
    "created or flipped, their pods created or deleted), in seconds: how long a decision takes to act.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0), registry=REGISTRY,
)
LOST_WORK = Counter(
    "cenas_checkpoint_lost_work_seconds_total",
    "GPU-seconds of work lost by suspensions without a checkpoint report (unclean suspensions).",
    registry=REGISTRY,
)

PER_SEARCH = (EMISSIONS, COUNTERFACTUAL, AVOIDED, ENERGY, BUDGET, BUDGET_REMAINING, DEADLINE_SLACK)
"""Every metric labelled by (namespace, nassearch): the ones `remove_search` clears."""


def _pre_create() -> None:
    """Expose every enum label value at 0 from the start, so dashboards and alerts see 0, not 'no data'."""
    for state in GPU_STATES:
        GPUS.labels(state=state)
    for phase in TRIAL_PHASES:
        TRIALS.labels(phase=phase)
    for action in DecisionAction:
        for mode in CarbonMode:
            DECISIONS.labels(action=action.value, mode=mode.value)


_pre_create()


def add_carbon(namespace: str, nassearch: str, *, grams: float, counterfactual_grams: float,
               energy_joules: float) -> None:
    """Add one ledger interval of a search. Increments must be >= 0 (a counter never decreases)."""
    for value, what in ((grams, "grams"), (counterfactual_grams, "counterfactual_grams"),
                        (energy_joules, "energy_joules")):
        if value < 0:
            raise ValueError(f"{what} must be >= 0, got {value}")
    EMISSIONS.labels(namespace, nassearch).inc(grams)
    COUNTERFACTUAL.labels(namespace, nassearch).inc(counterfactual_grams)
    ENERGY.labels(namespace, nassearch).inc(energy_joules)


def set_search_status(namespace: str, nassearch: str, *, avoided_grams: float,
                      budget_grams: float | None, emitted_grams: float,
                      deadline_slack_seconds: float | None) -> None:
    """Mirror a search's status into its gauges; a budget or deadline that is unset removes its series."""
    AVOIDED.labels(namespace, nassearch).set(avoided_grams)
    for gauge, value in ((BUDGET, budget_grams),
                         (BUDGET_REMAINING, None if budget_grams is None else budget_grams - emitted_grams),
                         (DEADLINE_SLACK, deadline_slack_seconds)):
        if value is None:
            _remove(gauge, namespace, nassearch)
        else:
            gauge.labels(namespace, nassearch).set(value)


def set_totals(gpus: Mapping[str, int], trials: Mapping[str, int]) -> None:
    """Set the operator-wide GPU and trial gauges; states or phases not given are 0."""
    for given, allowed, gauge, label in ((gpus, GPU_STATES, GPUS, "state"),
                                         (trials, TRIAL_PHASES, TRIALS, "phase")):
        unknown = set(given) - set(allowed)
        if unknown:
            raise ValueError(f"unknown {label} {sorted(unknown)}: must be one of {list(allowed)}")
        for value in allowed:
            gauge.labels(value).set(given.get(value, 0))


def record_decision(action: DecisionAction | str, mode: CarbonMode | str) -> None:
    """Count one decision; only the API's enum values are accepted (bounded cardinality)."""
    DECISIONS.labels(action=DecisionAction(action).value, mode=CarbonMode(mode).value).inc()


def record_forecast_request(endpoint: str, ok: bool) -> None:
    """The `on_request` hook of `ForecastClient` (the endpoint is not a label: two fixed paths)."""
    FORECAST_REQUESTS.inc()
    if not ok:
        FORECAST_FAILURES.inc()


def set_forecast(location: str, *, intensity_grams_per_kilowatt_hour: float | None,
                 next_hour_forecast_grams_per_kilowatt_hour: float | None, issued_timestamp: float | None) -> None:
    """Grid gauges of one location. Unknown intensity is never 0: None removes the series instead."""
    for gauge, value in ((INTENSITY, intensity_grams_per_kilowatt_hour),
                         (INTENSITY_FORECAST, next_hour_forecast_grams_per_kilowatt_hour),
                         (FORECAST_ISSUED, issued_timestamp)):
        if value is None:
            _remove(gauge, location)
        else:
            gauge.labels(location).set(value)


def remove_search(namespace: str, nassearch: str) -> None:
    """Drop every series of a deleted search, so per-search labels never outlive it."""
    for metric in PER_SEARCH:
        _remove(metric, namespace, nassearch)


def _remove(metric, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set
        metric.remove(*labels)


def metric_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every series name a registry can expose (counters with `_total`, histograms' `_bucket`/`_sum`/`_count`),
    whether or not a labelled child has been created yet."""
    names = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names
