"""Score the forecaster and the baselines on a trace with the CarbonCast/DACF protocol.

    python -m cenas_forecaster evaluate --trace FILE.csv --column COL \
        --test-start YYYY-MM-DD --test-end YYYY-MM-DD --json

One 96 h forecast per test day, issued at 00:00 UTC from the rows before it. Two things adapt to the trace, each
using for a forecast only actual values from before its issue time: the point forecast (adaptation.py, fitted on
the forecasts of up to a year of issue days before it) and the interval calibration (calibration.py, the up to
`--calibration-days` issue days before it), both including days before --test-start when the trace has them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .adaptation import WINDOW_DAYS
from .baselines import BASELINES
from .features import CONTEXT_DAYS, CONTEXT_HOURS
from .forecasting import daily_forecasts, history_hours
from .predictor import WEIGHTS_PATH, Predictor
from .scoring import DAY_SECONDS, DAYS, HORIZON_HOURS, Summary, block_mape, interval_coverage, issue_times
from .series import HOUR_SECONDS, HourlySeries, TraceError, format_time, load_series, parse_time

DEFAULT_CALIBRATION_DAYS = 28


def check_range(series: HourlySeries, first_issue: int, last_issue: int) -> None:
    """Raise TraceError unless the series has 14 days before the first issue day and 96 h after the last."""
    need_start = first_issue - CONTEXT_HOURS * HOUR_SECONDS
    need_end = last_issue + HORIZON_HOURS * HOUR_SECONDS
    if series.start_seconds > need_start:
        raise TraceError(
            f"the trace starts at {format_time(series.start_seconds)}; forecasting from {format_time(first_issue)} "
            f"needs {CONTEXT_DAYS} days of history, from {format_time(need_start)}"
        )
    if series.end_seconds < need_end:
        raise TraceError(
            f"the trace ends at {format_time(series.end_seconds)}; scoring the issue day {format_time(last_issue)} "
            f"needs actual values up to {format_time(need_end)}"
        )


def evaluate(
    series: HourlySeries, first_issue: int, last_issue: int, predictor: Predictor,
    calibration_days: int = DEFAULT_CALIBRATION_DAYS,
) -> dict:
    """The evaluation report (the CLI's JSON object) for issue days first_issue .. last_issue (UTC midnights)."""
    test_days = issue_times(first_issue, last_issue)
    check_range(series, first_issue, last_issue)
    earliest = series.start_seconds + CONTEXT_HOURS * HOUR_SECONDS
    earliest = -(-earliest // DAY_SECONDS) * DAY_SECONDS
    # the calibration's forecasts, and the adaptation's for the earliest of them
    back_hours = history_hours(calibration_days) - CONTEXT_HOURS + WINDOW_DAYS * 24
    days = issue_times(max(earliest, first_issue - back_hours * HOUR_SECONDS), last_issue)
    first_test = len(days) - len(test_days)

    idx = np.array([series.index_of(int(t)) for t in days])
    out = daily_forecasts(predictor, series, idx, first_test, calibration_days=calibration_days)
    lo, mid, hi = (predictor.level_index(q) for q in (0.05, 0.5, 0.95))
    lower, upper = out.quantiles[..., lo], out.quantiles[..., hi]
    t_idx = idx[first_test:]
    leads = t_idx[:, None] + np.arange(HORIZON_HOURS)[None, :]
    t_actual, t_observed = series.values[leads], ~series.filled[leads]
    model = Summary.of(block_mape(t_actual, out.quantiles[..., mid], t_observed))
    baselines = {
        name: Summary.of(block_mape(t_actual, fn(series.values, t_idx), t_observed)).mean
        for name, fn in BASELINES.items()
    }
    return {
        "issue_days": model.issue_days,
        "mape_by_day": model.mean,
        "mape_by_day_median": model.median,
        "mape_by_day_p90": model.p90,
        "mape_by_day_p95": model.p95,
        "baselines": baselines,
        "interval_coverage_90": round(interval_coverage(t_actual, lower, upper, t_observed), 4),
        "interval_scale_by_day": [round(float(x), 4) for x in out.interval_scales.mean(axis=0)],
        "repairs": series.repairs.as_dict(),
    }


def parse_day(text: str) -> int:
    seconds = parse_time(text)
    if seconds % DAY_SECONDS:
        raise ValueError(f"{text} is not a date (YYYY-MM-DD)")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cenas_forecaster evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, required=True, help="CSV (or .csv.gz) with a datetime_utc column")
    parser.add_argument("--column", required=True, help="the carbon-intensity column to forecast")
    parser.add_argument("--test-start", required=True, help="first issue day, YYYY-MM-DD (UTC)")
    parser.add_argument("--test-end", required=True, help="last issue day, YYYY-MM-DD (UTC), included")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH, help="trained weights (.pt)")
    parser.add_argument("--calibration-days", type=int, default=DEFAULT_CALIBRATION_DAYS,
                        help="past issue days that calibrate the intervals")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        first, last = parse_day(args.test_start), parse_day(args.test_end)
        if last < first:
            raise ValueError("--test-end is before --test-start")
        if args.calibration_days < 0:
            raise ValueError("--calibration-days must be >= 0")
        series = load_series(args.trace, args.column)
        report = evaluate(series, first, last, Predictor.load(args.weights), args.calibration_days)
    except (TraceError, ValueError, OSError) as err:
        print(f"evaluate: error: {err}", file=sys.stderr)
        return 2
    report["runtime_seconds"] = round(time.perf_counter() - started, 2)
    repaired = {k: v for k, v in report["repairs"].items() if v and k != "averaged_sub_hourly_rows"}
    if repaired:
        print(f"evaluate: warning: the trace was repaired: {repaired} (filled hours are not scored)", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['issue_days']} issue days; repairs: {report['repairs']}")
        print("MAPE %        " + "  ".join(f"day {d + 1:>5}" for d in range(DAYS)))
        rows = {"model": report["mape_by_day"], **report["baselines"]}
        for name, values in rows.items():
            print(f"{name:<14}" + "  ".join(f"{v:9.2f}" for v in values))
        print(f"90 % interval coverage: {report['interval_coverage_90']:.3f}")
    return 0
