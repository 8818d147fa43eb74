"""Safety clamps: deterministic code between what a policy proposes and what the operator does.

Pure numpy functions over arrays (a scalar works as a 0-d array), shared by the simulator and the operator.
Precedence, strongest first: the user's suspend, the carbon budget (never exceeded), the deadline (run at
the allocation the remaining work needs), then min/max GPUs and the allocation granularity.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from .features import PolicyInput

EPS_GPU_HOURS = 1e-9


class Reason(IntEnum):
    """Why the final allocation differs from the proposal (POLICY: it does not)."""

    POLICY = 0
    SUSPENDED = 1
    BUDGET = 2
    DEADLINE = 3
    BOUNDS = 4


def capacity_gpu_hours(gpus_prev, gpus, step_hours: float, resume_hours):
    """Useful GPU-hours in one interval at `gpus`: GPUs that (re)start spend `resume_hours` restoring."""
    return gpus * step_hours - resume_hours * np.maximum(gpus - gpus_prev, 0)


def deadline_floor(gpus_prev, remaining_gpu_hours, steps_left, max_gpus, step_hours: float, resume_hours):
    """The fewest GPUs to run now so that running all `max_gpus` from the next interval on still finishes
    the remaining work by the deadline (`steps_left` intervals, this one included). Returns max_gpus when
    even that is not enough (the deadline is already lost: do the most possible)."""
    gpus_prev, remaining, steps_left, max_gpus, resume = np.broadcast_arrays(
        *(np.asarray(a) for a in (gpus_prev, remaining_gpu_hours, steps_left, max_gpus, resume_hours))
    )
    top = int(max_gpus.max(initial=0))
    g = np.arange(top + 1).reshape((-1,) + (1,) * gpus_prev.ndim)  # candidates along a new first axis
    now = capacity_gpu_hours(gpus_prev, g, step_hours, resume)
    later = np.maximum(steps_left - 1, 0) * max_gpus * step_hours - resume * np.maximum(max_gpus - g, 0) * (
        steps_left > 1
    )
    ok = (now + later >= remaining - EPS_GPU_HOURS) & (g <= max_gpus)
    first = np.argmax(ok, axis=0)
    return np.where(ok.any(axis=0), first, max_gpus)


def budget_cap(gpus_prev, budget_left_grams, intensity_upper, power_watts, step_hours: float, suspend_hours):
    """The most GPUs whose emissions this interval stay within the remaining budget, with the intensity at
    its upper forecast quantile (inf where there is no budget). Emissions rise with the allocation on both
    sides of gpus_prev (a suspended GPU draws only for its checkpoint), so the cap has a closed form."""
    gpus_prev, budget, ci, power_w, suspend = np.broadcast_arrays(
        *(
            np.asarray(a, dtype=float)
            for a in (gpus_prev, budget_left_grams, intensity_upper, power_watts, suspend_hours)
        )
    )
    hours_budget = budget / (power_w / 1000.0 * ci)  # GPU-hours of draw the budget affords
    above = np.floor(hours_budget / step_hours + 1e-9)
    below = np.floor((hours_budget - suspend * gpus_prev) / (step_hours - suspend) + 1e-9)
    cap = np.where(hours_budget >= gpus_prev * step_hours, above, np.minimum(np.maximum(below, 0), gpus_prev))
    return np.where(np.isfinite(budget), cap, np.inf)


def clamp(
    proposed,
    *,
    gpus_prev,
    remaining_gpu_hours,
    steps_left,
    max_gpus,
    step_hours: float,
    resume_hours,
    suspend_hours=0.0,
    min_gpus=0,
    gpus_per_trial=1,
    budget_left_grams=np.inf,
    intensity_upper=np.inf,
    power_watts=400.0,
    suspended=False,
):
    """Clamp proposed allocations; returns (gpus, reason) as int64 arrays (precedence: module docstring).

    Allocations move in whole trials (`gpus_per_trial`); `min_gpus` applies while the search runs.
    """
    step = np.asarray(gpus_per_trial)
    usable_max = np.asarray(max_gpus) - np.asarray(max_gpus) % step
    proposed = np.asarray(proposed)
    gpus = np.clip(proposed, 0, usable_max)
    gpus = gpus - gpus % step
    reason = np.where(gpus != proposed, Reason.BOUNDS, Reason.POLICY)

    def up(g):
        return np.minimum(-(-g // step) * step, usable_max)

    floor = up(
        deadline_floor(gpus_prev, remaining_gpu_hours, steps_left, usable_max, step_hours, resume_hours)
    )
    reason = np.where(gpus < floor, Reason.DEADLINE, reason)
    gpus = np.maximum(gpus, floor)
    least = up(np.asarray(min_gpus))
    reason = np.where(gpus < least, Reason.BOUNDS, reason)
    gpus = np.maximum(gpus, least)

    with np.errstate(invalid="ignore", divide="ignore"):
        cap = budget_cap(
            gpus_prev, budget_left_grams, intensity_upper, power_watts, step_hours, suspend_hours
        )
    cap = np.minimum(cap, usable_max)
    cap = cap - cap % step
    reason = np.where(gpus > cap, Reason.BUDGET, reason)
    gpus = np.minimum(gpus, cap)

    suspended = np.asarray(suspended)
    reason = np.where(suspended & (gpus > 0), Reason.SUSPENDED, reason)
    off = suspended | (np.asarray(remaining_gpu_hours) <= EPS_GPU_HOURS)
    gpus = np.where(off, 0, gpus)
    return gpus.astype(np.int64), reason.astype(np.int64)


def clamp_input(proposed, x: PolicyInput, *, suspended=False, min_gpus=0, gpus_per_trial=1):
    """clamp() for proposals made on x; the budget prices this interval at the forecast's top quantile."""
    return clamp(
        proposed,
        gpus_prev=x.gpus,
        remaining_gpu_hours=x.remaining_gpu_hours,
        steps_left=x.steps_left,
        max_gpus=x.max_gpus,
        step_hours=x.step_hours,
        resume_hours=x.resume_hours,
        suspend_hours=x.suspend_hours,
        min_gpus=min_gpus,
        gpus_per_trial=gpus_per_trial,
        budget_left_grams=x.budget_left_grams,
        intensity_upper=x.forecast[:, 0, -1],
        power_watts=x.power_watts,
        suspended=suspended,
    )
