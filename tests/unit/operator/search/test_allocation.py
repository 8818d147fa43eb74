"""Allocators: CE-NAS's heuristic split and cenas' carbon-aware rule, from forecasts only."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.policy.features import PolicyInput
from cenas_operator.search.allocation import (
    Allocation,
    AllocationInput,
    CarbonAwareRule,
    PolicyAllocator,
    clamp_allocation,
    forecast_rank,
    full_power,
    heuristic,
    planned_work_gpu_hours,
)


def inp(median_now: float, **kw) -> AllocationInput:
    window = np.linspace(100.0, 300.0, 96)  # the forecast rises over the window
    window[0] = median_now
    forecast = np.stack([0.9 * window, window, 1.1 * window], axis=1)
    base = dict(
        hour=0, steps_left=96, step_hours=1.0, forecast=forecast, levels=(0.1, 0.5, 0.9), max_gpus=8,
        sampling=0, evaluation=0, supernet_done=True, supernet_left=0.0, queue=50, halfwork=0, training=0,
        unseen=1000, scored=100, trained=10, emitted_grams=0.0, budget_left_grams=np.inf,
    )
    base.update(kw)
    return AllocationInput(**base)


def test_forecast_rank():
    assert forecast_rank(inp(50.0), 24) == 0.0
    assert forecast_rank(inp(1000.0), 24) == pytest.approx(23 / 24)


def test_heuristic_keeps_every_gpu_and_shifts_the_split_with_intensity():
    h = heuristic()
    clean, dirty = h(inp(50.0)), h(inp(1000.0))
    assert clean.total == dirty.total == 8
    assert clean.evaluation == 7 and clean.sampling == 1  # CE-NAS's top level: max(int(8 * 9/10), 1)
    assert dirty.evaluation == 1 and dirty.sampling == 7  # at least one GPU in each pool
    assert heuristic()(inp(50.0, max_gpus=1)) == Allocation(0, 1)


def test_full_power():
    assert full_power("evaluation")(inp(1000.0)) == Allocation(0, 8)
    assert full_power("sampling")(inp(50.0)) == Allocation(8, 0)
    with pytest.raises(ValueError, match="pool"):
        full_power("both")


def test_carbon_aware_rule():
    rule = CarbonAwareRule(run_fraction=0.33, queue_target=32, supernet_gpus=2)
    assert rule(inp(1000.0)) == Allocation(0, 0)  # dirty hour: release everything
    # Clean hour, supernet still training: two GPUs on it, evaluation only for work that exists.
    assert rule(inp(50.0, supernet_done=False, queue=0, training=0)) == Allocation(2, 0)
    assert rule(inp(50.0, supernet_done=False, queue=3, training=1, halfwork=1)) == Allocation(2, 5)
    # Supernet trained: one scoring GPU while the region's queue is short, none once it is full.
    assert rule(inp(50.0, queue=10)) == Allocation(1, 7)
    assert rule(inp(50.0, queue=40)) == Allocation(0, 8)
    assert rule(inp(50.0, queue=40, unseen=0)).sampling == 0
    # Nothing at all to train and the queue empty: score.
    assert rule(inp(50.0, queue=0, unseen=5)) == Allocation(1, 0)
    # The deadline overrides the forecast.
    forced = CarbonAwareRule(deadline_hours=6)
    assert forced(inp(1000.0, steps_left=5, queue=40)).total == 8


def test_rule_split_caps_the_pools_at_the_gpus_given():
    rule = CarbonAwareRule(queue_target=32, supernet_gpus=2)
    assert rule.split(inp(1000.0, queue=10), 8) == Allocation(1, 7)  # split ignores the forecast
    assert rule.split(inp(50.0, queue=10), 3) == Allocation(1, 2)
    assert rule.split(inp(50.0, supernet_done=False, queue=5), 1) == Allocation(1, 0)
    assert rule.split(inp(50.0, queue=10), 0) == Allocation(0, 0)


def test_planned_work():
    assert planned_work_gpu_hours(10, 50, 1.5, 0.2) == pytest.approx(40 * 1.5 + 0.2)
    assert planned_work_gpu_hours(60, 50, 1.5, 0.0) == 0.0  # past the plan: nothing left


def test_policy_allocator_asks_the_policy_with_the_planned_work_and_splits_its_answer():
    seen: list[PolicyInput] = []

    def policy(x: PolicyInput) -> np.ndarray:
        seen.append(x)
        return np.array([3])

    allocate = PolicyAllocator(policy, planned_trainings=50, training_gpu_hours=1.0, supernet_gpu_hours=0.5,
                               power_watts=400.0, resume_hours=0.02, suspend_hours=0.01,
                               rule=CarbonAwareRule(queue_target=32))
    a = allocate(inp(1000.0, queue=10, trained=20, supernet_left=0.0, sampling=1, evaluation=4, steps_left=40))
    assert a == Allocation(1, 2)  # the policy's 3 GPUs, the rule's split
    x = seen[0]
    assert x.remaining_gpu_hours[0] == pytest.approx(30.0)
    assert x.steps_left[0] == 40 and x.gpus[0] == 5 and x.max_gpus[0] == 8
    assert x.forecast.shape == (1, 96, 3) and x.power_watts[0] == 400.0
    # The supernet's share left counts as work; a policy asking for more than max_gpus is clamped.
    allocate = PolicyAllocator(lambda x: seen.append(x) or np.array([99]), 50, 1.0, 0.5, 400.0, 0.02, 0.01)
    assert allocate(inp(50.0, supernet_done=False, supernet_left=0.5, trained=0, queue=100)).total == 8
    assert seen[-1].remaining_gpu_hours[0] == pytest.approx(50.25)


def test_clamp():
    assert clamp_allocation(Allocation(5, 7), 8, (True, True)) == Allocation(5, 3)
    assert clamp_allocation(Allocation(5, 7), 8, (False, True)) == Allocation(0, 7)
    assert clamp_allocation(Allocation(-1, 3), 8, (True, False)) == Allocation(0, 0)
