"""Rule-based policies. Each maps a PolicyInput (the same forecasts PPO sees) to proposed GPUs; the clamps
then apply to them exactly as to PPO. All are stateless, so an operator restart changes nothing."""

from __future__ import annotations

import numpy as np

from .features import PolicyInput

THRESHOLD_PERCENTILE = 50.0


def carbon_agnostic(x: PolicyInput) -> np.ndarray:
    """Run everything now, on every GPU."""
    return x.max_gpus.copy()


def threshold(x: PolicyInput, percentile: float = THRESHOLD_PERCENTILE) -> np.ndarray:
    """All GPUs while this interval's forecast is at or below the `percentile` of the forecasts up to the
    deadline (within the horizon), none above it."""
    window = x.window()
    cut = np.nanpercentile(np.where(window, x.median, np.nan), percentile, axis=1)
    return np.where(x.median[:, 0] <= cut, x.max_gpus, 0)


def wait_awhile(x: PolicyInput) -> np.ndarray:
    """Let's-Wait-Awhile-style window shifting: the job runs uninterrupted on all GPUs, starting at the
    contiguous window with the least forecast emissions; until it starts, that choice is re-made every
    interval with the newest forecast. Once running it never suspends."""
    med = x.median.astype(np.float64)
    b, h = med.shape
    run = (x.remaining_gpu_hours / x.max_gpus + x.resume_hours) / x.step_hours  # intervals, fractional
    full = np.floor(run).astype(np.int64)
    part = run - full
    last = np.minimum(np.minimum(x.steps_left, h), h)  # visible intervals before the deadline
    csum = np.concatenate([np.zeros((b, 1)), np.cumsum(med, axis=1)], axis=1)
    k = np.arange(h)[None, :]
    end = k + full[:, None]
    fits = end + (part[:, None] > 0) <= last[:, None]
    cost = np.take_along_axis(csum, np.minimum(end, h), axis=1) - csum[:, :h]
    cost = cost + part[:, None] * np.take_along_axis(med, np.minimum(end, h - 1), axis=1)
    best = np.argmin(np.where(fits, cost, np.inf), axis=1)
    start_now = (best == 0) | ~fits.any(axis=1) | (x.gpus > 0)
    return np.where(start_now, x.max_gpus, 0)


def greedy_forecast(x: PolicyInput) -> np.ndarray:
    """CarbonScaler-style greedy planner: run in the cleanest forecast intervals that still finish the
    work by the deadline, re-planned every interval; the marginal interval runs part of the GPUs."""
    med = x.median.astype(np.float64)
    window = x.window()
    need = x.remaining_gpu_hours / (x.max_gpus * x.step_hours)  # full intervals of work left
    need = need * window.sum(axis=1) / np.maximum(x.steps_left, 1)  # the visible window's share of it
    # Rank of now among the window (stable: earlier intervals win ties, so now wins among equals).
    rank = (window & (med < med[:, :1])).sum(axis=1)
    gpus = np.clip(need - rank, 0.0, 1.0) * x.max_gpus
    return np.ceil(gpus - 1e-9).astype(np.int64)


BASELINES = {
    "carbon_agnostic": carbon_agnostic,
    "threshold": threshold,
    "wait_awhile": wait_awhile,
    "greedy_forecast": greedy_forecast,
}
