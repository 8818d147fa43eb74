"""Selection score of PPO weights and the baselines on the checkpoint-selection suites (2021-01..06).

    .venv/bin/python bench/policy/selection.py model                      # shipped weights, model forecasts
    .venv/bin/python bench/policy/selection.py model /tmp/ppo_model.npz   # and other weights

The score is train_ppo's: mean over the 10 CarbonCast regions of emissions / lower bound on the benchmark
suite of 2021-01-01..2021-06-30 (lower is better); never the report periods.
"""

from __future__ import annotations

import sys

from cenas_operator.policy.baselines import BASELINES
from cenas_operator.policy.env import lower_bound_grams
from cenas_operator.policy.runtime import DEFAULT_WEIGHTS, PolicyRuntime
from cenas_operator.policy.suite import make_suite
from cenas_operator.policy.train_ppo import load_period_data, parse_args, selection_score


def main() -> int:
    source, weights = sys.argv[1], sys.argv[2:] or [str(DEFAULT_WEIGHTS)]
    args = parse_args(["--forecasts", source, "--train-start", "2021-01-01"])  # only selection data needed
    selection = []
    for _, trace, forecasts, _, (first, stop) in load_period_data(args):
        wl, _ = make_suite(first, stop, trace.step_hours)
        selection.append((wl, trace, forecasts, lower_bound_grams(wl, trace.intensity, trace.step_hours)))
    for path in weights:
        print(
            f"{PolicyRuntime.load(path).version} ({path}): {selection_score(PolicyRuntime.load(path), selection):.4f}"
        )
    for name, policy in BASELINES.items():
        print(f"{name}: {selection_score(policy, selection):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
