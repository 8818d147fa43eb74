"""Sensitivity: PPO fed the model's 5 / 50 / 95 % quantiles instead of 10 / 50 / 90 %.

    .venv/bin/python bench/policy/levels.py      # 5 traces, about 4 min on 2 shared cores

The operator (search_decision.py) passes the service's lower90 / upper90 (5 / 95 %) as the policy's outer
levels; PPO was trained on 10 / 90 % bands. Same suites and periods as `run.py --forecasts model`; the
baselines read only the median, so only PPO can change. Output: results/model-levels-5-95.json.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from run import EM_START, RESULTS, runs

import cenas_operator.policy.model_forecasts as model_forecasts
from cenas_operator.policy.benchmark import benchmark

TRACES = (
    "carboncast-CISO",
    "carboncast-PJM",
    "carboncast-DE",
    "electricitymaps-US-TEX-ERCO",
    "electricitymaps-GB",
)


def main() -> int:
    # issue_forecasts imports model_forecasts.model_forecasts when called: this is the one it finds.
    model_forecasts.model_forecasts = partial(model_forecasts.model_forecasts, levels=(0.05, 0.5, 0.95))
    out = {}
    for name, path, start, end in runs(EM_START["model"]):
        if name in TRACES:
            result = benchmark(path, "ci_direct", start, end, forecasts_source="model")
            out[name] = {k: v["ratio_to_oracle"] for k, v in result["policies"].items()}
            print(name, out[name], flush=True)
    Path(RESULTS / "model-levels-5-95.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
