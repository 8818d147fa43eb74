"""The search benchmark: carbon to reach a target hypervolume, per method, over seeds and start times.

Protocol (docs/SEARCH.md has the reasoning):

- Objectives: the table's accuracy (max) and params (min, or FLOPs). Reference point: the table's median
  accuracy and its largest cost plus 1 % of the cost range. The target is `target_fraction` (default 0.95)
  of the hypervolume of the TRUE Pareto front of the whole table.
- Runs: `seeds` (5) x `starts` (4) per method. Start times are spread evenly over [start, end + 1 day - horizon];
  a run lasts at most `horizon_hours` (default two weeks) on `max_gpus` GPUs of `power_watts` each. The
  seed fixes the supernet (the same predictions for every method) and the search's random stream.
- Carbon: every allocated GPU-second at the realized intensity (`grams`), and CE-NAS's accounting
  (evaluation-pool busy time only) side by side. Policies see forecasts issued from the past only, never the
  future: history-only (`forecasts="history"`, numpy) or the forecaster's model as the operator is served
  (`"model"`, `policy.model_forecasts`).
- Per method: the median over runs of the carbon to reach the target (a run that never reaches it counts
  as infinite; the median is null when more than half never do), the median hypervolume once
  `budget_gpu_hours` x power x the window's mean intensity grams are spent, and the median GPU-hours to
  reach the target.
"""

from __future__ import annotations

import functools
import math
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cenas_operator.policy.forecasts import FORECAST_SOURCES, issue_forecasts
from cenas_operator.policy.runtime import PolicyRuntime
from cenas_operator.policy.traces import Trace, TraceError, load_trace, resample

from .allocation import CarbonAwareRule, PolicyAllocator, full_power, heuristic
from .costs import CostModel
from .engine import SearchConfig, Space
from .pareto import hypervolume, to_max
from .simulate import Environment, Method, Progress, RunResult, Truth, WorkLog, simulate
from .supernet import DEFAULT_TAU, predict
from .table import Table

METHODS = ("cenas", "vanilla", "oneshot", "heuristic", "random")
# On request only. cenas_always (ablation): cenas' search and pool sizing, running every hour (carbon-agnostic
# timing). cenas_ppo: cenas' search with the operator's own decision, the shipped PPO setting the total GPUs.
EXTRA_METHODS = ("cenas_always", "cenas_ppo")
CARBON_AGNOSTIC = ("vanilla", "oneshot", "random", "cenas_always")  # their actions never read the forecast


class BenchmarkError(ValueError):
    """Arguments or data that cannot make a benchmark; the message says what to change."""


@dataclass(frozen=True)
class BenchmarkConfig:
    seeds: int = 5
    """Independent supernets and search streams."""
    starts: int = 4
    """Start times spread over the window."""
    horizon_hours: int = 336
    """Longest run: the search's deadline, two weeks (room for carbon-aware waiting; every method that
    can reach the target at all does so well within it at full power)."""
    max_gpus: int = 8
    power_watts: float = 400.0
    """Draw of every allocated GPU (DESIGN.md's example spec.gpus.powerWatts)."""
    pue: float = 1.0
    target_fraction: float = 0.95
    """Target = this fraction of the true Pareto front's hypervolume."""
    budget_gpu_hours: float = 64.0
    """The carbon budget of hypervolume_at_budget, in GPU-hours at the window's mean intensity."""
    supernet_tau: float = DEFAULT_TAU
    """Kendall rank correlation of supernet predictions with full training."""
    cost_metric: str = "params"
    scoring_batch: int = 32
    """Candidates per supernet scoring batch."""
    methods: tuple[str, ...] = METHODS
    workers: int = 2
    """Processes running the simulations (1: in this process)."""
    costs: CostModel = field(default_factory=CostModel)
    rule: CarbonAwareRule = field(default_factory=CarbonAwareRule)
    planned_trainings: int = 400
    """cenas_ppo: the full trainings the search plans (the operator's spec.budget.maxFullTrainings), which
    sets the work the policy is told is left."""
    search: SearchConfig = field(default_factory=SearchConfig)
    forecasts: str = "history"
    """What the carbon-aware methods see (policy.forecasts.FORECAST_SOURCES): the built-in history-only
    forecast, or the forecaster's model as the operator is served ("model", needs torch)."""

    def __post_init__(self) -> None:
        if self.forecasts not in FORECAST_SOURCES:
            raise BenchmarkError(f"forecasts must be one of {', '.join(FORECAST_SOURCES)}, got {self.forecasts!r}")
        if self.planned_trainings < 1:
            raise BenchmarkError("planned_trainings must be >= 1")
        if self.seeds < 1 or self.starts < 1 or self.horizon_hours < 2 or self.max_gpus < 1:
            raise BenchmarkError("seeds, starts and max_gpus must be >= 1 and horizon_hours >= 2")
        if not 0 < self.target_fraction <= 1:
            raise BenchmarkError(f"target fraction must be in (0, 1], got {self.target_fraction}")
        if self.budget_gpu_hours <= 0 or self.power_watts <= 0 or self.pue < 1:
            raise BenchmarkError("budget_gpu_hours and power_watts must be > 0 and pue >= 1")
        unknown = [m for m in self.methods if m not in METHODS + EXTRA_METHODS]
        if unknown or not self.methods:
            raise BenchmarkError(
                f"methods must be among {', '.join(METHODS + EXTRA_METHODS)}, got {', '.join(self.methods)}"
            )
        if self.workers < 1:
            raise BenchmarkError("workers must be >= 1")


@functools.cache  # once per worker process
def _shipped_policy() -> PolicyRuntime:
    return PolicyRuntime.load()


def method(name: str, cfg: BenchmarkConfig, mean_flops_m: float | None = None) -> Method:
    """The five methods compared and the ablations (docs/SEARCH.md). cenas_ppo plans with the space's
    mean FLOPs (`mean_flops_m`)."""
    if name == "cenas":
        return Method("cenas", cfg.rule, sampling=True, evaluation=True)
    if name == "vanilla":
        return Method("vanilla", full_power("evaluation"), sampling=False, evaluation=True)
    if name == "oneshot":
        return Method("oneshot", full_power("sampling"), sampling=True, evaluation=False)
    if name == "heuristic":
        return Method("heuristic", heuristic(), sampling=True, evaluation=True)
    if name == "random":
        return Method("random", full_power("evaluation"), sampling=False, evaluation=True, sampler="random")
    if name == "cenas_always":
        return Method("cenas_always", replace(cfg.rule, run_fraction=math.inf), sampling=True, evaluation=True)
    if name == "cenas_ppo":
        if mean_flops_m is None:
            raise BenchmarkError("cenas_ppo plans with the space's mean FLOPs: pass mean_flops_m")
        c = cfg.costs
        allocator = PolicyAllocator(
            _shipped_policy(), cfg.planned_trainings,
            training_gpu_hours=float(c.full_training_seconds(mean_flops_m)) / 3600.0,
            supernet_gpu_hours=c.supernet_seconds(mean_flops_m) / 3600.0, power_watts=cfg.power_watts,
            resume_hours=c.resume_seconds / 3600.0, suspend_hours=c.suspend_seconds / 3600.0, rule=cfg.rule)
        return Method("cenas_ppo", allocator, sampling=True, evaluation=True)
    raise BenchmarkError(f"unknown method {name!r}")


def reference_point(table: Table, metric: str) -> np.ndarray:
    cost = table.cost(metric)
    return np.array([float(np.median(table.accuracy)), -(float(cost.max()) + 0.01 * float(np.ptp(cost)))])


def true_hypervolume(table: Table, metric: str) -> float:
    return hypervolume(to_max(table.accuracy, table.cost(metric)), reference_point(table, metric))


@dataclass(frozen=True)
class Window:
    trace: Trace  # hourly
    forecasts: np.ndarray  # (n, H, Q) issued at each hour of the trace
    levels: tuple[float, ...]
    forecasts_version: str
    first: int  # trace index of the window's first hour
    last: int  # trace index one past the window's last hour
    starts: tuple[int, ...]  # trace indices of the run starts
    horizon: int


def make_window(trace: Trace, start: str, end: str, cfg: BenchmarkConfig) -> Window:
    """Hourly trace + the forecasts of `cfg.forecasts` issued at its hours, and the run starts inside
    [start, end] (whole days)."""
    raw = trace
    if trace.step_minutes != 60:
        trace = resample(trace, 60)
    try:
        t0 = np.datetime64(start, "m")
        t1 = np.datetime64(end, "D") + np.timedelta64(1, "D")
    except ValueError as err:
        raise BenchmarkError(f"--start and --end must be dates YYYY-MM-DD: {err}") from err
    if t1 <= t0:
        raise BenchmarkError(f"--end {end} must not be before --start {start}")
    first = max(0, int((t0 - trace.start) / np.timedelta64(60, "m")))
    last = min(len(trace), int((t1 - trace.start) / np.timedelta64(60, "m")))
    if last - first < 24:
        raise BenchmarkError(
            f"the window {start}..{end} holds {max(last - first, 0)} hours of the trace "
            f"({trace.start} + {len(trace)} h); at least 24 are needed"
        )
    try:
        fc, version = issue_forecasts(cfg.forecasts, raw, trace, first, last)
    except ValueError as err:
        raise BenchmarkError(str(err)) from err
    horizon = min(cfg.horizon_hours, last - first)
    latest = last - horizon
    starts = tuple(sorted({round(x) for x in np.linspace(first, latest, cfg.starts)}))
    missing = [s for s in starts if np.isnan(fc.values[s : s + horizon]).any()]
    if missing:
        raise BenchmarkError(
            f"no forecast can be issued at {trace.time_of(missing[0])}: forecasts use only the past, so the "
            f"window must start at least {2 if cfg.forecasts == 'history' else 14} days after the trace begins"
        )
    return Window(trace, fc.values, fc.levels, version, first, last, starts, horizon)


@dataclass
class _Context:
    table: Table
    space: Space
    flops: np.ndarray
    window: Window
    cfg: BenchmarkConfig
    target: float
    budget_grams: float
    predictions: dict[int, np.ndarray]


_CTX: _Context | None = None


def _env(ctx: _Context, start: int) -> Environment:
    w = ctx.window
    sl = slice(start, start + w.horizon)
    return Environment(w.trace.intensity[sl], w.forecasts[sl], w.levels, ctx.cfg.max_gpus, ctx.cfg.power_watts, ctx.cfg.pue)


def _run(task: tuple[str, int, int]) -> tuple[str, int, int, WorkLog, int, int]:
    """One simulation; returns its work log (priced by the caller)."""
    name, seed, start = task
    ctx = _CTX
    assert ctx is not None
    cfg = ctx.cfg
    truth = Truth(ctx.table.accuracy, ctx.predictions[seed], reference_point(ctx.table, cfg.cost_metric))
    env = _env(ctx, start)
    if name in CARBON_AGNOSTIC:
        # One trajectory serves every start: stop once the target is reached and enough GPU time was spent
        # to exhaust the budget even at the window's cleanest hour.
        cleanest = float(ctx.window.trace.intensity[ctx.window.first : ctx.window.last].min())
        need_h = ctx.budget_grams / (cfg.power_watts / 1000.0 * cfg.pue * cleanest)

        def stop(p: Progress) -> bool:
            return p.hypervolume >= ctx.target and p.gpu_hours >= need_h
    else:

        def stop(p: Progress) -> bool:
            return p.hypervolume >= ctx.target and p.grams >= ctx.budget_grams

    result: RunResult = simulate(
        ctx.space, truth, cfg.costs, method(name, cfg, float(np.mean(ctx.flops))), env, flops=ctx.flops, seed=seed,
        search_config=cfg.search, scoring_batch=cfg.scoring_batch, stop=stop,
    )
    return name, seed, start, result.log, result.trained, result.scored


def run_benchmark(table: Table, trace: Trace, start: str, end: str, cfg: BenchmarkConfig) -> dict[str, Any]:
    """Every method x seed x start; the JSON-ready summary (module docstring) plus per-run curves under
    the private key `_curves` (for plots)."""
    global _CTX
    window = make_window(trace, start, end, cfg)
    cost = table.cost(cfg.cost_metric)
    space = Space(table.index, table.encoding, cost)
    h_true = true_hypervolume(table, cfg.cost_metric)
    target = cfg.target_fraction * h_true
    mean_ci = float(np.mean(window.trace.intensity[window.first : window.last]))
    budget_grams = cfg.budget_gpu_hours * cfg.power_watts / 1000.0 * cfg.pue * mean_ci
    predictions = {s: predict(table.accuracy, cfg.supernet_tau, np.random.default_rng([s, 7])) for s in range(cfg.seeds)}
    _CTX = _Context(table, space, table.flops, window, cfg, target, budget_grams, predictions)

    tasks = []
    for name in cfg.methods:
        for seed in range(cfg.seeds):
            if name in CARBON_AGNOSTIC:
                tasks.append((name, seed, window.starts[0]))
            else:
                tasks.extend((name, seed, s) for s in window.starts)
    if cfg.workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("fork")) as pool:
            done = list(pool.map(_run, tasks))
    else:
        done = [_run(t) for t in tasks]

    curves: dict[str, list[Any]] = {m: [] for m in cfg.methods}
    for name, seed, s0, log, trained, scored in done:
        starts = window.starts if name in CARBON_AGNOSTIC else (s0,)
        for s in starts:
            intensity = window.trace.intensity[s : s + window.horizon]
            curve = log.price(intensity, cfg.power_watts, cfg.pue)
            curves[name].append({"seed": seed, "start": str(window.trace.time_of(s)), "curve": curve,
                                 "trained": trained, "scored": scored, "hours": log.hours})
    summary = summarize(curves, target, budget_grams)
    out: dict[str, Any] = {
        "target_hypervolume": target,
        "methods": summary,
        "ratios": ratios(summary),
        "setup": {
            "table": table.source,
            "cells": len(table),
            "cost_metric": cfg.cost_metric,
            "reference_point": {"accuracy": float(reference_point(table, cfg.cost_metric)[0]),
                                cfg.cost_metric: float(-reference_point(table, cfg.cost_metric)[1])},
            "true_front_hypervolume": h_true,
            "target_fraction": cfg.target_fraction,
            "window": {"first": str(window.trace.time_of(window.first)), "hours": window.last - window.first,
                       "mean_intensity": mean_ci},
            "starts": [str(window.trace.time_of(s)) for s in window.starts],
            "horizon_hours": window.horizon,
            "seeds": cfg.seeds,
            "max_gpus": cfg.max_gpus,
            "power_watts": cfg.power_watts,
            "pue": cfg.pue,
            "budget_grams": budget_grams,
            "budget_gpu_hours": cfg.budget_gpu_hours,
            "supernet_tau": cfg.supernet_tau,
            "cost_model": asdict(cfg.costs),
            "cenas_rule": asdict(cfg.rule),
            "planned_trainings": cfg.planned_trainings,
            "search": cfg.search.to_dict(),
            "forecasts": cfg.forecasts,
            "forecasts_version": window.forecasts_version,
        },
        "_curves": curves,
    }
    _CTX = None
    return out


def _median_or_none(values: list[float]) -> float | None:
    v = float(np.median(values)) if values else math.inf
    return v if math.isfinite(v) else None


def summarize(curves: dict[str, list[Any]], target: float, budget_grams: float) -> dict[str, Any]:
    out = {}
    for name, runs in curves.items():
        to_target, to_target_paper, gpu_h, hours, at_budget = [], [], [], [], []
        for r in runs:
            c = r["curve"]
            i = c.first_reaching(target)
            to_target.append(math.inf if i is None else float(c.grams[i]))
            to_target_paper.append(math.inf if i is None else float(c.grams_cenas_paper[i]))
            gpu_h.append(math.inf if i is None else float(c.gpu_hours[i]))
            hours.append(math.inf if i is None else float(c.hours[i]))
            at_budget.append(c.at_budget(budget_grams))
        out[name] = {
            "carbon_to_target_grams": _median_or_none(to_target),
            "hypervolume_at_budget": float(np.median(at_budget)),
            "gpu_hours": _median_or_none(gpu_h),
            "carbon_to_target_grams_cenas_accounting": _median_or_none(to_target_paper),
            "hours_to_target": _median_or_none(hours),
            "reached_target": float(np.mean(np.isfinite(to_target))),
            "runs": len(runs),
            "per_run_carbon_to_target_grams": [None if not math.isfinite(g) else round(g, 1) for g in to_target],
        }
    return out


def ratios(summary: dict[str, Any]) -> dict[str, Any]:
    """Median carbon to target of each method / cenas', in both accountings (null when undefined)."""
    if "cenas" not in summary:
        return {}
    base = summary["cenas"]
    out = {}
    for name, s in summary.items():
        if name == "cenas":
            continue
        pair = {}
        for key, label in (("carbon_to_target_grams", "every_gpu_second"),
                           ("carbon_to_target_grams_cenas_accounting", "cenas_accounting")):
            a, b = s[key], base[key]
            pair[label] = (a / b) if (a is not None and b) else None
        out[f"{name}_over_cenas"] = pair
    return out


def load_benchmark_trace(path: str | Path, column: str) -> Trace:
    try:
        return load_trace(path, column)
    except TraceError as err:
        raise BenchmarkError(str(err)) from err


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def with_overrides(cfg: BenchmarkConfig, **changes: Any) -> BenchmarkConfig:
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
