"""The policy benchmark: every policy and the oracle on the fixed suite (suite.py) of one trace window."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import oracle
from .baselines import BASELINES
from .env import Policy, simulate
from .forecasts import IssuedForecasts, issue_forecasts
from .suite import SLACKS, STARTS, make_suite
from .traces import Trace, load_trace, resample
from .workload import Workloads


@dataclass(frozen=True)
class Outcome:
    """Per-workload results of one policy (arrays (B,))."""

    emissions_grams: np.ndarray
    missed: np.ndarray
    suspensions: np.ndarray


def run_policies(
    policies: dict[str, Policy],
    wl: Workloads,
    intensity: np.ndarray,
    forecasts: IssuedForecasts,
    step_hours: float,
) -> dict[str, Outcome]:
    out = {}
    for name, policy in policies.items():
        s = simulate(policy, wl, intensity, forecasts, step_hours)
        out[name] = Outcome(s.emissions_grams, s.missed, s.suspensions)
    return out


def run_oracle(wl: Workloads, intensity: np.ndarray, step_hours: float) -> tuple[Outcome, float]:
    """The oracle's outcome (emissions = the proven lower bounds) and the largest relative gap left."""
    plans = oracle.solve_all(wl, intensity, step_hours)
    gap = max(1.0 - p.bound_grams / p.emissions_grams for p in plans)
    outcome = Outcome(
        np.array([p.bound_grams for p in plans]),
        np.zeros(len(plans), bool),
        np.array([p.suspensions for p in plans]),
    )
    return outcome, gap


def summarize(outcomes: dict[str, Outcome], mask: np.ndarray | None = None) -> dict[str, dict]:
    """The issue's JSON fields per policy, totals over the (masked) workloads."""

    def pick(a: np.ndarray) -> np.ndarray:
        return a if mask is None else a[mask]

    best = pick(outcomes["oracle"].emissions_grams).sum()
    agnostic = pick(outcomes["carbon_agnostic"].emissions_grams).sum()
    table = {}
    for name, o in outcomes.items():
        grams = float(pick(o.emissions_grams).sum())
        table[name] = {
            "emissions_grams": round(grams, 1),
            "ratio_to_oracle": round(grams / best, 4),
            "savings_vs_agnostic": round(1.0 - grams / agnostic, 4),
            "deadline_misses": int(pick(o.missed).sum()),
            "suspensions": int(pick(o.suspensions).sum()),
        }
    return table


ORDER = ("ppo", "oracle", "carbon_agnostic", "threshold", "wait_awhile", "greedy_forecast")


def window_indices(trace: Trace, start: str, end: str) -> tuple[int, int]:
    """[first, stop) interval indices of the days start..end (end inclusive), clipped to the trace."""
    lo = np.datetime64(start, "m")
    hi = np.datetime64(end, "m") + np.timedelta64(1, "D")
    if hi <= lo:
        raise ValueError(f"--end {end} is before --start {start}")
    first = max(0, int(np.ceil((lo - trace.start) / np.timedelta64(trace.step_minutes, "m"))))
    stop = min(len(trace), int((hi - trace.start) // np.timedelta64(trace.step_minutes, "m")))
    if stop <= first:
        raise ValueError(
            f"the trace ({trace.time_of(0)} .. {trace.time_of(len(trace) - 1)}) does not cover {start} .. {end}"
        )
    return first, stop


def benchmark(
    trace_path: str | Path,
    column: str,
    start: str,
    end: str,
    weights: str | Path | None = None,
    interval_minutes: int = 60,
    by_slack: bool = False,
    starts: int = STARTS,
    forecasts_source: str = "model",
) -> dict:
    """Run the suite; returns {"policies": {...}} (plus "by_slack" and "suite" when by_slack).
    Every policy sees the same forecasts of `forecasts_source` (FORECAST_SOURCES).
    `starts` below the suite's 12 is for quick looks and tests only."""
    from .runtime import DEFAULT_WEIGHTS, PolicyRuntime

    started = time.perf_counter()
    runtime = PolicyRuntime.load(weights or DEFAULT_WEIGHTS)
    raw = load_trace(trace_path, column)
    trace = raw if interval_minutes == raw.step_minutes else resample(raw, interval_minutes)
    first, stop = window_indices(trace, start, end)
    forecasts, forecasts_version = issue_forecasts(forecasts_source, raw, trace, first, stop)
    issued = np.flatnonzero(~np.isnan(forecasts.values[:, 0, 0]))
    first = max(first, int(issued[0])) if len(issued) else stop  # none issued: make_suite says too short
    wl, slack = make_suite(first, stop, trace.step_hours, starts)
    wl.check(trace.step_hours, len(trace))
    policies: dict[str, Policy] = {"ppo": runtime, **BASELINES}
    outcomes = run_policies(policies, wl, trace.intensity, forecasts, trace.step_hours)
    outcomes["oracle"], gap = run_oracle(wl, trace.intensity, trace.step_hours)
    outcomes = {k: outcomes[k] for k in ORDER}
    result: dict = {"policies": summarize(outcomes)}
    if by_slack:
        result["by_slack"] = {f"{s:g}": summarize(outcomes, slack == s) for s in SLACKS}
        result["suite"] = {
            "workloads": len(wl),
            "starts": starts,
            "interval_minutes": trace.step_minutes,
            "policy_version": runtime.version,
            "forecasts": forecasts_source,
            "forecasts_version": forecasts_version,
            "oracle_max_gap": round(gap, 6),
            "first_arrival": str(trace.time_of(int(wl.arrival.min()))),
            "last_deadline": str(trace.time_of(int((wl.arrival + wl.steps).max()))),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return result
