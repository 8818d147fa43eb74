"""`python -m cenas_operator.search benchmark ...`: the search benchmark CLI (docs/SEARCH.md).

    python -m cenas_operator.search benchmark --table FILE.csv --accuracy-column COL \\
        --trace FILE.csv --column COL --start YYYY-MM-DD --end YYYY-MM-DD --json

prints one JSON object: {"target_hypervolume": h, "methods": {"cenas": {"carbon_to_target_grams": g,
"hypervolume_at_budget": h1, "gpu_hours": x, ...}, "vanilla": {...}, "oneshot": {...}, "heuristic": {...},
"random": {...}}, "ratios": {...}, "setup": {...}}. Exit code 2 on bad input, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from typing import Any

from cenas_operator.policy.forecasts import FORECAST_SOURCES

from .benchmark import (
    EXTRA_METHODS,
    METHODS,
    BenchmarkConfig,
    BenchmarkError,
    load_benchmark_trace,
    run_benchmark,
)
from .costs import CostModel
from .supernet import DEFAULT_TAU
from .table import DEFAULT_ACCURACY_COLUMN, TableError, load_table, profile_for_column


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cenas_operator.search", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("benchmark", help="carbon to reach a target hypervolume, per method")
    b.add_argument("--table", help="CSV(.gz) with an `arch` column and an accuracy column (default: the shipped NB201 CIFAR-10 table)")
    b.add_argument("--accuracy-column", default=DEFAULT_ACCURACY_COLUMN, help="accuracy column (percent)")
    b.add_argument("--trace", required=True, help="carbon-intensity CSV(.gz) with a datetime_utc column")
    b.add_argument("--column", required=True, help="intensity column (gCO2eq/kWh)")
    b.add_argument("--start", required=True, help="first day of the window, YYYY-MM-DD")
    b.add_argument("--end", required=True, help="last day of the window (included), YYYY-MM-DD")
    b.add_argument("--json", action="store_true", help="print the JSON object only")
    d = BenchmarkConfig()
    b.add_argument("--seeds", type=int, default=d.seeds, help=f"supernets / search streams (default {d.seeds})")
    b.add_argument("--starts", type=int, default=d.starts, help=f"start times over the window (default {d.starts})")
    b.add_argument("--horizon-hours", type=int, default=d.horizon_hours, help=f"longest run (default {d.horizon_hours})")
    b.add_argument("--max-gpus", type=int, default=d.max_gpus)
    b.add_argument("--power-watts", type=float, default=d.power_watts)
    b.add_argument("--pue", type=float, default=d.pue)
    b.add_argument("--target-fraction", type=float, default=d.target_fraction)
    b.add_argument("--budget-gpu-hours", type=float, default=d.budget_gpu_hours)
    b.add_argument("--supernet-tau", type=float, default=DEFAULT_TAU, help=f"supernet Kendall tau (default {DEFAULT_TAU})")
    b.add_argument("--cost-metric", choices=("params", "flops"), default=d.cost_metric)
    b.add_argument("--predictor", choices=("ridge", "supernet"), default=d.search.predictor,
                   help="what candidates are ranked by: ridge (supernet score corrected by the results so far) "
                   f"or supernet (its score as is, CE-NAS) (default {d.search.predictor})")
    b.add_argument("--predictor-features", choices=("onehot", "graph"), default=d.search.predictor_features,
                   help="ridge: the cell's one-hot operations, or those plus the cell graph's features "
                   f"(default {d.search.predictor_features})")
    b.add_argument("--predictor-min-results", type=int, default=d.search.predictor_min_results,
                   help=f"ridge: trained cells before it is fitted (default {d.search.predictor_min_results})")
    b.add_argument("--proposal", choices=("random", "estimate"), default=d.search.proposal,
                   help="which unseen cells of the selected region are scored: random, or the best by the ridge's "
                   f"estimate once it is fitted (default {d.search.proposal})")
    b.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated, among " + ",".join(METHODS + EXTRA_METHODS) + " (default: the first five)")
    b.add_argument("--planned-trainings", type=int, default=d.planned_trainings,
                   help=f"cenas_ppo: full trainings the search plans (default {d.planned_trainings})")
    b.add_argument("--full-training-epochs", type=int, default=CostModel.full_training_epochs)
    b.add_argument("--epoch-overhead-seconds", type=float, default=CostModel.epoch_overhead_seconds)
    b.add_argument("--seconds-per-gflop-image", type=float, default=CostModel.seconds_per_gflop_image)
    b.add_argument("--workers", type=int, default=d.workers, help=f"processes (default {d.workers})")
    b.add_argument("--forecasts", choices=FORECAST_SOURCES, default=d.forecasts,
                   help="what the carbon-aware methods see: the built-in history-only forecast (default) or the "
                        "forecaster's model as the operator is served (needs torch and 14 days of trace first)")
    b.add_argument("--plot", help="write hypervolume-vs-grams curves to this PNG")
    return p


def _config(args: argparse.Namespace) -> BenchmarkConfig:
    profile = profile_for_column(args.accuracy_column)
    costs = CostModel(
        full_training_epochs=args.full_training_epochs,
        train_images=profile.train_images,
        validation_images=profile.validation_images,
        epoch_overhead_seconds=args.epoch_overhead_seconds,
        seconds_per_gflop_image=args.seconds_per_gflop_image,
    )
    return replace(
        BenchmarkConfig(),
        seeds=args.seeds, starts=args.starts, horizon_hours=args.horizon_hours, max_gpus=args.max_gpus,
        power_watts=args.power_watts, pue=args.pue, target_fraction=args.target_fraction,
        budget_gpu_hours=args.budget_gpu_hours, supernet_tau=args.supernet_tau, cost_metric=args.cost_metric,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()), workers=args.workers, costs=costs,
        planned_trainings=args.planned_trainings, forecasts=args.forecasts, search=replace(
            BenchmarkConfig().search, predictor=args.predictor, predictor_features=args.predictor_features,
            predictor_min_results=args.predictor_min_results, proposal=args.proposal,
        ),
    )


def _text(result: dict[str, Any]) -> str:
    setup = result["setup"]
    lines = [
        f"window {setup['window']['first']} + {setup['window']['hours']} h, {len(setup['starts'])} starts x "
        f"{setup['seeds']} seeds, horizon {setup['horizon_hours']} h, {setup['max_gpus']} GPUs x {setup['power_watts']:.0f} W",
        f"target hypervolume {result['target_hypervolume']:.4f} ({setup['target_fraction']:.2f} of the true front's "
        f"{setup['true_front_hypervolume']:.4f}); budget {setup['budget_grams']:.0f} g",
        f"{'method':10s} {'g to target':>12s} {'CE-NAS acct':>12s} {'GPU-h':>8s} {'HV@budget':>10s} {'reached':>8s}",
    ]

    def fmt(v: float | None, spec: str) -> str:
        return "never" if v is None else format(v, spec)

    for name, m in result["methods"].items():
        lines.append(
            f"{name:10s} {fmt(m['carbon_to_target_grams'], '12.0f'):>12s} "
            f"{fmt(m['carbon_to_target_grams_cenas_accounting'], '12.0f'):>12s} {fmt(m['gpu_hours'], '8.1f'):>8s} "
            f"{m['hypervolume_at_budget'] / setup['true_front_hypervolume']:10.3f} {m['reached_target']:8.2f}"
        )
    for name, r in result["ratios"].items():
        ratio = [f"{fmt(r[k], '.2f')}{'' if r[k] is None else 'x'}" for k in ("every_gpu_second", "cenas_accounting")]
        lines.append(f"{name}: every GPU-second {ratio[0]}, CE-NAS accounting {ratio[1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    t0 = time.monotonic()
    try:
        cfg = _config(args)
        table = load_table(args.table or None, args.accuracy_column)
        trace = load_benchmark_trace(args.trace, args.column)
        result = run_benchmark(table, trace, args.start, args.end, cfg)
    except (BenchmarkError, TableError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.plot:
        from .plots import plot_benchmark

        plot_benchmark(result, args.plot, title=f"{args.trace} [{args.column}] {args.start}..{args.end}")
    result.pop("_curves")
    result["setup"]["trace"] = {"path": str(args.trace), "column": args.column}
    result["setup"]["seconds"] = round(time.monotonic() - t0, 1)
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        print(_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
