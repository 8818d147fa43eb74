"""The forecaster's model as a forecast source: no look-ahead, the service's forecasts, shapes and levels.

A numpy stand-in for the network keeps these tests in milliseconds; the real weights run in test_cli.py.
"""

import numpy as np
import pytest

from cenas_forecaster.forecasting import forecast_at, history_hours
from cenas_forecaster.series import HourlySeries
from cenas_operator.policy.forecasts import HORIZON_HOURS, at_levels
from cenas_operator.policy.model_forecasts import model_forecasts
from cenas_operator.policy.traces import Trace, resample

from .conftest import diurnal

CONTEXT = 14 * 24
START = np.datetime64("2021-01-01T00:00")
NET_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


class FakePredictor:
    """Seasonal naive with a fixed log band, from the 14 days before each issue hour only."""

    quantile_levels = NET_LEVELS
    median_index = 3

    def level_index(self, level):
        return self.quantile_levels.index(level)

    def quantiles(self, series, issue_index):
        x = series.values
        idx = issue_index[:, None] - CONTEXT + np.arange(CONTEXT)[None, :]
        past = x[idx]  # (n, 336): only hours before each issue
        yesterday = past[:, -24:]
        median = np.tile(0.5 * yesterday + 0.5 * past[:, -168:].reshape(-1, 7, 24).mean(axis=1), 4)
        z = np.array([-1.64, -1.28, -0.67, 0.0, 0.67, 1.28, 1.64])
        spread = 0.05 + 0.1 * np.arange(HORIZON_HOURS) / HORIZON_HOURS
        return median[:, :, None] * np.exp(spread[None, :, None] * z[None, None, :])


def hourly_trace(days=24, seed=0):
    return Trace(START, 60, diurnal(24 * days, seed=seed))


def forecasts(trace, grid=None, first=0, stop=None, **kw):
    grid = trace if grid is None else grid
    return model_forecasts(
        trace, grid, first, len(grid) if stop is None else stop, predictor=FakePredictor(), **kw
    )


def test_a_row_uses_only_intensities_before_its_issue_time():
    trace = hourly_trace()
    base = forecasts(trace)
    t = 24 * 20 + 7
    future = trace.intensity.copy()
    future[t:] *= np.linspace(0.5, 3.0, len(future) - t)  # rewrite everything from interval t on
    changed = forecasts(Trace(START, 60, future))
    np.testing.assert_array_equal(base.values[: t + 1], changed.values[: t + 1])
    assert not np.allclose(base.values[t + 1 :], changed.values[t + 1 :])


def test_every_row_is_the_forecast_the_service_issues_at_that_hour():
    trace = hourly_trace(days=40, seed=4)
    days = 5  # short calibration so that it reaches its full window inside the trace
    f = forecasts(trace, first=24 * 30, calibration_days=days)
    start_seconds = int(START.astype("datetime64[s]").astype(np.int64))
    for t in (24 * 30, 24 * 30 + 13, len(trace) - 1):
        n = history_hours(days)  # the history the service passes to forecast_at
        history = HourlySeries(start_seconds + 3600 * (t - n), trace.intensity[t - n : t], np.zeros(n, bool))
        served = forecast_at(FakePredictor(), history, days).quantiles[:, [1, 3, 5]]
        np.testing.assert_allclose(f.values[t], served, rtol=1e-6)
    raw = forecasts(trace, first=24 * 30, calibration_days=0)  # no calibration: the network's own band
    np.testing.assert_allclose(raw.values[24 * 30 :, :, 1], f.values[24 * 30 :, :, 1], rtol=1e-6)
    assert not np.allclose(raw.values[24 * 30 :, :, 2], f.values[24 * 30 :, :, 2], rtol=1e-3)


def test_shapes_levels_and_rows_never_issued():
    trace = hourly_trace()
    f = forecasts(trace, first=24 * 10, stop=24 * 22)
    assert f.levels == (0.1, 0.5, 0.9) and f.values.shape == (len(trace), HORIZON_HOURS, 3)
    issued = ~np.isnan(f.values).any(axis=(1, 2))
    assert not issued[:CONTEXT].any() and issued[CONTEXT : 24 * 22].all() and not issued[24 * 22 :].any()
    v = f.values[issued]
    assert (v > 0).all() and (np.diff(v, axis=2) > 0).all()
    with pytest.raises(ValueError, match="no forecast issued"):
        f.issued(np.array([CONTEXT - 1]))


def test_levels_are_taken_or_interpolated_never_extrapolated():
    q = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    np.testing.assert_allclose(at_levels(q, NET_LEVELS, (0.1, 0.5, 0.9)), [[2.0, 4.0, 6.0]])
    np.testing.assert_allclose(at_levels(q, NET_LEVELS, (0.2, 0.5)), [[2.0 + 2 / 3, 4.0]])
    with pytest.raises(ValueError, match="outside"):
        at_levels(q, NET_LEVELS, (0.01, 0.5))


def test_finer_intervals_repeat_the_hour_issued_at_its_start():
    hourly = hourly_trace(days=20)
    fine = Trace(START, 15, np.repeat(hourly.intensity, 4) * np.tile([0.9, 1.1, 0.95, 1.05], len(hourly)))
    a, b = forecasts(hourly).values, forecasts(fine).values
    assert b.shape == (len(fine), 4 * HORIZON_HOURS, 3)
    h = CONTEXT + 5
    for k in range(4):  # every quarter of hour h sees the forecast issued at h
        np.testing.assert_allclose(b[4 * h + k, : 4 - k], np.repeat(a[h, :1], 4 - k, axis=0), rtol=1e-6)
        np.testing.assert_allclose(b[4 * h + k, 4 - k : 4 - k + 4 * 95 : 4], a[h, 1:], rtol=1e-6)
    np.testing.assert_allclose(b[4 * h + 3, -1], a[h, -1], rtol=1e-6)  # past 96 h: its last hour repeats


def test_coarser_intervals_average_their_hours():
    hourly = hourly_trace(days=20)
    grid = resample(hourly, 120)
    a, b = forecasts(hourly).values, forecasts(hourly, grid).values
    t = (CONTEXT + 6) // 2
    np.testing.assert_allclose(b[t], (a[2 * t, 0::2] + a[2 * t, 1::2]) / 2, rtol=1e-6)
