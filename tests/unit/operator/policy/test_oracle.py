import itertools

import numpy as np
import pytest

from cenas_operator.policy import baselines, oracle
from cenas_operator.policy.env import account, simulate
from cenas_operator.policy.workload import Workloads

from .conftest import diurnal, perfect_forecasts


def brute_force(ci, work, max_gpus, r, s):
    best = np.inf
    for plan in itertools.product(range(max_gpus + 1), repeat=len(ci)):
        left, prev, grams = work, 0, 0.0
        for t, g in enumerate(plan):
            step = account(prev, g, left, 1.0, r, s, 400.0, ci[t])
            left -= step.progress_gpu_hours
            grams += step.emissions_grams
            prev = g
            if left <= 1e-9:
                best = min(best, grams)
                break
    return best


def test_oracle_equals_brute_force_on_tiny_instances():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n, g = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        r, s = rng.uniform(0, 0.6, 2)
        ci = rng.uniform(50, 500, n)
        work = float(rng.uniform(0.1, g * (n - r)))
        plan = oracle.solve(ci, work, g, 1.0, r, s, 400.0)
        assert plan.optimal and plan.bound_grams == pytest.approx(plan.emissions_grams)
        assert plan.emissions_grams == pytest.approx(brute_force(ci, work, g, r, s), rel=1e-6)


def test_oracle_plan_replayed_in_the_simulator_costs_what_the_oracle_says():
    x = diurnal(24 * 6, seed=2)
    wl = Workloads.make(arrival=30, steps=48, work_gpu_hours=8 * 12.0, max_gpus=8)
    plan = oracle.solve(x[30:78], 96.0, 8, 1.0, wl.resume_hours[0], wl.suspend_hours[0], 400.0)
    replay = iter(plan.gpus)
    s = simulate(lambda x_in: np.array([next(replay)]), wl, x, perfect_forecasts(x), 1.0)
    assert s.emissions_grams[0] == pytest.approx(plan.emissions_grams, rel=1e-6)
    assert s.suspensions[0] == plan.suspensions


def test_no_policy_beats_the_oracle_even_with_perfect_forecasts():
    x = diurnal(24 * 12, seed=4)
    f = perfect_forecasts(x)
    wl = Workloads.make(
        arrival=[30, 60, 90], steps=[20, 40, 72], work_gpu_hours=[40.0, 64.0, 120.0], max_gpus=8
    )
    best = np.array([p.emissions_grams for p in oracle.solve_all(wl, x, 1.0)])
    for policy in baselines.BASELINES.values():
        assert (simulate(policy, wl, x, f, 1.0).emissions_grams >= best * (1 - 1e-9)).all()
