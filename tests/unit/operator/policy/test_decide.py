import subprocess
import sys

import numpy as np

from cenas_operator.policy.clamps import Reason
from cenas_operator.policy.decide import RULES, decide
from cenas_operator.policy.runtime import PolicyRuntime

from .test_features import make_input


def test_rule_decision_is_clamped_and_explained():
    cheap_later = np.array([[500.0] * 4 + [100.0] * 92])
    x = make_input(cheap_later, remaining=8.0, steps_left=10, max_gpus=4)
    waits = decide(RULES["RuleBased"], x)
    assert (waits.gpus, waits.proposed, waits.reason) == (0, 0, Reason.POLICY)
    # two intervals left for 8 GPU-hours on 4 GPUs: the deadline overrides a policy that waits
    late = make_input(cheap_later, remaining=8.0, steps_left=2, max_gpus=4)
    forced = decide(lambda _: np.zeros(1, np.int64), late)
    assert (forced.gpus, forced.proposed, forced.reason) == (4, 0, Reason.DEADLINE)
    paused = decide(RULES["CarbonAgnostic"], x, suspended=True)
    assert (paused.gpus, paused.proposed, paused.reason) == (0, 4, Reason.SUSPENDED)


def test_ppo_decision_runs_on_the_shipped_weights():
    runtime = PolicyRuntime.load()
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = make_input(
            rng.uniform(50, 500, (1, 96)),
            remaining=float(rng.uniform(1, 30)),
            steps_left=int(rng.integers(8, 96)),
            max_gpus=8,
        )
        d = decide(runtime, x)
        assert 0 <= d.gpus <= 8 and d.proposed in (0, 2, 4, 6, 8)


def test_operator_side_imports_stay_light():
    """The operator runs numpy only: deciding must not import torch or scipy."""
    code = (
        "import sys; import cenas_operator.policy.decide, cenas_operator.policy.runtime; "
        "heavy = [m for m in ('torch', 'scipy', 'cenas_forecaster') if m in sys.modules]; "
        "print(', '.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"imported: {done.stderr or done.stdout}"
