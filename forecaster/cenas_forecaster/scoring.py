"""The CarbonCast / DACF scoring protocol (pure).

One 96 h forecast is issued every day at 00:00 UTC with data up to the previous hour. "Day k" is leads
24(k-1) .. 24k-1. MAPE = 100 * mean(|actual - forecast| / |actual|) per issue day and 24-hour block, then
summarised over issue days (mean as published; median, p90 and p95 as well). Hours whose actual value was
filled in by a repair are left out of the score; a block with no observed hour is left out for that day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HORIZON_HOURS = 96
BLOCK_HOURS = 24
DAYS = HORIZON_HOURS // BLOCK_HOURS
DAY_SECONDS = 86_400


def issue_times(first_day_seconds: int, last_day_seconds: int) -> np.ndarray:
    """Midnights (UTC, seconds) from the first to the last issue day, both included."""
    if first_day_seconds % DAY_SECONDS or last_day_seconds % DAY_SECONDS:
        raise ValueError("issue days must be UTC midnights")
    if last_day_seconds < first_day_seconds:
        raise ValueError("the last issue day is before the first")
    return np.arange(first_day_seconds, last_day_seconds + 1, DAY_SECONDS, dtype=np.int64)


def block_mape(actual: np.ndarray, forecast: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
    """MAPE (%) per issue day and 24 h block.

    actual, forecast: (days, hours) with hours a multiple of 24; observed: same shape, False where the actual
    value is not a real observation. Returns (days, hours // 24), NaN where a block has no observed hour.
    """
    if actual.shape != forecast.shape:
        raise ValueError(f"shapes differ: actual {actual.shape}, forecast {forecast.shape}")
    n_days, hours = actual.shape
    if hours % BLOCK_HOURS:
        raise ValueError("hours must be a multiple of 24")
    if observed is None:
        observed = np.ones_like(actual, dtype=bool)
    ape = np.abs(actual - forecast) / np.abs(actual)
    ape = np.where(observed, ape, 0.0).reshape(n_days, hours // BLOCK_HOURS, BLOCK_HOURS)
    count = observed.reshape(n_days, hours // BLOCK_HOURS, BLOCK_HOURS).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, 100.0 * ape.sum(axis=2) / count, np.nan)


@dataclass(frozen=True)
class Summary:
    """Statistics over issue days of the per-day MAPE, one value per 24 h block."""

    mean: list[float]
    median: list[float]
    p90: list[float]
    p95: list[float]
    issue_days: int

    @classmethod
    def of(cls, per_day: np.ndarray) -> Summary:
        def stat(fn) -> list[float]:
            return [round(float(fn(col[~np.isnan(col)])), 4) for col in per_day.T]

        return cls(
            mean=stat(np.mean),
            median=stat(np.median),
            p90=stat(lambda c: np.percentile(c, 90)),
            p95=stat(lambda c: np.percentile(c, 95)),
            issue_days=int(per_day.shape[0]),
        )


def interval_coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, observed: np.ndarray) -> float:
    """Share of observed actual values inside [lower, upper]."""
    inside = (actual >= lower) & (actual <= upper)
    return float(inside[observed].mean())
