import numpy as np

from cenas_operator.policy import features
from cenas_operator.policy.features import FEATURE_NAMES, PolicyInput, observe, plan_threshold


def make_input(forecast_median, remaining=8.0, steps_left=None, gpus=0, budget=np.inf, max_gpus=4):
    med = np.atleast_2d(np.asarray(forecast_median, dtype=float))
    b, h = med.shape
    fc = np.stack([0.9 * med, med, 1.2 * med], axis=2)
    full = np.ones(b)
    return PolicyInput(
        forecast=fc,
        levels=(0.1, 0.5, 0.9),
        step_hours=1.0,
        remaining_gpu_hours=remaining * full,
        steps_left=(h if steps_left is None else steps_left) * full.astype(int),
        gpus=gpus * full.astype(int),
        max_gpus=max_gpus * full.astype(int),
        power_watts=400.0 * full,
        resume_hours=0.1 * full,
        suspend_hours=0.05 * full,
        budget_left_grams=budget * full,
    )


def col(name):
    return FEATURE_NAMES.index(name)


def test_shape_names_and_version():
    rng = np.random.default_rng(0)
    obs = observe(make_input(rng.uniform(100, 400, (7, 96)), steps_left=30))
    assert obs.shape == (7, features.N_FEATURES) == (7, len(FEATURE_NAMES))
    assert obs.dtype == np.float32 and np.isfinite(obs).all()
    assert features.FEATURES_VERSION.endswith("/v1")


def test_only_relative_intensity_matters():
    rng = np.random.default_rng(1)
    med = rng.uniform(100, 400, (5, 96))
    a = observe(make_input(med, steps_left=40))
    b = observe(make_input(med * 3.7, steps_left=40))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_window_plan_and_rank_on_a_known_forecast():
    # 8 intervals to the deadline; 8 GPU-hours of work on 4 GPUs = 2 full intervals needed
    med = np.array([300, 100, 500, 200, 400, 600, 700, 800] + [10.0] * 88)
    obs = observe(make_input(med, remaining=8.0, steps_left=8))[0]
    assert obs[col("need_fraction")] == np.float32(0.25)
    assert obs[col("rank_now")] == np.float32(2 / 8)  # 100 and 200 are cleaner; the 10s lie past the deadline
    mean = med[:8].mean()
    assert np.isclose(obs[col("now_minus_plan_threshold")], (300 - 200) / mean)
    assert obs[col("plan_run_hours_per_24")] == 0.0
    assert np.isclose(obs[col("plan_gap_hours_per_24")], 1 / 24)
    assert plan_threshold(med[None], np.arange(96)[None] < 8, np.array([0.25]))[0] == 200


def test_budget_ratio_is_capped_and_infinite_budget_is_ample():
    med = np.full(96, 250.0)
    none = observe(make_input(med, budget=np.inf))[0, col("budget_ratio")]
    tight = observe(make_input(med, remaining=8.0, budget=0.4 * 8 * 250 * 0.5))[0, col("budget_ratio")]
    assert none == features.BUDGET_AMPLE
    assert np.isclose(tight, 0.5)


def test_actions_map_to_gpus():
    np.testing.assert_array_equal(
        features.gpus_for_action(np.array([0, 1, 2, 3, 4]), np.full(5, 8)), [0, 2, 4, 6, 8]
    )
