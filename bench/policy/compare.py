"""Side by side: the recorded policy benchmarks of two forecast sources (the tables in docs/BENCHMARKS.md).

    .venv/bin/python bench/policy/compare.py results/history-em2022 results/model

Each argument is a results folder (relative to bench/policy/); a trace missing from the first one is taken
from results/ itself (the CarbonCast history runs share their period with the model's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from run import CARBONCAST, ELECTRICITYMAPS, RESULTS

BASELINES = ("greedy_forecast", "wait_awhile", "threshold", "carbon_agnostic")
NAMES = [f"carboncast-{r}" for r in CARBONCAST] + [f"electricitymaps-{z}" for z in ELECTRICITYMAPS]


def load(folder: Path, name: str) -> dict:
    path = folder / f"{name}.json"
    return json.loads((path if path.exists() else RESULTS / f"{name}.json").read_text())


def cells(result: dict) -> str:
    p = result["policies"]
    best = min(BASELINES, key=lambda b: p[b]["ratio_to_oracle"])
    ppo = p["ppo"]["ratio_to_oracle"]
    mark = "**" if ppo < p[best]["ratio_to_oracle"] else ""
    return f"{mark}{ppo:.4f}{mark} | {p[best]['ratio_to_oracle']:.4f} ({best})"


def main() -> int:
    a, b = (Path(__file__).parent / arg for arg in sys.argv[1:3])
    print(
        f"| trace | period | ppo, {a.name} | best baseline, {a.name} | ppo, {b.name} | best baseline, {b.name} |"
    )
    print("|---|---|---|---|---|---|")
    for name in NAMES:
        ra, rb = load(a, name), load(b, name)
        period = f"{ra['suite']['first_arrival'][:10]} .. {ra['suite']['last_deadline'][:10]}"
        print(f"| {name} | {period} | {cells(ra)} | {cells(rb)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
