import itertools

import numpy as np

from cenas_operator.policy.clamps import Reason, budget_cap, clamp, deadline_floor
from cenas_operator.policy.env import account


def can_finish(gpus_prev, g_now, remaining, steps_left, max_gpus, r):
    """Brute force: is there any allocation sequence starting with g_now that finishes in time?"""
    for rest in itertools.product(range(max_gpus + 1), repeat=steps_left - 1):
        left, prev = remaining, gpus_prev
        for g in (g_now, *rest):
            left -= account(prev, g, left, 1.0, r, 0.0, 400.0, 1.0).progress_gpu_hours
            prev = g
        if left <= 1e-9:
            return True
    return False


def test_deadline_floor_is_the_least_allocation_that_can_still_finish():
    rng = np.random.default_rng(0)
    for _ in range(150):
        max_gpus = int(rng.integers(1, 4))
        steps_left = int(rng.integers(1, 4))
        prev = int(rng.integers(0, max_gpus + 1))
        r = float(rng.uniform(0, 0.5))
        remaining = float(rng.uniform(0.05, max_gpus * steps_left))
        floor = int(deadline_floor(prev, remaining, steps_left, max_gpus, 1.0, r))
        feasible = [g for g in range(max_gpus + 1) if can_finish(prev, g, remaining, steps_left, max_gpus, r)]
        assert floor == (min(feasible) if feasible else max_gpus)


def test_budget_cap_is_the_most_gpus_within_the_budget():
    rng = np.random.default_rng(1)
    for _ in range(200):
        prev = int(rng.integers(0, 9))
        budget = float(rng.uniform(0, 3000))
        ci, power, s = float(rng.uniform(50, 600)), float(rng.uniform(100, 700)), float(rng.uniform(0, 0.5))

        def grams(g, prev=prev, ci=ci, power=power, s=s):
            return power / 1000 * ci * (g + s * max(prev - g, 0))

        cap = int(budget_cap(prev, budget, ci, power, 1.0, s))
        affordable = [g for g in range(500) if grams(g) <= budget]
        assert cap == (max(affordable) if affordable else 0)
    assert budget_cap(3, np.inf, 500.0, 400.0, 1.0, 0.1) == np.inf


def test_precedence_suspend_budget_deadline_bounds():
    common = {"gpus_prev": 4, "steps_left": 2, "max_gpus": 8, "step_hours": 1.0, "resume_hours": 0.0}
    # the deadline needs 8 GPUs now and later: the proposal is raised
    g, why = clamp(0, remaining_gpu_hours=16.0, **common)
    assert (g, why) == (8, Reason.DEADLINE)
    # ... unless the budget forbids it: the budget wins (never exceeded), the deadline will be missed
    g, why = clamp(
        0,
        remaining_gpu_hours=16.0,
        budget_left_grams=1000.0,
        intensity_upper=500.0,
        power_watts=400.0,
        **common,
    )
    assert (g, why) == (5, Reason.BUDGET)
    # the user's suspend beats everything
    g, why = clamp(8, remaining_gpu_hours=16.0, suspended=True, **common)
    assert (g, why) == (0, Reason.SUSPENDED)
    # out of range and off-granularity proposals
    assert clamp(11, remaining_gpu_hours=1.0, **common) == (8, Reason.BOUNDS)
    assert clamp(5, remaining_gpu_hours=1.0, gpus_per_trial=2, **common) == (4, Reason.BOUNDS)
    assert clamp(0, remaining_gpu_hours=1.0, min_gpus=2, **common) == (2, Reason.BOUNDS)
    assert clamp(3, remaining_gpu_hours=1.0, **common) == (3, Reason.POLICY)
    # finished work runs nothing
    assert clamp(8, remaining_gpu_hours=0.0, **common)[0] == 0


def test_clamp_is_vectorised():
    g, why = clamp(
        np.array([0, 8, 2]),
        gpus_prev=np.array([0, 0, 2]),
        remaining_gpu_hours=np.array([8.0, 1.0, 1.0]),
        steps_left=np.array([1, 5, 5]),
        max_gpus=np.array([8, 4, 8]),
        step_hours=1.0,
        resume_hours=0.0,
    )
    np.testing.assert_array_equal(g, [8, 4, 2])
    np.testing.assert_array_equal(why, [Reason.DEADLINE, Reason.BOUNDS, Reason.POLICY])
