"""Forecast accuracy on the CarbonCast test period, next to the published forecasters.

    .venv/bin/python bench/forecaster/forecast.py [--out bench/forecaster/results/forecast.json]

For each of the ten CarbonCast regions: Day 1-4 MAPE (%) of the shipped model and of the persistence
baselines, with the scoring protocol of cenas_forecaster.evaluate (issue days 2021-07-01 .. 2021-12-28, one
96 h forecast at 00:00 UTC each), 90 % interval coverage, and, scored by the same code on the same days,
CarbonCast's tier-1 forecasts and DACF's day-ahead forecasts (both shipped as reference data). Then the same
for the Electricity Maps zones on 2022-07-01 .. 2022-12-27: a different CI method and a later year that the
model never saw in training.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from cenas_forecaster.evaluate import evaluate
from cenas_forecaster.predictor import Predictor
from cenas_forecaster.scoring import HORIZON_HOURS, Summary, block_mape, issue_times
from cenas_forecaster.series import load_series, parse_time, read_table
from cenas_forecaster.traces import CARBONCAST_REGIONS, DATA_DIR, ELECTRICITYMAPS_ZONES, load_shipped

TEST = ("2021-07-01", "2021-12-28")
EM_TEST = ("2022-07-01", "2022-12-27")
DACF_REGIONS = ("CISO", "PJM", "ERCO", "ISNE", "SE", "DE")


def tier1_mape(region: str) -> list[float]:
    """CarbonCast tier-1 Day 1-4 MAPE on the test days, with the same scoring code."""
    header, rows = read_table(DATA_DIR / f"reference/tier1/{region}.csv.gz")
    day, lead, fc = (header.index(c) for c in ("issue_date_utc", "lead_h", "fc_direct"))
    forecasts: dict[int, np.ndarray] = {}
    for row in rows:
        forecasts.setdefault(parse_time(row[day]), np.full(HORIZON_HOURS, np.nan))[int(row[lead])] = float(row[fc])
    s = load_shipped(region)
    days = issue_times(parse_time(TEST[0]), parse_time(TEST[1]))
    idx = np.array([s.index_of(int(d)) for d in days])
    actual = s.values[idx[:, None] + np.arange(HORIZON_HOURS)]
    return Summary.of(block_mape(actual, np.stack([forecasts[int(d)] for d in days]))).mean


def dacf_day1(region: str) -> float:
    """DACF day-ahead MAPE on the same issue days (its file covers 2021-07-01 .. 2021-12-31)."""
    path = DATA_DIR / f"reference/dacf/{region}.csv.gz"
    actual, forecast = load_series(path, "ci_direct_actual"), load_series(path, "ci_direct_forecast_dacf")
    n = len(issue_times(parse_time(TEST[0]), parse_time(TEST[1])))
    a, f = actual.values[: n * 24].reshape(n, 24), forecast.values[: n * 24].reshape(n, 24)
    return Summary.of(block_mape(a, f)).mean[0]


def fmt(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "forecast.json")
    args = parser.parse_args(argv)
    predictor = Predictor.load()
    results: dict[str, dict] = {"carboncast": {}, "electricitymaps": {}}
    started = time.perf_counter()
    for region in CARBONCAST_REGIONS:
        r = evaluate(load_shipped(region), parse_time(TEST[0]), parse_time(TEST[1]), predictor)
        r["tier1"] = tier1_mape(region)
        if region in DACF_REGIONS:
            r["dacf_day1"] = dacf_day1(region)
        results["carboncast"][region] = r
    for zone in ELECTRICITYMAPS_ZONES:
        results["electricitymaps"][zone] = evaluate(
            load_shipped(zone), parse_time(EM_TEST[0]), parse_time(EM_TEST[1]), predictor
        )
    elapsed = time.perf_counter() - started

    cc = results["carboncast"]
    names = ["model", "persist_24h", "persist_168h", "mean_7d", "tier1"]

    def series_of(r: dict, name: str) -> list[float]:
        return r["mape_by_day"] if name == "model" else r["tier1"] if name == "tier1" else r["baselines"][name]

    mean = {n: [float(np.mean([series_of(cc[r], n)[d] for r in cc])) for d in range(4)] for n in names}
    coverage = float(np.mean([r["interval_coverage_90"] for r in cc.values()]))
    dacf_mean = float(np.mean([cc[r]["dacf_day1"] for r in DACF_REGIONS]))
    model_on_dacf = float(np.mean([cc[r]["mape_by_day"][0] for r in DACF_REGIONS]))
    results["summary"] = {"mean_mape_by_day": mean, "mean_interval_coverage_90": coverage,
                          "dacf_regions": {"dacf_day1": dacf_mean, "model_day1": model_on_dacf},
                          "seconds": round(elapsed, 1)}

    print(f"CarbonCast regions, issue days {TEST[0]} .. {TEST[1]}: Day 1 / 2 / 3 / 4 MAPE (%)\n")
    print("| region | model | persist_24h | persist_168h | mean_7d | CarbonCast tier-1 | DACF day 1 | 90 % PI coverage |")
    print("|---|---|---|---|---|---|---|---|")
    for region, r in cc.items():
        dacf = f"{r['dacf_day1']:.2f}" if "dacf_day1" in r else "-"
        print(f"| {region} | {fmt(r['mape_by_day'])} | {fmt(r['baselines']['persist_24h'])} | "
              f"{fmt(r['baselines']['persist_168h'])} | {fmt(r['baselines']['mean_7d'])} | {fmt(r['tier1'])} | "
              f"{dacf} | {r['interval_coverage_90']:.3f} |")
    print(f"| **mean** | **{fmt(mean['model'])}** | {fmt(mean['persist_24h'])} | {fmt(mean['persist_168h'])} | "
          f"{fmt(mean['mean_7d'])} | {fmt(mean['tier1'])} | - | {coverage:.3f} |")
    print(f"\nDACF's six regions, Day 1: model {model_on_dacf:.2f}, DACF {dacf_mean:.2f}")
    print(f"\nElectricity Maps zones (never trained on), issue days {EM_TEST[0]} .. {EM_TEST[1]}\n")
    print("| zone | model | persist_24h | persist_168h | mean_7d | 90 % PI coverage |")
    print("|---|---|---|---|---|---|")
    for zone, r in results["electricitymaps"].items():
        print(f"| {zone} | {fmt(r['mape_by_day'])} | {fmt(r['baselines']['persist_24h'])} | "
              f"{fmt(r['baselines']['persist_168h'])} | {fmt(r['baselines']['mean_7d'])} | "
              f"{r['interval_coverage_90']:.3f} |")
    print(f"\n({elapsed:.1f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
