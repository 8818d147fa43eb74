"""GPU allocation between the sampling pool (supernet) and the evaluation pool (full training).

An allocator is any callable `(AllocationInput) -> Allocation`, called once per decision interval with what
the operator can know at that time: the carbon-intensity forecast issued now (never the realized future),
the search's progress and the current allocation. The simulator clamps its answer to the method's pools
and to max GPUs. The allocators here:

- `full_power(pool)`: carbon-agnostic; every GPU all the time in one pool (vanilla: evaluation, oneshot:
  sampling).
- `heuristic`: CE-NAS's heuristic (HotCarbon'23): all GPUs all the time; the cleaner the current hour
  within the next day's forecast, the larger the evaluation share, in CE-NAS's 10 levels with at least one
  GPU per pool.
- `CarbonAwareRule`: cenas' rule (the benchmark's cenas): run only in the cleanest `run_fraction` of the
  forecast window (or when the deadline needs it), keep one GPU scoring while cells are left to score
  (more while the supernet trains), and give the evaluation pool only as many GPUs as there are
  candidates to train, so that no GPU is allocated to idle (`split`).
- `PolicyAllocator`: the operator's decision: a job-scheduling policy (the shipped PPO) sets the total
  from the planned work, the deadline and the forecast; the rule's `split` divides it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cenas_operator.policy.decide import decide
from cenas_operator.policy.features import PolicyInput

# CE-NAS's action levels: evaluation share a/10, a = 0..9 (cenas.md section 2b).
CENAS_LEVELS = 10


@dataclass(frozen=True)
class AllocationInput:
    hour: int  # intervals since the search started
    steps_left: int  # intervals to the deadline, this one included
    step_hours: float
    forecast: np.ndarray  # (H, Q) gCO2eq/kWh issued now; lead 0 = the interval about to start
    levels: tuple[float, ...]
    max_gpus: int
    sampling: int  # current allocation
    evaluation: int
    supernet_done: bool
    supernet_left: float  # fraction of supernet training still to do (0 when done or not used)
    queue: int  # scored candidates waiting for full training in the search's selected region
    halfwork: int  # suspended full trainings
    training: int  # full trainings running now
    unseen: int  # cells never proposed
    scored: int
    trained: int
    emitted_grams: float
    budget_left_grams: float  # inf without a budget

    @property
    def median(self) -> np.ndarray:
        return self.forecast[:, self.levels.index(0.5)]


@dataclass(frozen=True)
class Allocation:
    sampling: int
    evaluation: int

    @property
    def total(self) -> int:
        return self.sampling + self.evaluation


Allocator = Callable[[AllocationInput], Allocation]


def full_power(pool: str) -> Allocator:
    """Every GPU, always, in `pool` ("evaluation" or "sampling")."""
    if pool not in ("evaluation", "sampling"):
        raise ValueError(f"pool must be evaluation or sampling, got {pool!r}")

    def allocate(x: AllocationInput) -> Allocation:
        if pool == "evaluation":
            return Allocation(0, x.max_gpus)
        return Allocation(x.max_gpus, 0)

    return allocate


def forecast_rank(x: AllocationInput, window_hours: float) -> float:
    """Share of the forecast window (now included) strictly cleaner than now, ties counted half (0: now is
    the cleanest interval of the window)."""
    med = x.median
    n = max(1, min(len(med), round(window_hours / x.step_hours), x.steps_left))
    w = med[:n]
    now = w[0]
    return float((np.sum(w < now) + 0.5 * (np.sum(w == now) - 1)) / n)


def heuristic(window_hours: float = 24.0) -> Allocator:
    """CE-NAS's heuristic allocation: all GPUs on; evaluation share by the current hour's forecast rank."""

    def allocate(x: AllocationInput) -> Allocation:
        if x.max_gpus < 2:
            return Allocation(0, x.max_gpus)
        level = min(CENAS_LEVELS - 1, int((1.0 - forecast_rank(x, window_hours)) * CENAS_LEVELS))
        evaluation = min(max(int(x.max_gpus * level / CENAS_LEVELS), 1), x.max_gpus - 1)
        return Allocation(x.max_gpus - evaluation, evaluation)

    return allocate


@dataclass(frozen=True)
class CarbonAwareRule:
    """cenas' rule-based allocator (see module docstring); the fields are its documented parameters."""

    run_fraction: float = 0.05
    """Run while the share of the window forecast cleaner than now is below this (0.05 of 24 h: at most one
    hour cleaner; chosen on CarbonCast 2020, docs/SEARCH.md)."""
    window_hours: float = 24.0
    """The forecast window the rank is taken over."""
    supernet_gpus: int = 2
    """Sampling GPUs while the supernet trains."""
    scoring_gpus: int = 1
    """Sampling GPUs once it is trained, while the selected region holds fewer than `queue_target` scored
    candidates and unscored cells remain."""
    queue_target: int = 512
    """Scored candidates of the selected region worth keeping ahead of the evaluation pool."""
    deadline_hours: float = 0.0
    """Run regardless of the forecast in the last hours before the deadline (0: never forced)."""

    def __call__(self, x: AllocationInput) -> Allocation:
        forced = x.steps_left * x.step_hours <= self.deadline_hours
        if not forced and forecast_rank(x, self.window_hours) >= self.run_fraction:
            return Allocation(0, 0)
        return self.split(x, x.max_gpus)

    def split(self, x: AllocationInput, gpus: int) -> Allocation:
        """At most `gpus` between the pools: the supernet's GPUs while it trains, then one scoring GPU
        while the queue is short, and evaluation GPUs only for work that exists (running + suspended
        trainings + queued candidates), so that no GPU is planned to idle."""
        if gpus <= 0:
            return Allocation(0, 0)
        if not x.supernet_done:
            sampling = min(self.supernet_gpus, gpus)
        else:
            wanted = x.unseen > 0 and x.queue < self.queue_target
            sampling = min(self.scoring_gpus, gpus) if wanted else 0
        work = x.training + x.halfwork + x.queue
        evaluation = min(gpus - sampling, work)
        if sampling == 0 and evaluation == 0 and x.unseen > 0:
            sampling = 1  # nothing to train yet: score
        return Allocation(sampling, evaluation)


def planned_work_gpu_hours(trained: int, planned_trainings: int, training_gpu_hours: float,
                           supernet_gpu_hours_left: float) -> float:
    """GPU-hours of work a search still plans: the full trainings short of `planned_trainings` and what is
    left of the supernet. The operator tells its policy this (search_plan.remaining_gpu_hours)."""
    return max(0, planned_trainings - trained) * training_gpu_hours + supernet_gpu_hours_left


@dataclass(frozen=True)
class PolicyAllocator:
    """The operator's decision in the simulation: a job-scheduling policy (the shipped PPO, or any
    `policy.decide` proposer) sets the total GPUs of the hour from the forecast, the deadline and the
    planned work, exactly as the operator asks it (search_decision.policy_input); the rule's `split`
    divides them between the pools."""

    policy: Callable  # PolicyInput -> (1,) proposed GPUs
    planned_trainings: int
    """Full trainings the search plans (the operator: spec.budget.maxFullTrainings)."""
    training_gpu_hours: float  # planning length of one full training
    supernet_gpu_hours: float  # planning length of the whole supernet training
    power_watts: float
    resume_hours: float
    suspend_hours: float
    rule: CarbonAwareRule = CarbonAwareRule()

    def __call__(self, x: AllocationInput) -> Allocation:
        def one(value: float) -> np.ndarray:
            return np.array([value], dtype=np.float64)

        work = planned_work_gpu_hours(x.trained, self.planned_trainings, self.training_gpu_hours,
                                      x.supernet_left * self.supernet_gpu_hours)
        policy_input = PolicyInput(
            forecast=x.forecast[None, :, :].astype(np.float64), levels=x.levels, step_hours=x.step_hours,
            remaining_gpu_hours=one(work), steps_left=np.array([x.steps_left]),
            gpus=np.array([x.sampling + x.evaluation]), max_gpus=np.array([x.max_gpus]),
            power_watts=one(self.power_watts), resume_hours=one(self.resume_hours),
            suspend_hours=one(self.suspend_hours), budget_left_grams=one(x.budget_left_grams),
        )
        return self.rule.split(x, decide(self.policy, policy_input).gpus)


def clamp_allocation(a: Allocation, max_gpus: int, pools: tuple[bool, bool]) -> Allocation:
    """Non-negative integers within max_gpus, zero in a pool the method does not have (sampling, evaluation);
    when the sum is too large the evaluation pool gives way first."""
    s = max(int(a.sampling), 0) if pools[0] else 0
    e = max(int(a.evaluation), 0) if pools[1] else 0
    s = min(s, max_gpus)
    e = min(e, max_gpus - s)
    if not math.isfinite(s + e):
        raise ValueError("allocation must be finite")
    return Allocation(s, e)
