"""One allocation decision for one search: forecast -> observation -> policy -> clamps -> status record.

Pure: the handler passes the forecast it fetched (or None when there is none), the search's facts and the
loaded PPO runtime. Time is wall-clock seconds; `time_scale` (Settings) says how many grid seconds pass per
wall second, so a replayed trace at 360x and `decisionIntervalSeconds: 3600` decide every 10 s over hourly
grid steps. Energy is what trainers really draw per wall second, which is why the planning power is
divided by the scale: the budget clamp then prices an interval at the energy it really costs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from cenas_operator.api.nassearch import CarbonMode, DecisionAction, Policy
from cenas_operator.conditions import rfc3339, rfc3339_micro
from cenas_operator.forecast_client import Forecast
from cenas_operator.policy.baselines import carbon_agnostic, greedy_forecast
from cenas_operator.policy.clamps import Reason
from cenas_operator.policy.decide import decide
from cenas_operator.policy.features import PolicyInput
from cenas_operator.policy.forecasts import LEVELS, at_levels

# The policy's quantiles, as PPO was trained and the clamps benchmarked (policy/forecasts.py). A forecast
# without the full quantile list (an older service) gives its 5 / 95 % band in their place.
FORECAST_LEVELS = LEVELS
RESUME_FRACTION = 0.05  # share of an interval a (re)started trial spends restoring (planning estimate)
SUSPEND_FRACTION = 0.02  # share of an interval a suspended trial spends writing its checkpoint
NO_DEADLINE_HORIZONS = 2  # without a deadline the plan looks this many forecast horizons ahead
REASON_NAMES = {
    Reason.POLICY: "Policy",
    Reason.SUSPENDED: "UserSuspended",
    Reason.BUDGET: "BudgetClamp",
    Reason.DEADLINE: "DeadlineClamp",
    Reason.BOUNDS: "GPULimits",
}


@dataclass(frozen=True)
class SearchFacts:
    """What the decision needs to know about the search, in wall time and GPU counts."""

    now: float  # wall seconds
    interval_seconds: float  # wall seconds between decisions (decisionIntervalSeconds / time scale)
    time_scale: float
    max_gpus: int
    gpus_per_trial: int
    gpus_now: int  # GPUs held by the search's running trials
    power_watts: float  # per GPU, as the spec says
    remaining_gpu_hours: float  # grid GPU-hours of work left (an estimate)
    budget_left_grams: float  # inf without a budget
    deadline: float | None  # wall seconds
    suspended: bool  # spec.suspend


@dataclass(frozen=True)
class DecisionRecord:
    gpus: int  # what to run until the next decision
    action: DecisionAction
    reason: str
    message: str
    policy: Policy  # who acted
    budget_exhausted: bool  # even the cleanest forecast interval cannot afford one trial
    deadline_at_risk: bool  # the deadline needs more than every GPU
    status: dict  # status.lastDecision


def steps_left(facts: SearchFacts, horizon_steps: int) -> int:
    if facts.deadline is None:
        return NO_DEADLINE_HORIZONS * horizon_steps
    return max(1, math.ceil((facts.deadline - facts.now) / facts.interval_seconds - 1e-9))


def resample(forecast: Forecast, now: float, interval_seconds: float) -> np.ndarray:
    """(H, 3) quantiles at FORECAST_LEVELS on the decision grid: lead k is the forecast point covering
    now + k intervals; H covers the forecast's horizon (at least one lead)."""
    starts = np.array([t.timestamp() for t in forecast.start_times])
    end = starts[-1] + forecast.resolution_seconds
    leads = max(1, int((end - now) // interval_seconds))
    times = now + interval_seconds * np.arange(leads)
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(starts) - 1)
    levels = forecast.quantile_levels
    full = forecast.quantiles_grams_per_kilowatt_hour
    if full is not None and levels[0] <= FORECAST_LEVELS[0] and levels[-1] >= FORECAST_LEVELS[-1]:
        return at_levels(full[index], levels, FORECAST_LEVELS)
    columns = (forecast.lower90_grams_per_kilowatt_hour, forecast.median_grams_per_kilowatt_hour,
               forecast.upper90_grams_per_kilowatt_hour)
    return np.stack([c[index] for c in columns], axis=1)


def flat_forecast(intensity: float, leads: int) -> np.ndarray:
    """The fallback's forecast: one pessimistic value everywhere (never 0)."""
    return np.full((leads, 3), float(intensity))


def policy_input(quantiles: np.ndarray, facts: SearchFacts) -> PolicyInput:
    step_hours = facts.interval_seconds * facts.time_scale / 3600.0

    def one(value):
        return np.array([value], dtype=np.float64)

    return PolicyInput(
        forecast=quantiles[None, :, :].astype(np.float64),
        levels=FORECAST_LEVELS,
        step_hours=step_hours,
        remaining_gpu_hours=one(facts.remaining_gpu_hours),
        steps_left=np.array([steps_left(facts, quantiles.shape[0])]),
        gpus=np.array([facts.gpus_now]),
        max_gpus=np.array([facts.max_gpus]),
        power_watts=one(facts.power_watts / facts.time_scale),
        resume_hours=one(RESUME_FRACTION * step_hours),
        suspend_hours=one(SUSPEND_FRACTION * step_hours),
        budget_left_grams=one(facts.budget_left_grams),
    )


def _proposer(policy: Policy, ppo):
    if policy is Policy.PPO:
        return ppo
    return carbon_agnostic if policy is Policy.CARBON_AGNOSTIC else greedy_forecast


def _action(before: int, after: int) -> DecisionAction:
    if after == 0 and before > 0:
        return DecisionAction.SUSPEND
    if after > before:
        return DecisionAction.SCALE_UP
    return DecisionAction.SCALE_DOWN if after < before else DecisionAction.HOLD


def _afford_one_trial(x: PolicyInput, facts: SearchFacts) -> bool:
    """Whether the budget buys one trial for one interval at the cleanest forecast interval's upper quantile."""
    if not math.isfinite(facts.budget_left_grams):
        return True
    cleanest = float(x.forecast[0, :, -1].min())
    cost = facts.gpus_per_trial * x.power_watts[0] / 1000.0 * x.step_hours * cleanest
    return facts.budget_left_grams >= cost


def make_decision(
    facts: SearchFacts,
    *,
    policy: Policy,
    mode: CarbonMode,
    ppo,  # PolicyRuntime (callable on PolicyInput) or None when no weights could be loaded
    ppo_version: str | None,
    quantiles: np.ndarray,  # (H, 3) from resample() or flat_forecast()
    forecast: Forecast | None,  # the forecast behind `quantiles`; None for the fallback
) -> DecisionRecord:
    """Propose, clamp and describe one decision. Shadow mode and the fallback act on RuleBased; a PPO
    search whose weights are missing also does (and says so)."""
    x = policy_input(quantiles, facts)
    acting = policy
    notes = []
    if forecast is None:
        acting = Policy.RULE_BASED
        notes.append("no fresh forecast: rule-based fallback on a pessimistic flat forecast")
    elif mode is CarbonMode.SHADOW or (policy is Policy.PPO and ppo is None):
        acting = Policy.RULE_BASED
        if ppo is None:
            notes.append("PPO weights unavailable: RuleBased acts")
    common = dict(suspended=facts.suspended, gpus_per_trial=facts.gpus_per_trial)
    chosen = decide(_proposer(acting, ppo), x, **common)
    if mode is CarbonMode.SHADOW and ppo is not None and forecast is not None:
        shadow = decide(ppo, x, **common)
        notes.append(f"shadow: PPO would run {shadow.gpus} GPUs (proposed {shadow.proposed})")
    budget_exhausted = not _afford_one_trial(x, facts)
    usable = facts.max_gpus - facts.max_gpus % facts.gpus_per_trial
    deadline_at_risk = bool(
        facts.deadline is not None
        and facts.remaining_gpu_hours > usable * x.step_hours * int(x.steps_left[0]) + 1e-9
    )
    reason = "RuleBasedFallback" if forecast is None else REASON_NAMES[chosen.reason]
    action = _action(facts.gpus_now, chosen.gpus)
    message = "; ".join([f"{acting.value} proposed {chosen.proposed} GPUs, running {chosen.gpus}", *notes])
    now = dt.datetime.fromtimestamp(facts.now, dt.UTC)
    status = {
        "time": rfc3339_micro(now),  # latency from a decision to its pods is measured in ms
        "policy": acting.value,
        "mode": mode.value,
        "action": action.value,
        "targetGPUs": int(chosen.gpus),
        "intensityGramsPerKilowattHour": round(float(quantiles[0, 1]), 2),
        "reason": reason,
        "message": message[:1024],
    }
    if acting is Policy.PPO or (mode is CarbonMode.SHADOW and ppo is not None):
        status["policyVersion"] = ppo_version
    elif acting is Policy.RULE_BASED:
        status["policyVersion"] = "rule-greedy-forecast/v1"
    else:
        status["policyVersion"] = "rule-carbon-agnostic/v1"
    if forecast is not None:
        status["forecastGeneratedAt"] = rfc3339(forecast.issued_at)
    return DecisionRecord(int(chosen.gpus), action, reason, message, acting, budget_exhausted,
                          deadline_at_risk, status)


def hold_decision(facts: SearchFacts, target: int, mode: CarbonMode, why: str) -> DecisionRecord:
    """Keep the current allocation (no fresh forecast yet, within the hold period), still clamped to the
    user's suspend."""
    gpus = 0 if facts.suspended else target
    now = dt.datetime.fromtimestamp(facts.now, dt.UTC)
    status = {"time": rfc3339_micro(now), "mode": mode.value, "action": DecisionAction.HOLD.value,
              "targetGPUs": gpus, "reason": "ForecastUnavailableHold", "message": why[:1024]}
    return DecisionRecord(gpus, DecisionAction.HOLD, "ForecastUnavailableHold", why, Policy.RULE_BASED,
                          False, False, status)
