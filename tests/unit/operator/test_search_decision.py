import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from cenas_operator.api.nassearch import CarbonMode, DecisionAction, Policy
from cenas_operator.forecast_client import Forecast
from cenas_operator.search_decision import (
    SearchFacts,
    flat_forecast,
    hold_decision,
    make_decision,
    policy_input,
    resample,
    steps_left,
)

T0 = 1_800_000_000.0


def forecast(medians, resolution=3600.0, start=T0) -> Forecast:
    med = np.asarray(medians, dtype=float)
    return Forecast(
        location="X", issued_at=dt.datetime.fromtimestamp(start, dt.UTC), resolution_seconds=resolution,
        start_times=tuple(dt.datetime.fromtimestamp(start + i * resolution, dt.UTC) for i in range(len(med))),
        median_grams_per_kilowatt_hour=med, lower90_grams_per_kilowatt_hour=med * 0.9,
        upper90_grams_per_kilowatt_hour=med * 1.1)


def facts(**kw) -> SearchFacts:
    base = dict(now=T0, interval_seconds=3600.0, time_scale=1.0, max_gpus=4, gpus_per_trial=1, gpus_now=0,
                power_watts=400.0, remaining_gpu_hours=8.0, budget_left_grams=math.inf, deadline=None,
                suspended=False)
    return SearchFacts(**(base | kw))


def test_resample_maps_decision_leads_onto_forecast_points():
    f = forecast([100, 200, 300, 400], resolution=10.0)  # a replayed trace: one grid hour per 10 s
    q = resample(f, T0 + 5.0, 20.0)
    assert q.shape == (1, 3)  # 35 s of forecast left: one 20 s lead
    q = resample(f, T0, 10.0)
    assert q[:, 1].tolist() == [100, 200, 300, 400] and q[0, 2] == pytest.approx(110)


def test_resample_gives_the_policy_its_10_50_90_quantiles_when_the_service_sends_them_all():
    f = dataclasses.replace(forecast([100, 200]), quantile_levels=(0.05, 0.1, 0.5, 0.8, 0.95),
                            quantiles_grams_per_kilowatt_hour=np.array([[80, 90, 100, 110, 130],
                                                                        [160, 180, 200, 220, 260]], float))
    q = resample(f, T0, 3600.0)
    np.testing.assert_allclose(q, [[90, 100, 110 + 20 * (0.1 / 0.15)], [180, 200, 220 + 40 * (0.1 / 0.15)]])
    np.testing.assert_allclose(resample(forecast([100, 200]), T0, 3600.0)[0], [90, 100, 110])  # 5 / 95 % instead


def test_steps_left_counts_intervals_to_the_deadline():
    assert steps_left(facts(deadline=T0 + 3 * 3600 + 1), 96) == 4
    assert steps_left(facts(deadline=T0 - 5), 96) == 1
    assert steps_left(facts(), 96) == 192


def test_time_scale_prices_intervals_at_real_energy():
    x = policy_input(flat_forecast(300, 4), facts(time_scale=360.0, interval_seconds=10.0))
    assert x.step_hours == pytest.approx(1.0) and x.power_watts[0] == pytest.approx(400 / 360)


def test_rule_based_waits_for_the_clean_hours():
    medians = [500, 400, 100, 100] + [450] * 20
    quantiles = resample(forecast(medians), T0, 3600.0)
    d = make_decision(facts(deadline=T0 + 24 * 3600), policy=Policy.RULE_BASED, mode=CarbonMode.ACTIVE, ppo=None,
                      ppo_version=None, quantiles=quantiles, forecast=forecast(medians))
    assert d.gpus == 0 and d.action is DecisionAction.HOLD and d.status["policyVersion"].startswith("rule")
    later = resample(forecast(medians[2:], start=T0 + 7200), T0 + 7200, 3600.0)
    d = make_decision(facts(now=T0 + 7200, deadline=T0 + 24 * 3600), policy=Policy.RULE_BASED,
                      mode=CarbonMode.ACTIVE, ppo=None, ppo_version=None, quantiles=later,
                      forecast=forecast(medians[2:], start=T0 + 7200))
    assert d.gpus == 4 and d.action is DecisionAction.SCALE_UP
    assert d.status["intensityGramsPerKilowattHour"] == 100 and d.status["forecastGeneratedAt"]


def test_user_suspend_and_budget_clamp_win_over_the_policy():
    q = flat_forecast(300, 24)
    f = forecast([300] * 24)
    d = make_decision(facts(suspended=True, gpus_now=2), policy=Policy.CARBON_AGNOSTIC, mode=CarbonMode.ACTIVE,
                      ppo=None, ppo_version=None, quantiles=q, forecast=f)
    assert d.gpus == 0 and d.action is DecisionAction.SUSPEND and d.reason == "UserSuspended"
    # One GPU-hour at 400 W and 300 g/kWh is 120 g: 250 g afford 2 GPUs for the hour, not 4.
    d = make_decision(facts(budget_left_grams=250.0), policy=Policy.CARBON_AGNOSTIC, mode=CarbonMode.ACTIVE,
                      ppo=None, ppo_version=None, quantiles=q, forecast=f)
    assert d.gpus == 2 and d.reason == "BudgetClamp" and not d.budget_exhausted
    d = make_decision(facts(budget_left_grams=10.0), policy=Policy.CARBON_AGNOSTIC, mode=CarbonMode.ACTIVE,
                      ppo=None, ppo_version=None, quantiles=q, forecast=f)
    assert d.gpus == 0 and d.budget_exhausted


def test_shadow_mode_acts_on_rules_and_records_ppo():
    def ppo(x):
        return np.array([3])

    q = flat_forecast(300, 24)
    d = make_decision(facts(), policy=Policy.PPO, mode=CarbonMode.SHADOW, ppo=ppo, ppo_version="ppo-abc",
                      quantiles=q, forecast=forecast([300] * 24))
    assert d.policy is Policy.RULE_BASED and "PPO would run 3 GPUs" in d.message
    assert d.status["policyVersion"] == "ppo-abc" and d.status["mode"] == "Shadow"
    d = make_decision(facts(), policy=Policy.PPO, mode=CarbonMode.ACTIVE, ppo=ppo, ppo_version="ppo-abc",
                      quantiles=q, forecast=forecast([300] * 24))
    assert d.policy is Policy.PPO and d.gpus == 3


def test_without_a_forecast_the_rule_based_fallback_acts_and_says_so():
    d = make_decision(facts(), policy=Policy.PPO, mode=CarbonMode.ACTIVE, ppo=lambda x: np.array([0]),
                      ppo_version="v", quantiles=flat_forecast(800, 96), forecast=None)
    assert d.policy is Policy.RULE_BASED and d.reason == "RuleBasedFallback" and d.gpus > 0
    assert "forecastGeneratedAt" not in d.status


def test_hold_keeps_the_allocation_unless_the_user_suspends():
    assert hold_decision(facts(), 3, CarbonMode.ACTIVE, "down").gpus == 3
    assert hold_decision(facts(suspended=True), 3, CarbonMode.ACTIVE, "down").gpus == 0


def test_deadline_at_risk_when_every_gpu_is_not_enough():
    d = make_decision(facts(deadline=T0 + 3600, remaining_gpu_hours=100.0), policy=Policy.RULE_BASED,
                      mode=CarbonMode.ACTIVE, ppo=None, ppo_version=None, quantiles=flat_forecast(300, 24),
                      forecast=forecast([300] * 24))
    assert d.gpus == 4 and d.deadline_at_risk
    d = make_decision(facts(deadline=T0 + 30 * 3600, remaining_gpu_hours=100.0), policy=Policy.RULE_BASED,
                      mode=CarbonMode.ACTIVE, ppo=None, ppo_version=None, quantiles=flat_forecast(300, 24),
                      forecast=forecast([300] * 24))
    assert not d.deadline_at_risk  # 4 GPUs x 30 h suffice
