"""The NAS simulation: every GPU-second charged (and CE-NAS's accounting beside it), suspension and
resumption, re-pricing of carbon-agnostic runs."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.search.allocation import Allocation, full_power
from cenas_operator.search.costs import CostModel
from cenas_operator.search.engine import TRAINING, SearchConfig
from cenas_operator.search.pareto import hypervolume, to_max
from cenas_operator.search.simulate import Environment, Method, Progress, Truth, _Run, simulate
from cenas_operator.search.supernet import predict

FAST = CostModel(full_training_epochs=10, supernet_epochs=5)  # ~3 min trainings: many per hour
POWER = 400.0


def env(hours: int, intensity: float | np.ndarray = 200.0) -> Environment:
    ci = np.broadcast_to(np.asarray(intensity, dtype=float), (hours,)).copy()
    fc = np.repeat(ci[:, None, None], 96, axis=1) * np.array([0.9, 1.0, 1.1])
    return Environment(ci, fc, (0.1, 0.5, 0.9), max_gpus=8, power_watts=POWER)


@pytest.fixture(scope="module")
def truth(small_table):
    ref = np.array([np.median(small_table.accuracy), -small_table.params.max() * 1.01])
    return Truth(small_table.accuracy, predict(small_table.accuracy, 0.5, np.random.default_rng(0)), ref)


def fixed(sampling: int, evaluation: int):
    return lambda x: Allocation(sampling, evaluation)


def run(small_space, small_table, truth, method, e, **kw):
    return simulate(small_space, truth, FAST, method, e, flops=small_table.flops, seed=0, **kw)


def test_every_allocated_gpu_second_is_charged_and_ce_nas_charges_only_evaluation(small_space, small_table, truth):
    hours, ci = 6, 250.0
    r = run(small_space, small_table, truth, Method("m", fixed(1, 3), True, True), env(hours, ci))
    gpu_seconds = 4 * 3600 * hours
    assert r.log.hours == hours and r.gpu_hours == pytest.approx(gpu_seconds / 3600)
    assert r.grams == pytest.approx(gpu_seconds / 3600 * POWER / 1000 * ci)
    # CE-NAS's accounting: the evaluation pool's busy time only, never more than its 3 GPUs.
    assert 0 < r.grams_cenas_paper <= 3 * 3600 * hours / 3600 * POWER / 1000 * ci + 1e-9
    assert r.grams_cenas_paper < r.grams
    assert r.trained > 0 and r.scored > 0


def test_idle_gpus_are_charged(small_space, small_table, truth):
    # Evaluation GPUs without a sampling pool to fill their queue: they idle all along.
    r = run(small_space, small_table, truth, Method("m", fixed(0, 4), True, True), env(3))
    assert r.trained == 0 and r.curve.hypervolume[-1] == 0
    assert r.grams == pytest.approx(4 * 3 * POWER / 1000 * 200.0)
    assert r.grams_cenas_paper == 0.0


def test_oneshot_is_free_under_ce_nas_accounting_only(small_space, small_table, truth):
    r = run(small_space, small_table, truth, Method("oneshot", full_power("sampling"), True, False), env(2))
    assert r.scored == len(small_space) and r.trained == 0
    assert r.grams > 0 and r.grams_cenas_paper == 0.0
    # What one-shot returns is its predicted front, scored at the TRUE accuracy of those cells.
    assert 0 < r.curve.hypervolume[-1] <= hypervolume(to_max(truth.accuracy, small_space.cost), truth.ref)


def test_carbon_agnostic_runs_do_not_depend_on_intensity_and_reprice_exactly(small_space, small_table, truth):
    vanilla = Method("vanilla", full_power("evaluation"), False, True)
    rng = np.random.default_rng(0)
    a = run(small_space, small_table, truth, vanilla, env(5, 100 + 300 * rng.random(5)))
    b = run(small_space, small_table, truth, vanilla, env(5, 100 + 300 * rng.random(5)))
    assert a.log.rec_hv == b.log.rec_hv and a.log.hour_gpu_seconds == b.log.hour_gpu_seconds
    ci = 100 + 300 * rng.random(5)
    priced = a.log.price(ci, POWER)
    twice = a.log.price(2 * ci, POWER)
    assert twice.grams == pytest.approx(2 * priced.grams)
    assert priced.grams[-1] <= a.log.totals(ci, POWER)[0] + 1e-9
    # Vanilla's evaluation pool is the only pool: both accountings agree up to idle time.
    assert priced.grams_cenas_paper == pytest.approx(priced.grams, rel=0.05)


def test_curves_are_monotone_and_the_stop_rule_stops(small_space, small_table, truth):
    r = run(small_space, small_table, truth, Method("v", full_power("evaluation"), False, True), env(12),
            stop=lambda p: p.hours >= 3)
    c = r.curve
    assert r.log.hours == 3
    assert (np.diff(c.hypervolume) > 0).all() and (np.diff(c.grams) >= 0).all() and (np.diff(c.hours) >= 0).all()
    assert c.first_reaching(c.hypervolume[-1]) == len(c.hypervolume) - 1
    assert c.at_budget(c.grams[1] - 1e-6) == c.hypervolume[0]
    assert isinstance(Progress(1, 0.0, 0.0, 0.0), Progress)


def test_suspended_trainings_resume_first_and_checkpoints_are_charged(small_space, small_table, truth):
    slow = CostModel(full_training_epochs=800)  # 3.4 h or more: no job finishes in these hours
    plan = iter([Allocation(0, 4), Allocation(0, 0), Allocation(0, 2), Allocation(0, 4)])
    method = Method("v", lambda x: next(plan), False, True)
    r = _Run(small_space, truth, slow, method, env(4), 0, SearchConfig(), 32, small_table.flops)
    r.hour(0)
    started = set(np.flatnonzero(r.search.status == TRAINING).tolist())
    assert len(started) == 4 and r.search.n_results == 0
    r.hour(1)  # all four suspended, each with a checkpoint charged
    assert r.suspensions == 4 and len(r.halfwork) == 4 and not r.slots
    assert r.log.hour_gpu_seconds[1] == pytest.approx(4 * slow.suspend_seconds)
    r.hour(2)  # two GPUs: they resume two of the suspended trainings, nothing new is proposed
    assert set(np.flatnonzero(r.search.status == TRAINING).tolist()) == started
    assert len(r.halfwork) == 2
    assert r.log.hour_gpu_seconds[2] == pytest.approx(2 * 3600)
