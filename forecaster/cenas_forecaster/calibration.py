"""Online calibration of the prediction intervals (pure): conformalised quantile regression on log scale.

The network's 5 % and 95 % quantiles are stretched or shrunk around the median by a factor `s` per 24 h
block, chosen so that the interval would have covered 90 % of recent actual values: those of forecasts whose
block had already ended when the new forecast is issued (never anything from after the issue time).
"""

from __future__ import annotations

import math

import numpy as np


def nonconformity(actual: np.ndarray, lower: np.ndarray, median: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """How far outside the interval each actual value lies, in units of the interval's half-width (log scale).

    A value <= 1 means the raw interval covers it; the interval scaled by s covers exactly the points <= s.
    """
    la, lm = np.log(actual), np.log(median)
    below = (lm - la) / np.maximum(lm - np.log(lower), 1e-9)
    above = (la - lm) / np.maximum(np.log(upper) - lm, 1e-9)
    return np.maximum(below, above)


def interval_scale(scores: np.ndarray, coverage: float = 0.9, min_points: int = 48) -> float:
    """Split-conformal factor from past scores; 1.0 (the network's own interval) when too few are known."""
    scores = scores[np.isfinite(scores)]
    n = len(scores)
    if n < min_points:
        return 1.0
    rank = min(math.ceil((n + 1) * coverage), n)
    return float(np.partition(scores, rank - 1)[rank - 1])


def block_scales(
    quantiles: np.ndarray, actual: np.ndarray, observed: np.ndarray, levels: tuple[int, int, int],
    first: int, calibration_days: int, coverage: float = 0.9,
) -> np.ndarray:
    """Interval scale per 24 h block for the daily forecasts first.. of `quantiles` (n_days, 96, Q).

    Forecast d, block k uses blocks k of forecasts d-k-calibration_days .. d-k-1: those over before d's issue
    time when the forecasts are one day apart. `levels` indexes the lower, median and upper quantiles.
    Returns (n_days - first, 96 // 24).
    """
    lo, mid, hi = levels
    n, horizon = actual.shape
    blocks = horizon // 24
    scores = nonconformity(actual, quantiles[..., lo], quantiles[..., mid], quantiles[..., hi])
    scores = np.where(observed, scores, np.nan).reshape(n, blocks, 24)
    scales = np.ones((n - first, blocks))
    for d in range(first, n):
        for k in range(blocks):
            last = d - k - 1
            if last >= 0:
                window = scores[max(0, last - calibration_days + 1) : last + 1, k]
                scales[d - first, k] = interval_scale(window, coverage)
    return scales


def apply_scales(quantiles: np.ndarray, median_index: int, scales: np.ndarray) -> np.ndarray:
    """Every quantile stretched around the median by its block's scale; (n, 96, Q) with scales (n, 4)."""
    median = quantiles[..., median_index : median_index + 1]
    s = np.repeat(scales, quantiles.shape[1] // scales.shape[1], axis=1)[..., None]
    return median * (quantiles / median) ** s
