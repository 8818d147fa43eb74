import numpy as np
import pytest

from cenas_forecaster.calibration import apply_scales, block_scales, interval_scale, nonconformity


def test_nonconformity_is_one_on_the_interval_bounds_and_below_inside():
    lower, median, upper = np.array([50.0]), np.array([100.0]), np.array([200.0])
    assert nonconformity(upper, lower, median, upper)[0] == pytest.approx(1.0)
    assert nonconformity(lower, lower, median, upper)[0] == pytest.approx(1.0)
    assert nonconformity(median, lower, median, upper)[0] <= 0
    assert nonconformity(np.array([400.0]), lower, median, upper)[0] == pytest.approx(2.0)


def test_interval_scale_is_the_conformal_quantile_and_falls_back_to_one():
    scores = np.arange(1, 101, dtype=float) / 50  # 0.02 .. 2.0
    assert interval_scale(scores, 0.9) == pytest.approx(scores[90])  # ceil(101 * 0.9) = 91st smallest
    assert interval_scale(scores[:10], 0.9) == 1.0


def test_block_scales_use_only_blocks_that_ended_before_the_issue():
    rng = np.random.default_rng(0)
    n = 40
    median = np.full((n, 96), 100.0)
    q = np.stack([median * 0.8, median, median * 1.25], axis=-1)
    actual = 100 * np.exp(rng.normal(0, 0.3, (n, 96)))
    observed = np.ones((n, 96), dtype=bool)
    first = 30
    before = block_scales(q, actual, observed, (0, 1, 2), first, 20)
    changed = actual.copy()
    changed[first, :] *= 50  # the evaluated forecast's own targets
    changed[first - 1, 24:] *= 50  # yesterday's blocks 2-4, still running at the issue time
    after = block_scales(q, changed, observed, (0, 1, 2), first, 20)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1, 0] != before[1, 0]  # the next day may use yesterday's day-1 block


def test_calibration_restores_coverage_of_too_narrow_intervals():
    rng = np.random.default_rng(1)
    n = 200
    median = np.full((n, 96), 100.0)
    q = np.stack([median * 0.95, median, median / 0.95], axis=-1)  # far too narrow for 30 % noise
    actual = 100 * np.exp(rng.normal(0, 0.3, (n, 96)))
    scales = block_scales(q, actual, np.ones((n, 96), dtype=bool), (0, 1, 2), 50, 28)
    out = apply_scales(q[50:], 1, scales)
    inside = (actual[50:] >= out[..., 0]) & (actual[50:] <= out[..., 2])
    raw_inside = (actual[50:] >= q[50:, :, 0]) & (actual[50:] <= q[50:, :, 2])
    assert raw_inside.mean() < 0.3
    assert 0.85 < inside.mean() < 0.95
    assert (out[..., 1] == 100.0).all()
