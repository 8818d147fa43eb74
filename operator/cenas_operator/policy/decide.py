"""One decision for one search, as the operator makes it: a policy proposes, the clamps dispose.

Pure apart from the policy call; numpy only (PPO runs through runtime.PolicyRuntime).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baselines import carbon_agnostic, greedy_forecast
from .clamps import Reason, clamp_input
from .env import Policy
from .features import PolicyInput

# spec.carbon.policy -> the rule that proposes; PPO is the loaded runtime, passed in by the caller.
RULES: dict[str, Policy] = {"RuleBased": greedy_forecast, "CarbonAgnostic": carbon_agnostic}


@dataclass(frozen=True)
class Decision:
    gpus: int  # what to run this interval
    proposed: int  # what the policy asked for
    reason: Reason  # why they differ (POLICY: they do not)


def decide(
    policy: Policy, x: PolicyInput, *, suspended: bool = False, min_gpus: int = 0, gpus_per_trial: int = 1
) -> Decision:
    """x holds one search (batch of 1). The budget clamp uses the forecast's top quantile for this interval."""
    if x.forecast.shape[0] != 1:
        raise ValueError(f"decide() takes one search, got a batch of {x.forecast.shape[0]}")
    proposed = int(np.asarray(policy(x))[0])
    gpus, reason = clamp_input(
        proposed, x, suspended=suspended, min_gpus=min_gpus, gpus_per_trial=gpus_per_trial
    )
    return Decision(int(gpus[0]), proposed, Reason(int(reason[0])))
