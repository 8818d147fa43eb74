"""Online adaptation of the point forecast to one trace (pure): a per-lead stacking fitted on the past only.

One network serves every region, so it cannot know each grid's own mix of persistence and seasonality. For
each lead hour, a ridge regression on the trace's own recent forecasts maps the network's log error to seven
inputs known at the issue time, all as log ratios to the network's median: a constant, the last observed hour,
the mean of the last 3 hours, the same hour yesterday, the mean of the last 7 days at that hour, the network's
own 10 % quantile (how skewed it expects the error), and the error of the forecast issued a day earlier on the
hour just before the issue. The fitted correction multiplies every quantile (the intervals are
calibrated afterwards, calibration.py).

A forecast issued at t and lead h is fitted only on forecasts issued at s with s + h < t: their actual value was
known at t. The ridge pulls towards no correction, and a lead is left as the network made it until at least
MIN_DAYS of such forecasts exist: 90 for Day 1, 180 for Days 2-4 (fitted on fewer, the correction hurt Days 2-4
in validation).
"""

from __future__ import annotations

import numpy as np

from .baselines import mean_7d, persist_24h
from .scoring import BLOCK_HOURS

WINDOW_DAYS = 365  # the most recent forecasts a fit uses
MIN_DAYS = (90, 180, 180, 180)  # per 24 h block
RIDGE = 0.3  # on the sum of squares over the window, so its pull fades as forecasts accumulate
FEATURES = 7


def stacking_features(
    values: np.ndarray, issues: np.ndarray, median: np.ndarray, lower: np.ndarray
) -> np.ndarray:
    """(n, H, FEATURES) inputs for forecasts issued at hour indexes `issues` of `values`, with medians and 10 %
    quantiles (n, H).

    Uses only values[: issue] for each forecast, and the median of the forecast issued 24 h before it (NaN when
    there is none).
    """
    log_median = np.log(median)
    n, horizon = median.shape
    last = np.log(values[issues - 1])
    yesterday = np.full(n, np.nan)
    pos = np.searchsorted(issues, issues - BLOCK_HOURS)
    has = (pos < n) & (issues[np.minimum(pos, n - 1)] == issues - BLOCK_HOURS)
    yesterday[has] = last[has] - log_median[pos[has], BLOCK_HOURS - 1]
    return np.stack(
        [
            np.ones((n, horizon)),
            last[:, None] - log_median,
            np.log(values[issues[:, None] - np.arange(1, 4)]).mean(axis=1)[:, None] - log_median,
            np.log(persist_24h(values, issues)) - log_median,
            np.log(mean_7d(values, issues)) - log_median,
            np.log(lower) - log_median,
            np.repeat(yesterday[:, None], horizon, axis=1),
        ],
        axis=2,
    )


def point_corrections(
    features: np.ndarray,
    log_errors: np.ndarray,
    issues: np.ndarray,
    window: int = WINDOW_DAYS,
    min_days: tuple[int, ...] = MIN_DAYS,
    ridge: float = RIDGE,
) -> np.ndarray:
    """Log correction (n, H) of each forecast's median; 0 where a lead has fewer than `min_days` (per 24 h
    block) known errors.

    features (n, H, p); log_errors (n, H): log(actual / median), NaN where the actual value was not observed.
    Forecast d, lead h is fitted on the last `window` forecasts e with issues[e] + h < issues[d].
    """
    n, horizon, p = features.shape
    usable = np.isfinite(log_errors) & np.all(np.isfinite(features), axis=2)
    x = np.where(usable[..., None], features, 0.0)
    y = np.where(usable, log_errors, 0.0)

    def running(a: np.ndarray) -> np.ndarray:  # prefix sums over forecasts, with a leading 0
        return np.concatenate([np.zeros((1, *a.shape[1:]), a.dtype), np.cumsum(a, axis=0)])

    xx = running(np.einsum("ehp,ehq->ehpq", x, x))
    xy = running(x * y[..., None])
    count = running(usable.astype(np.int64))
    out = np.zeros((n, horizon))
    eye = ridge * np.eye(p)
    rows = np.arange(n)
    for h in range(horizon):
        hi = np.searchsorted(issues, issues - h, side="left")  # forecasts issued before issue - h
        lo = np.maximum(hi - window, 0)
        enough = count[hi, h] - count[lo, h] >= min_days[h // BLOCK_HOURS]
        ok = enough & np.all(np.isfinite(features[:, h]), axis=1)
        if not ok.any():
            continue
        d = rows[ok]
        a = xx[hi[d], h] - xx[lo[d], h] + eye
        b = xy[hi[d], h] - xy[lo[d], h]
        beta = np.linalg.solve(a, b[..., None])[..., 0]
        out[d, h] = np.einsum("dp,dp->d", features[d, h], beta)
    return out


def adapt(
    values: np.ndarray,
    issues: np.ndarray,
    quantiles: np.ndarray,
    levels: tuple[int, int],
    actual: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    """`quantiles` (n, H, Q) of forecasts issued at `issues` (ascending hour indexes), each scaled by its
    stacking correction; `levels` indexes the median and the 10 % quantile; `actual`/`observed` (n, H) are
    the realised values (only those before each issue time are used for it)."""
    median, lower = quantiles[..., levels[0]], quantiles[..., levels[1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.where(observed, np.log(actual) - np.log(median), np.nan)
    corrections = point_corrections(stacking_features(values, issues, median, lower), errors, issues)
    return quantiles * np.exp(corrections)[..., None]
