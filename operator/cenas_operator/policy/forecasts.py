"""Forecasts as the simulator sees them: one 96 h quantile forecast issued at the start of every interval.

The source is pluggable: anything that yields an `IssuedForecasts` array (the forecaster's model, a
published forecast, ...) can drive the simulator. `history_forecasts` is the built-in source: it uses only
the trace before each issue time, needs no torch, and takes a second for two years of hourly data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .traces import Trace

HORIZON_HOURS = 96
LEVELS = (0.1, 0.5, 0.9)
PROFILE_DAYS = 7  # days of same-hour history in the profile
ANOMALY_DECAY_HOURS = 24.0  # how fast the last observed deviation from the profile fades with lead
ERROR_DAYS = 28  # days of realized forecast errors behind the quantile bands
# Leads (hours) that share one error band: errors grow fast over the first hours, slowly after a day.
LEAD_GROUP_EDGES_HOURS = (0, 1, 2, 4, 8, 16, 24, 48, 72, 96)
NO_HISTORY_RATIOS = (0.8, 1.0, 1.2)  # band used until a day of realized errors exists
# The benchmark's sources: the forecaster's model (model_forecasts.py: what the operator is served) and
# the built-in history-only forecast below (no torch).
FORECAST_SOURCES = ("model", "history")


@dataclass(frozen=True)
class IssuedForecasts:
    """values[t, j, q]: the forecast issued at the start of interval t for interval t + j, quantile levels[q],
    in gCO2eq/kWh. Row t may use only intensities of intervals before t. NaN rows: no forecast issued."""

    levels: tuple[float, ...]
    values: np.ndarray  # (n_intervals, horizon_steps, n_levels) float32

    def __post_init__(self) -> None:
        if self.values.ndim != 3 or self.values.shape[2] != len(self.levels):
            raise ValueError(
                f"values must be (intervals, horizon, {len(self.levels)} levels), got {self.values.shape}"
            )
        if list(self.levels) != sorted(self.levels) or 0.5 not in self.levels:
            raise ValueError(f"levels must be ascending and include 0.5, got {self.levels}")

    @property
    def horizon_steps(self) -> int:
        return self.values.shape[1]

    @property
    def median_index(self) -> int:
        return self.levels.index(0.5)

    def issued(self, t: np.ndarray) -> np.ndarray:
        """The forecasts issued at intervals t: (len(t), horizon, levels); raises if one was never issued."""
        out = self.values[t]
        if np.isnan(out).any():
            bad = np.asarray(t)[np.isnan(out).any(axis=(1, 2))]
            raise ValueError(f"no forecast issued at interval(s) {bad[:5].tolist()}")
        return out


def _same_phase_mean(x: np.ndarray, period: int, count: int) -> np.ndarray:
    """m[u] = mean of x[u], x[u - period], ... (up to `count` values that exist)."""
    lags = np.full((count, len(x)), np.nan)
    for i in range(count):
        lags[i, period * i :] = x[: len(x) - period * i]
    return np.nanmean(lags, axis=0)


def point_forecasts(x: np.ndarray, steps_per_day: int, horizon: int) -> np.ndarray:
    """(n, horizon) point forecasts: the same-time mean of the last PROFILE_DAYS days, shifted by the latest
    deviation from that profile, the shift fading with lead. Rows before steps_per_day + 1 are NaN."""
    n = len(x)
    m = _same_phase_mean(x, steps_per_day, PROFILE_DAYS)
    out = np.full((n, horizon), np.nan)
    t = np.arange(steps_per_day + 1, n)[:, None]
    j = np.arange(horizon)[None, :]
    profile = m[t - steps_per_day + (j % steps_per_day)]
    anomaly = x[t - 1] - m[t - 1 - steps_per_day]
    decay = np.exp(-(j + 1) / (ANOMALY_DECAY_HOURS * steps_per_day / 24))
    # Intensity is positive; a large negative anomaly must not push the forecast through zero.
    out[steps_per_day + 1 :] = np.maximum(profile + anomaly * decay, 0.1 * profile)
    return out


def lead_groups(steps_per_day: int, horizon: int) -> np.ndarray:
    """(horizon,) the error-band group of every lead step."""
    hours = np.arange(horizon) * 24 / steps_per_day
    return np.searchsorted(np.array(LEAD_GROUP_EDGES_HOURS[1:]), hours, side="right")


def error_ratios(
    x: np.ndarray, point: np.ndarray, steps_per_day: int, levels: tuple[float, ...]
) -> np.ndarray:
    """(days, groups, levels): per issue day and lead group, the empirical quantiles of actual/forecast over
    forecasts issued in the previous ERROR_DAYS days whose every lead had been observed by that day."""
    n, horizon = point.shape
    days = -(-n // steps_per_day)
    group = lead_groups(steps_per_day, horizon)
    groups = int(group.max()) + 1
    valid_issue = ~np.isnan(point[:, 0])
    ratio = np.full((n, horizon), np.nan)
    t = np.arange(n)[:, None] + np.arange(horizon)[None, :]
    inside = t < n
    ratio[inside] = x[t[inside]] / point[inside]
    ratio[~valid_issue] = np.nan
    out = np.empty((days, groups, len(levels)))
    for d in range(days):
        hi = d * steps_per_day - horizon + 1  # issues < hi are fully observed at the start of day d
        lo = max(0, hi - ERROR_DAYS * steps_per_day)
        window = ratio[lo : max(lo, hi)]
        for g in range(groups):
            sample = window[:, group == g].ravel()
            sample = sample[~np.isnan(sample)]
            if sample.size >= steps_per_day:
                out[d, g] = np.quantile(sample, levels)
            else:
                out[d, g] = np.interp(levels, (0.1, 0.5, 0.9), NO_HISTORY_RATIOS)
    return out


def history_forecasts(trace: Trace, levels: tuple[float, ...] = LEVELS) -> IssuedForecasts:
    """The built-in, history-only source (see module docstring) on the trace's own interval grid."""
    steps_per_day = round(24 * 60 / trace.step_minutes)
    horizon = round(HORIZON_HOURS * 60 / trace.step_minutes)
    x = trace.intensity
    point = point_forecasts(x, steps_per_day, horizon)
    ratios = error_ratios(x, point, steps_per_day, levels)  # (days, groups, levels)
    day = np.arange(len(x)) // steps_per_day
    values = point[:, :, None] * ratios[day][:, lead_groups(steps_per_day, horizon), :]
    values = np.sort(values, axis=2)  # quantiles must not cross
    return IssuedForecasts(tuple(levels), values.astype(np.float32))


def at_levels(q: np.ndarray, have: tuple[float, ...], want: tuple[float, ...]) -> np.ndarray:
    """Quantiles (..., len(have)) at the levels `want`: taken where present, else linear between neighbours."""
    cols = []
    for level in want:
        i = int(np.searchsorted(have, level))
        if i < len(have) and np.isclose(have[i], level):
            cols.append(q[..., i])
        elif 0 < i < len(have):
            w = (level - have[i - 1]) / (have[i] - have[i - 1])
            cols.append((1 - w) * q[..., i - 1] + w * q[..., i])
        else:
            raise ValueError(f"level {level} is outside the forecaster's levels {have}")
    return np.stack(cols, axis=-1)


def issue_forecasts(
    source: str, raw: Trace, trace: Trace, first: int, stop: int
) -> tuple[IssuedForecasts, str]:
    """The forecasts of `source` on the decision grid `trace` (`raw` or `traces.resample` of it) and their
    version. The model issues rows first..stop-1 only; history issues every row (it costs a second)."""
    if source == "history":
        return history_forecasts(trace), "history"
    if source == "model":
        try:
            from .model_forecasts import model_forecasts, weights_version  # torch: only when asked for

            return model_forecasts(raw, trace, first, stop), weights_version()
        except ModuleNotFoundError as exc:  # e.g. the operator image: numpy only
            raise ValueError(f"the model forecast source needs the forecaster package and torch ({exc}); "
                             "install ./forecaster or use --forecasts history") from exc
    raise ValueError(f"unknown forecast source {source!r}; expected one of {', '.join(FORECAST_SOURCES)}")
