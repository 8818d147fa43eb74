"""How the search's settings were chosen, on data the benchmark never reports (docs/SEARCH.md).

    .venv/bin/python bench/search/tuning.py constant --predictor supernet          # GPU-hours to the target
    .venv/bin/python bench/search/tuning.py constant --first-seed 22                # the defaults, seeds 22..33
    .venv/bin/python bench/search/tuning.py constant --features onehot --min-results 10 --proposal random
    .venv/bin/python bench/search/tuning.py run-fraction 0.02 0.05 0.1 0.15 0.2 0.25  # CarbonCast 2020
    .venv/bin/python bench/search/tuning.py run-fraction 0.15 0.25 --window-hours 96
    .venv/bin/python bench/search/tuning.py planned 200 300 400                       # cenas_ppo, CarbonCast 2020

constant: cenas_always at a constant intensity, 12 seeds from 10 (the benchmark uses 0..4), until the target
hypervolume is held and 64 GPU-hours are spent; prints the GPU-hours to the target and the hypervolume
held at 64 GPU-hours per seed, and their medians.
run-fraction: the benchmark's cenas on CarbonCast 2020 (CISO, DE, PJM), 4 seeds x 3 starts, with the
rule's run fraction (and forecast window) replaced; prints the median grams to the target and the share
of runs reaching it.
planned: the same for cenas_ppo (the shipped PPO sets the total GPUs) with the planned full trainings
replaced.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from cenas_operator.search.benchmark import (
    BenchmarkConfig,
    load_benchmark_trace,
    method,
    reference_point,
    run_benchmark,
    true_hypervolume,
)
from cenas_operator.search.engine import SearchConfig, Space
from cenas_operator.search.simulate import Environment, Truth, simulate
from cenas_operator.search.supernet import DEFAULT_TAU, predict
from cenas_operator.search.table import Table, load_table

REPO = Path(__file__).resolve().parents[2]
BUDGET_GPU_HOURS = 64.0


@functools.cache  # once per worker process
def _table_and_space() -> tuple[Table, Space]:
    table = load_table()
    return table, Space(table.index, table.encoding, table.cost("params"))


def constant_run(task: tuple[SearchConfig, int, int, int]) -> tuple[float, float]:
    search, seed, gpus, hours = task
    (table, space), cfg = _table_and_space(), BenchmarkConfig()
    h_true = true_hypervolume(table, "params")
    target = cfg.target_fraction * h_true
    truth = Truth(table.accuracy, predict(table.accuracy, DEFAULT_TAU, np.random.default_rng([seed, 7])),
                  reference_point(table, "params"))
    env = Environment(np.full(hours, 300.0), np.full((hours, 96, 3), 300.0), (0.1, 0.5, 0.9), max_gpus=gpus)
    result = simulate(space, truth, cfg.costs, method("cenas_always", cfg), env, flops=table.flops, seed=seed,
                      search_config=search,
                      stop=lambda p: p.hypervolume >= target and p.gpu_hours >= BUDGET_GPU_HOURS)
    curve = result.curve
    hit = curve.first_reaching(target)
    within = np.flatnonzero(curve.gpu_hours <= BUDGET_GPU_HOURS)
    return (math.inf if hit is None else float(curve.gpu_hours[hit]),
            float(curve.hypervolume[within[-1]]) / h_true)


def constant(args: argparse.Namespace) -> None:
    search = replace(SearchConfig(), predictor=args.predictor, predictor_min_results=args.min_results,
                     predictor_features=args.features, proposal=args.proposal)
    tasks = [(search, seed, args.gpus, args.hours) for seed in range(args.first_seed, args.first_seed + 12)]
    with ProcessPoolExecutor(args.workers) as pool:
        out = list(pool.map(constant_run, tasks))
    gpu_hours, held = [o[0] for o in out], [o[1] for o in out]
    print(f"predictor {args.predictor} ({args.features}), min results {args.min_results}, proposal {args.proposal}, "
          f"{args.gpus} GPUs, seeds {args.first_seed}..{args.first_seed + 11}")
    print("GPU-hours to target per seed:", [round(g) for g in gpu_hours])
    print(f"median {np.median(gpu_hours):.1f}, mean {np.mean(gpu_hours):.1f}")
    print(f"hypervolume held at {BUDGET_GPU_HOURS:.0f} GPU-hours, median {np.median(held):.3f}")


def on_2020(label: str, configs: dict[str, BenchmarkConfig], name: str) -> None:
    """Method `name` under each config on CarbonCast 2020 (CISO, DE, PJM); prints median grams and reach."""
    table = load_table()
    for region in ("CISO", "DE", "PJM"):
        trace = load_benchmark_trace(REPO / f"forecaster/cenas_forecaster/data/traces/carboncast/{region}.csv.gz",
                                     "ci_direct")
        for value, cfg in configs.items():
            m = run_benchmark(table, trace, "2020-01-03", "2020-12-31", cfg)["methods"][name]
            print(f"{region} {label} {value}: median grams {m['carbon_to_target_grams']}, "
                  f"reached {m['reached_target']:.2f}, median GPU-hours {m['gpu_hours']}", flush=True)


def run_fraction(args: argparse.Namespace) -> None:
    base = BenchmarkConfig()
    on_2020(f"window {args.window_hours:g} h, run fraction", {
        f: replace(base, seeds=4, starts=3, methods=("cenas",),
                   rule=replace(base.rule, run_fraction=f, window_hours=args.window_hours))
        for f in args.fractions}, "cenas")


def planned(args: argparse.Namespace) -> None:
    base = BenchmarkConfig()
    on_2020("cenas_ppo, planned trainings", {
        n: replace(base, seeds=4, starts=3, methods=("cenas_ppo",), planned_trainings=n) for n in args.trainings},
        "cenas_ppo")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("constant", help="GPU-hours to the target at constant intensity")
    c.add_argument("--predictor", choices=("ridge", "supernet"), default=SearchConfig.predictor)
    c.add_argument("--min-results", type=int, default=SearchConfig.predictor_min_results)
    c.add_argument("--features", choices=("onehot", "graph"), default=SearchConfig.predictor_features)
    c.add_argument("--proposal", choices=("random", "estimate"), default=SearchConfig.proposal)
    c.add_argument("--first-seed", type=int, default=10, help="12 seeds from this one (the benchmark uses 0..4)")
    c.add_argument("--gpus", type=int, default=8)
    c.add_argument("--hours", type=int, default=336)
    c.add_argument("--workers", type=int, default=2)
    r = sub.add_parser("run-fraction", help="the rule's run fraction on CarbonCast 2020")
    r.add_argument("fractions", type=float, nargs="+")
    r.add_argument("--window-hours", type=float, default=24.0, help="the forecast window the rank is taken over")
    t = sub.add_parser("planned", help="cenas_ppo's planned full trainings on CarbonCast 2020")
    t.add_argument("trainings", type=int, nargs="+")
    args = p.parse_args()
    {"constant": constant, "run-fraction": run_fraction, "planned": planned}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
