"""The forecaster's model as a forecast source: the forecasts the operator's policy is served in production.

Every hour the forecaster service calls `cenas_forecaster.forecasting.forecast_at` on the `history_hours`
hours before that hour: the network ensemble's 96 h quantiles, their intervals calibrated on the forecasts
issued at the same hour of the previous `calibration_days` days whose 24 h blocks had ended (the service's
default, 14). Here `forecast_at` itself runs for every hour of a window on the same history, with the
network's outputs for all hours computed in one batch beforehand (the network is the cost; the rest is
about 2 ms an hour). Only intensities before an issue hour enter its row (a test rewrites the future and
checks).

Decision intervals other than an hour: the forecast issued at the start of the hour holding the decision
time serves the decision (the service issues hourly, and the operator reads its newest forecast); a finer
interval takes the value of the hour it lies in, a coarser one the mean of the hours it spans, and leads
past that forecast's 96 h repeat its last hour.

Levels: the network's quantiles (5, 10, 25, 50, 75, 90, 95 %) hold the policy's 0.1 / 0.5 / 0.9 exactly;
another level inside their range is interpolated linearly between its two neighbours, never extrapolated.

torch and cenas_forecaster are imported only when a forecast is made: the operator's runtime stays numpy.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import numpy as np

from .forecasts import HORIZON_HOURS, LEVELS, IssuedForecasts, at_levels
from .traces import Trace, resample

HOUR_MINUTES = 60


class Predictor(Protocol):
    """What this module needs of `cenas_forecaster.predictor.Predictor` (tests pass a numpy stand-in)."""

    quantile_levels: tuple[float, ...]
    median_index: int

    def level_index(self, level: float) -> int: ...

    def quantiles(self, series, issue_index: np.ndarray) -> np.ndarray: ...


def load_predictor() -> Predictor:
    """The shipped forecaster weights, on one torch thread: the machine is shared, and a whole window's
    inference takes seconds anyway."""
    import torch

    from cenas_forecaster.predictor import Predictor as TorchPredictor

    torch.set_num_threads(1)
    return TorchPredictor.load()


def weights_version() -> str:
    """`forecaster-<sha256 of the shipped weights file, 12 hex>`, recorded with benchmark results."""
    from cenas_forecaster.predictor import WEIGHTS_PATH

    return "forecaster-" + hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()[:12]


def service_calibration_days() -> int:
    """The service's default, so that the benchmark sees what the operator is served."""
    from cenas_forecaster.config import Settings

    return Settings.model_fields["calibration_days"].default


class _Precomputed:
    """A predictor whose network outputs were computed for every hour of `series` in one batch: forecast_at,
    called once per hour on a slice of the series, reads them instead of running the network again."""

    def __init__(self, predictor: Predictor, series, first: int, end: int) -> None:
        self.quantile_levels, self.median_index = predictor.quantile_levels, predictor.median_index
        self.level_index = predictor.level_index
        self.start_seconds, self.first = series.start_seconds, first
        self.raw = predictor.quantiles(series, np.arange(first, end))

    def quantiles(self, series, issue_index: np.ndarray) -> np.ndarray:
        hour = (series.start_seconds - self.start_seconds) // 3600 + issue_index
        return self.raw[hour - self.first]


def hourly_quantiles(
    predictor: Predictor, hourly: Trace, lo: int, hi: int, calibration_days: int
) -> np.ndarray:
    """(hi - lo, 96, Q) the forecasts the service issues at hours lo..hi-1 of `hourly` (each >= 14 days in):
    `forecast_at` on the history the service gives it (`history_hours`) before each hour."""
    from cenas_forecaster.features import CONTEXT_HOURS
    from cenas_forecaster.forecasting import forecast_at, history_hours
    from cenas_forecaster.series import HourlySeries

    if lo < CONTEXT_HOURS:
        raise ValueError(f"a model forecast needs {CONTEXT_HOURS} hours of history, got {lo}")
    start_seconds = int(hourly.start.astype("datetime64[s]").astype(np.int64))
    values, filled = hourly.intensity, np.zeros(len(hourly), bool)
    span = history_hours(calibration_days)
    # forecast_at asks the network for issues >= 14 days into the history it is given
    network = _Precomputed(
        predictor,
        HourlySeries(start_seconds, values, filled),
        max(CONTEXT_HOURS, lo - span + CONTEXT_HOURS),
        hi,
    )
    out = np.empty((hi - lo, HORIZON_HOURS, len(predictor.quantile_levels)))
    for h in range(lo, hi):
        a = max(0, h - span)
        history = HourlySeries(start_seconds + 3600 * a, values[a:h], filled[a:h])
        out[h - lo] = forecast_at(network, history, calibration_days).quantiles
    return out


def model_forecasts(
    trace: Trace,
    grid: Trace,
    first: int,
    stop: int,
    *,
    levels: tuple[float, ...] = LEVELS,
    calibration_days: int | None = None,
    predictor: Predictor | None = None,
) -> IssuedForecasts:
    """Forecasts on `grid` (the decision intervals: `trace` itself or `traces.resample` of it) for its
    intervals first..stop-1; other rows, and rows with under 14 days of history, are NaN (never issued)."""
    from cenas_forecaster.features import CONTEXT_HOURS

    predictor = predictor or load_predictor()
    days = service_calibration_days() if calibration_days is None else calibration_days
    hourly = trace if trace.step_minutes == HOUR_MINUTES else resample(trace, HOUR_MINUTES)
    step = grid.step_minutes
    horizon = round(HORIZON_HOURS * HOUR_MINUTES / step)
    values = np.full((len(grid), horizon, len(levels)), np.nan, np.float32)

    t = np.arange(first, stop)
    minutes = int((grid.start - hourly.start) / np.timedelta64(1, "m")) + t * step  # from hourly.start
    hour = minutes // HOUR_MINUTES  # the issue hour serving decision t
    keep = (hour >= CONTEXT_HOURS) & (hour <= len(hourly))
    t, minutes, hour = t[keep], minutes[keep], hour[keep]
    if not len(t):
        return IssuedForecasts(tuple(levels), values)
    lo, hi = int(hour.min()), int(hour.max()) + 1
    q = hourly_quantiles(predictor, hourly, lo, hi, days)
    q = at_levels(q, tuple(predictor.quantile_levels), tuple(levels))  # (hours, 96, L)
    # Lead j of decision t spans the hours lead_hour .. lead_hour + span - 1 of the forecast issued at `hour`.
    span = max(1, step // HOUR_MINUTES)
    offset = (minutes % HOUR_MINUTES)[:, None] + step * np.arange(horizon)[None, :]
    lead_hour = offset // HOUR_MINUTES
    idx = np.minimum(lead_hour[:, :, None] + np.arange(span), HORIZON_HOURS - 1)  # (n, horizon, span)
    picked = q[(hour - lo)[:, None, None], idx]  # (n, horizon, span, L)
    values[t] = np.sort(picked.mean(axis=2), axis=-1)
    return IssuedForecasts(tuple(levels), values)
