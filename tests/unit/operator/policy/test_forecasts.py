import numpy as np
import pytest

from cenas_operator.policy.forecasts import HORIZON_HOURS, IssuedForecasts, history_forecasts
from cenas_operator.policy.traces import Trace

from .conftest import diurnal


def test_a_forecast_uses_only_the_past():
    x = diurnal(24 * 40)
    base = history_forecasts(Trace(np.datetime64("2021-01-01"), 60, x))
    t = 24 * 35 + 5
    future = x.copy()
    future[t:] *= np.linspace(0.5, 3.0, len(x) - t)  # rewrite everything from interval t on
    changed = history_forecasts(Trace(np.datetime64("2021-01-01"), 60, future))
    np.testing.assert_array_equal(base.values[: t + 1], changed.values[: t + 1])
    assert not np.allclose(base.values[t + 1 :], changed.values[t + 1 :])


def test_shape_order_and_first_issue():
    f = history_forecasts(Trace(np.datetime64("2021-01-01"), 60, diurnal(24 * 10)))
    assert f.values.shape == (240, HORIZON_HOURS, 3)
    issued = ~np.isnan(f.values[:, 0, 0])
    assert not issued[:25].any() and issued[25:].all()  # a day of history and the latest hour first
    v = f.values[issued]
    assert (v > 0).all() and (np.diff(v, axis=2) >= 0).all()


def test_bands_cover_roughly_their_levels_on_a_stationary_trace():
    x = diurnal(24 * 120, seed=3)
    f = history_forecasts(Trace(np.datetime64("2021-01-01"), 60, x))
    t = np.arange(24 * 40, len(x) - HORIZON_HOURS)
    actual = x[t[:, None] + np.arange(HORIZON_HOURS)]
    below = (actual[:, :, None] < f.values[t]).mean(axis=(0, 1))
    np.testing.assert_allclose(below, [0.1, 0.5, 0.9], atol=0.06)


def test_issued_refuses_rows_never_issued_and_bad_shapes():
    f = IssuedForecasts((0.1, 0.5, 0.9), np.full((5, 4, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="no forecast issued"):
        f.issued(np.array([2]))
    with pytest.raises(ValueError, match=r"include 0\.5"):
        IssuedForecasts((0.1, 0.9), np.ones((5, 4, 2)))
