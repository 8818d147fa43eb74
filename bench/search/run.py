"""Run the search benchmark on the report periods of shipped traces; record JSON + PNG, print tables.

    .venv/bin/python bench/search/run.py                  # every trace below (about 5-8 min each here)
    .venv/bin/python bench/search/run.py --only CISO DE    # names containing these strings
    .venv/bin/python bench/search/run.py --tau 0.5 --tag tau0.5   # the supernet sensitivity runs
    .venv/bin/python bench/search/run.py --predictor supernet --tag predictor-supernet   # CE-NAS's ranking
    .venv/bin/python bench/search/run.py --features graph --min-results 30 --proposal estimate --tag guided
    .venv/bin/python bench/search/run.py --forecasts model --methods cenas,heuristic --tag model   # the model's forecasts

Report periods, never used to choose anything: CarbonCast 2021-07-01..2021-12-31 and Electricity Maps
2022-01-01..2022-12-31. (The rule's parameters were chosen on CarbonCast 2020 for CISO, DE and PJM; the
search's on the NB201 table with constant intensity.) Each trace runs

    python -m cenas_operator.search benchmark --trace T --column C --start S --end E --json --plot P

with the shipped NB201 CIFAR-10 table; the JSON goes to results/<name>[-tag].json, the plot next to it.
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
CARBONCAST = ("CISO", "PJM", "ERCO", "DE", "SE", "PL")
ELECTRICITYMAPS = ("US-CAL-CISO", "DE-LU", "GB")
METHODS = ("cenas", "vanilla", "oneshot", "heuristic", "random", "cenas_always", "cenas_ppo")


def runs() -> list[tuple[str, Path, str, str, str]]:
    out = [(f"carboncast-{r}", TRACES / f"carboncast/{r}.csv.gz", "ci_direct", "2021-07-01", "2021-12-31") for r in CARBONCAST]
    out += [
        (f"electricitymaps-{z}", TRACES / f"electricitymaps/{z}.csv.gz", "ci_direct", "2022-01-01", "2022-12-31")
        for z in ELECTRICITYMAPS
    ]
    return out


def fmt(v: float | None, spec: str = ".0f") -> str:
    return "never" if v is None else format(v, spec)


def table(results: dict[str, dict]) -> str:
    head = ("| trace | " + " | ".join(f"{m} g" for m in METHODS)
            + " | vanilla/cenas (every GPU-s) | vanilla/cenas (CE-NAS acct) | vanilla/cenas_ppo | cenas reached | s |")
    lines = [head, "|" + "---|" * (len(METHODS) + 6)]
    for name, r in results.items():
        m = r["methods"]
        ratio = r["ratios"].get("vanilla_over_cenas", {})
        cells = [fmt(m[k]["carbon_to_target_grams"]) if k in m else "-" for k in METHODS]
        ppo = r["ratios"].get("vanilla_over_cenas", {}).get("every_gpu_second")
        ppo_over = r["ratios"].get("cenas_ppo_over_cenas", {}).get("every_gpu_second")
        lines.append(
            f"| {name} | " + " | ".join(cells)
            + f" | {fmt(ratio.get('every_gpu_second'), '.2f')} | {fmt(ratio.get('cenas_accounting'), '.2f')}"
            + f" | {fmt(ppo / ppo_over if ppo and ppo_over else None, '.2f')}"
            + f" | {m['cenas']['reached_target']:.2f} | {r['setup']['seconds']:.0f} |"
        )
    return "\n".join(lines)


def detail(results: dict[str, dict]) -> str:
    lines = ["| trace | method | g to target | CE-NAS acct g | GPU-h | h to target | HV@budget | reached |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        true = r["setup"]["true_front_hypervolume"]
        for k, m in r["methods"].items():
            lines.append(
                f"| {name} | {k} | {fmt(m['carbon_to_target_grams'])} | {fmt(m['carbon_to_target_grams_cenas_accounting'])}"
                f" | {fmt(m['gpu_hours'], '.0f')} | {fmt(m['hours_to_target'], '.0f')} | {m['hypervolume_at_budget'] / true:.3f}"
                f" | {m['reached_target']:.2f} |"
            )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="*", help="run only traces whose name contains one of these")
    p.add_argument("--tau", type=float, help="supernet Kendall tau (default: the CLI's)")
    p.add_argument("--predictor", help="ridge or supernet: what candidates are ranked by (default: the CLI's)")
    p.add_argument("--features", help="onehot or graph: the ridge's features (default: the CLI's)")
    p.add_argument("--min-results", type=int, help="trained cells before the ridge is fitted (default: the CLI's)")
    p.add_argument("--proposal", help="random or estimate: which cells are scored (default: the CLI's)")
    p.add_argument("--forecasts", help="history or model: what the carbon-aware methods see (default: the CLI's)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: all seven)")
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name, path, column, start, end in runs():
        if args.only and not any(o in name for o in args.only):
            continue
        stem = f"{name}-{args.tag}" if args.tag else name
        cmd = [sys.executable, "-m", "cenas_operator.search", "benchmark", "--trace", str(path.relative_to(REPO)), "--column", column,
               "--start", start, "--end", end, "--json", "--workers", str(args.workers),
               "--plot", str((RESULTS / f"{stem}.png").relative_to(REPO)), "--methods", args.methods]
        if args.tau is not None:
            cmd += ["--supernet-tau", str(args.tau)]
        if args.predictor is not None:
            cmd += ["--predictor", args.predictor]
        if args.features is not None:
            cmd += ["--predictor-features", args.features]
        if args.min_results is not None:
            cmd += ["--predictor-min-results", str(args.min_results)]
        if args.proposal is not None:
            cmd += ["--proposal", args.proposal]
        if args.forecasts is not None:
            cmd += ["--forecasts", args.forecasts]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
        if proc.returncode != 0:
            print(f"{name}: failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
            return 1
        out = json.loads(proc.stdout)
        out["setup"]["command"] = " ".join(["python", *cmd[1:]])
        (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=1) + "\n")
        results[stem] = out
        print(f"{stem}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(results))
    print()
    print(detail(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
