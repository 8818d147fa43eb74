"""How the search's settings were chosen, on data the benchmark never reports (docs/SEARCH.md).

    .venv/bin/python bench/search/tuning.py constant --predictor supernet          # GPU-hours to the target
    .venv/bin/python bench/search/tuning.py constant --min-results 30
    .venv/bin/python bench/search/tuning.py run-fraction 0.15 0.2 0.25 0.33          # CarbonCast 2020

constant: cenas_always at a constant intensity, seeds 10..21 (the benchmark uses 0..4), until the target
hypervolume is held and 64 GPU-hours are spent; prints the GPU-hours to the target and the hypervolume
held at 64 GPU-hours per seed, and their medians.
run-fraction: the benchmark's cenas on CarbonCast 2020 (CISO, DE, PJM), 4 seeds x 3 starts, with the
rule's run fraction replaced; prints the median grams to the target and the share of runs reaching it.
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
    search = replace(SearchConfig(), predictor=args.predictor, predictor_min_results=args.min_results)
    tasks = [(search, seed, args.gpus, args.hours) for seed in range(10, 22)]
    with ProcessPoolExecutor(args.workers) as pool:
        out = list(pool.map(constant_run, tasks))
    gpu_hours, held = [o[0] for o in out], [o[1] for o in out]
    print(f"predictor {args.predictor}, min results {args.min_results}, {args.gpus} GPUs")
    print("GPU-hours to target per seed:", [round(g) for g in gpu_hours])
    print(f"median {np.median(gpu_hours):.1f}, mean {np.mean(gpu_hours):.1f}")
    print(f"hypervolume held at {BUDGET_GPU_HOURS:.0f} GPU-hours, median {np.median(held):.3f}")


def run_fraction(args: argparse.Namespace) -> None:
    table = load_table()
    for region in ("CISO", "DE", "PJM"):
        trace = load_benchmark_trace(REPO / f"forecaster/cenas_forecaster/data/traces/carboncast/{region}.csv.gz",
                                     "ci_direct")
        for fraction in args.fractions:
            base = BenchmarkConfig()
            cfg = replace(base, seeds=4, starts=3, methods=("cenas",), rule=replace(base.rule, run_fraction=fraction))
            m = run_benchmark(table, trace, "2020-01-03", "2020-12-31", cfg)["methods"]["cenas"]
            print(f"{region} {fraction}: median grams {m['carbon_to_target_grams']}, reached {m['reached_target']:.2f}",
                  flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("constant", help="GPU-hours to the target at constant intensity")
    c.add_argument("--predictor", choices=("ridge", "supernet"), default=SearchConfig.predictor)
    c.add_argument("--min-results", type=int, default=SearchConfig.predictor_min_results)
    c.add_argument("--gpus", type=int, default=8)
    c.add_argument("--hours", type=int, default=336)
    c.add_argument("--workers", type=int, default=2)
    r = sub.add_parser("run-fraction", help="the rule's run fraction on CarbonCast 2020")
    r.add_argument("fractions", type=float, nargs="+")
    args = p.parse_args()
    constant(args) if args.command == "constant" else run_fraction(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
