"""`python -m cenas_operator.policy benchmark|train ...` (see docs/POLICY.md)."""

from __future__ import annotations

import argparse
import json
import sys

from .forecasts import FORECAST_SOURCES


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from .train_ppo import main as train

        return train(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m cenas_operator.policy")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train PPO (see python -m cenas_operator.policy train --help)")
    b = sub.add_parser(
        "benchmark", help="every policy and the oracle on the fixed workload suite of a trace window"
    )
    b.add_argument("--trace", required=True, help="CSV or CSV.gz with a datetime_utc column, hourly or finer")
    b.add_argument("--column", required=True, help="intensity column, gCO2eq/kWh")
    b.add_argument("--start", required=True, help="first day of the window, YYYY-MM-DD (UTC)")
    b.add_argument("--end", required=True, help="last day of the window, YYYY-MM-DD (UTC, inclusive)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument(
        "--weights", default=None, help="PPO weights (default: the shipped policy/weights/ppo.npz)"
    )
    b.add_argument("--interval-minutes", type=int, default=60, help="decision interval (default 60)")
    b.add_argument("--by-slack", action="store_true", help="add per-slack tables and suite details")
    b.add_argument(
        "--starts", type=int, default=12, help="start times in the window (default 12: the recorded suite)"
    )
    b.add_argument(
        "--forecasts",
        choices=FORECAST_SOURCES,
        default="model",
        help="what every policy sees: the forecaster's model, as the operator is served (default; needs 14 "
        "days of trace before a forecast), or the built-in history-only forecast (no torch)",
    )
    args = parser.parse_args(argv)

    from .benchmark import benchmark
    from .runtime import WeightsError
    from .traces import TraceError
    from .workload import InfeasibleWorkload

    try:
        result = benchmark(
            args.trace,
            args.column,
            args.start,
            args.end,
            args.weights,
            args.interval_minutes,
            args.by_slack,
            args.starts,
            args.forecasts,
        )
    except (TraceError, WeightsError, InfeasibleWorkload, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'policy':<16} {'grams':>14} {'/oracle':>8} {'saved':>7} {'misses':>6} {'suspends':>8}")
        for name, row in result["policies"].items():
            print(
                f"{name:<16} {row['emissions_grams']:>14.0f} {row['ratio_to_oracle']:>8.4f} "
                f"{100 * row['savings_vs_agnostic']:>6.1f}% {row['deadline_misses']:>6} {row['suspensions']:>8}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
