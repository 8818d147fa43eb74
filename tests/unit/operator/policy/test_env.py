import numpy as np
import pytest

from cenas_operator.policy import baselines
from cenas_operator.policy.env import account, simulate
from cenas_operator.policy.workload import InfeasibleWorkload, Workloads

from .conftest import diurnal, perfect_forecasts


def test_emissions_are_energy_times_actual_intensity_with_restart_and_checkpoint_costs():
    # 4 -> 6 GPUs: two GPUs restore for 0.25 h; 6 -> 2: four GPUs write a 0.1 h checkpoint
    up = account(4, 6, 100.0, 1.0, 0.25, 0.1, 500.0, 300.0)
    assert up.progress_gpu_hours == pytest.approx(6 - 2 * 0.25)
    assert up.energy_kwh == pytest.approx(0.5 * 6)  # restoring GPUs draw full power
    assert up.emissions_grams == pytest.approx(0.5 * 6 * 300.0)
    down = account(6, 2, 100.0, 1.0, 0.25, 0.1, 500.0, 300.0)
    assert down.progress_gpu_hours == pytest.approx(2)
    assert down.energy_kwh == pytest.approx(0.5 * (2 + 4 * 0.1))
    assert down.suspended_gpus == 4
    idle = account(0, 0, 100.0, 1.0, 0.25, 0.1, 500.0, 300.0)
    assert idle.energy_kwh == 0.0


def test_finishing_mid_interval_releases_the_gpus():
    s = account(8, 8, 3.0, 1.0, 0.25, 0.1, 400.0, 200.0)
    assert s.progress_gpu_hours == pytest.approx(3.0)
    assert s.energy_kwh == pytest.approx(0.4 * 3.0)


def test_carbon_agnostic_run_matches_hand_accounting():
    x = diurnal(24 * 10)
    f = perfect_forecasts(x)
    wl = Workloads.make(
        arrival=50, steps=20, work_gpu_hours=8 * 5.5, max_gpus=8, power_watts=300.0, resume_hours=0.25
    )
    s = simulate(baselines.carbon_agnostic, wl, x, f, 1.0)
    # hour 1: 8 GPUs draw, 2 GPU-h go to restoring, 6 are useful; then 8 per hour: 38 = 4 x 8 + 6
    drawn = np.array([8.0] * 5 + [6.0])
    expected = 0.3 * (drawn * x[50:56]).sum()
    assert s.emissions_grams[0] == pytest.approx(expected)
    assert s.suspensions[0] == 0 and not s.missed[0] and s.done[0]


def test_clamps_keep_every_policy_on_time():
    x = diurnal(24 * 20, seed=5)
    f = perfect_forecasts(x)
    rng = np.random.default_rng(0)
    n = 40
    run = rng.uniform(2, 20, n)
    wl = Workloads.make(
        rng.integers(30, 200, n), np.ceil(run * rng.uniform(1.05, 3, n) + 1).astype(int), run * 4, 4
    )

    def erratic(x_in):
        return rng.integers(0, 5, len(x_in.gpus))

    for policy in (erratic, *baselines.BASELINES.values()):
        s = simulate(policy, wl, x, f, 1.0)
        assert s.done.all() and not s.missed.any()
        assert (s.remaining_gpu_hours == 0).all()


def test_policy_sees_only_the_issued_forecast_not_the_actual():
    x = diurnal(24 * 10)
    f = perfect_forecasts(x)
    wl = Workloads.make(arrival=40, steps=30, work_gpu_hours=40.0, max_gpus=4)
    seen = []

    def spy(x_in):
        seen.append(x_in.forecast.copy())
        return baselines.greedy_forecast(x_in)

    a = simulate(spy, wl, x, f, 1.0)
    first = list(seen)
    seen.clear()
    b = simulate(spy, wl, x * 2.0, f, 1.0)  # other actual intensities, same forecasts
    assert all(np.array_equal(p, q) for p, q in zip(first, seen, strict=True))
    assert b.emissions_grams[0] == pytest.approx(2.0 * a.emissions_grams[0])


def test_infeasible_workload_is_refused():
    x = diurnal(24 * 5)
    wl = Workloads.make(arrival=30, steps=[10, 5], work_gpu_hours=[8.0, 40.0], max_gpus=8)
    with pytest.raises(InfeasibleWorkload, match="workload 1: 40 GPU-hours cannot finish in 5 intervals"):
        simulate(baselines.carbon_agnostic, wl, x, perfect_forecasts(x), 1.0)
    with pytest.raises(ValueError, match="outside the trace"):
        simulate(baselines.carbon_agnostic, Workloads.make(110, 20, 8.0, 8), x, perfect_forecasts(x), 1.0)
