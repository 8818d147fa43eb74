"""Run the policy benchmark on the report periods of every shipped trace; record JSON and print tables.

    .venv/bin/python bench/policy/run.py                        # history forecasts, all 15 traces
    .venv/bin/python bench/policy/run.py --forecasts model      # the forecaster's model, all 15 traces
    .venv/bin/python bench/policy/run.py --only DE              # one trace

Report periods (never used for training or selection): CarbonCast 2021-07-01..2021-12-31 (10 regions),
Electricity Maps 2021-01-01..2022-12-31 (5 zones) with history forecasts. With the model's forecasts the
Electricity Maps period is 2022 only: the forecaster trained on CarbonCast regions up to 2021-06-30, and
four of the zones are those regions' grids (US-CAL-CISO ~ CISO, ...), so 2021-H1 is in-sample for it
(`--em-start` overrides). Each trace runs `python -m cenas_operator.policy benchmark ... --json --by-slack
--forecasts F`; its output goes to results/<name>.json (history, the default periods), results/model/ or
`--out`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRACES = REPO / "forecaster/cenas_forecaster/data/traces"
RESULTS = Path(__file__).parent / "results"
CARBONCAST = ("CISO", "PJM", "ERCO", "ISNE", "FPL", "BPAT", "SE", "DE", "NL", "PL")
ELECTRICITYMAPS = ("US-CAL-CISO", "US-MIDA-PJM", "US-TEX-ERCO", "DE-LU", "GB")
POLICIES = ("ppo", "greedy_forecast", "wait_awhile", "threshold", "carbon_agnostic")


EM_START = {"history": "2021-01-01", "model": "2022-01-01"}  # see the module docstring


def runs(em_start: str = EM_START["history"]) -> list[tuple[str, Path, str, str]]:
    out = [
        (f"carboncast-{r}", TRACES / f"carboncast/{r}.csv.gz", "2021-07-01", "2021-12-31") for r in CARBONCAST
    ]
    out += [
        (f"electricitymaps-{z}", TRACES / f"electricitymaps/{z}.csv.gz", em_start, "2022-12-31")
        for z in ELECTRICITYMAPS
    ]
    return out


def table(results: dict[str, dict]) -> str:
    head = (
        "| trace | "
        + " | ".join(f"{p} /oracle" for p in POLICIES)
        + " | PPO saved | oracle saved | PPO misses | PPO suspends | greedy suspends | s |"
    )
    lines = [head, "|" + "---|" * (len(POLICIES) + 7)]
    for name, r in results.items():
        p = r["policies"]
        cells = [f"{p[k]['ratio_to_oracle']:.4f}" for k in POLICIES]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {100 * p['ppo']['savings_vs_agnostic']:.1f} % | {100 * p['oracle']['savings_vs_agnostic']:.1f} %"
            + f" | {p['ppo']['deadline_misses']} | {p['ppo']['suspensions']} | {p['greedy_forecast']['suspensions']} | {r['suite']['seconds']:.0f} |"
        )
    return "\n".join(lines)


def slack_table(results: dict[str, dict], policy: str) -> str:
    slacks = list(next(iter(results.values()))["by_slack"])
    lines = ["| trace | " + " | ".join(f"slack {s}" for s in slacks) + " |", "|" + "---|" * (len(slacks) + 1)]
    for name, r in results.items():
        cells = [f"{100 * r['by_slack'][s][policy]['savings_vs_agnostic']:.1f} %" for s in slacks]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="substrings of the trace names to run")
    parser.add_argument("--weights", help="PPO weights (default: the shipped ones)")
    parser.add_argument("--forecasts", choices=tuple(EM_START), default="history", help="what policies see")
    parser.add_argument("--em-start", help="first day of the Electricity Maps period (default: see above)")
    parser.add_argument("--out", type=Path, help="results folder (default: results/, results/model/)")
    args = parser.parse_args()
    em_start = args.em_start or EM_START[args.forecasts]
    out_dir = args.out or (RESULTS if args.forecasts == "history" else RESULTS / args.forecasts)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, path, start, end in runs(em_start):
        if args.only and not any(s in name for s in args.only):
            continue
        cmd = [
            sys.executable,
            "-m",
            "cenas_operator.policy",
            "benchmark",
            "--trace",
            str(path),
            "--column",
            "ci_direct",
            "--start",
            start,
            "--end",
            end,
            "--json",
            "--by-slack",
            "--forecasts",
            args.forecasts,
        ]
        if args.weights:
            cmd += ["--weights", args.weights]
        started = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(out)
        (out_dir / f"{name}.json").write_text(json.dumps(results[name], indent=1) + "\n")
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if not args.only:
        for name in [n for n, *_ in runs(em_start)]:
            results.setdefault(name, json.loads((out_dir / f"{name}.json").read_text()))
    print(table(results))
    print()
    print("Savings vs carbon-agnostic per deadline slack, PPO:\n")
    print(slack_table(results, "ppo"))
    print()
    print("Savings vs carbon-agnostic per deadline slack, oracle:\n")
    print(slack_table(results, "oracle"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
