"""The observation: the ONE definition of what a policy sees, shared by the simulator and the operator.

Everything here is computed from the forecast issued at decision time and the search's own state, never
from realized future intensity. Changing any feature, its order or scaling, or the action set below is a
new FEATURES_VERSION: weights trained on another version are refused by runtime.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES_VERSION = "cenas-policy-features/v1"

# The agent picks one of these fractions of the maximum GPUs (part of the versioned interface).
ACTION_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)

NEXT_HOURS = (1, 2, 3, 6, 12)  # forecast leads shown relative to now
BUDGET_AMPLE = 4.0  # budget ratio above which more budget changes nothing

FEATURE_NAMES = (
    "need_fraction",  # remaining work / (max GPUs x time left): share of the window that must run
    "hours_left_per_96",  # time to the deadline / 96 h
    "gpus_fraction",  # current allocation / max GPUs
    "rank_now",  # share of the window's forecast intervals cleaner than now (0: now is the cleanest)
    "rank_now_sure",  # share whose upper quantile is below now's median: surely cleaner
    "rank_now_maybe",  # share whose lower quantile is below now's median: possibly cleaner
    "now_minus_plan_threshold",  # (now - the greedy plan's cut-off intensity) / window mean
    "now_minus_mean",  # (now - window mean) / window mean
    "window_std",  # window std / window mean
    "now_minus_min",  # (now - cleanest window interval) / window mean
    "band_now",  # (upper - lower quantile) / median, this interval
    "band_window",  # the same, averaged over the window
    *(f"next_{h}h_minus_now" for h in NEXT_HOURS),  # (lead h - now) / window mean, 0 past the deadline
    "plan_run_hours_per_24",  # consecutive intervals from now inside the greedy plan, hours / 24
    "plan_gap_hours_per_24",  # intervals until the plan next runs (0 when it runs now), hours / 24
    "resume_per_interval",  # restart cost / interval length
    "suspend_per_interval",  # checkpoint cost / interval length
    "budget_ratio",  # budget left / emissions to finish at the window mean, capped at BUDGET_AMPLE
)
N_FEATURES = len(FEATURE_NAMES)


@dataclass(frozen=True)
class PolicyInput:
    """Everything a policy may see at one decision, for a batch of B searches."""

    forecast: np.ndarray  # (B, H, Q) gCO2eq/kWh issued now; lead 0 = the interval about to start
    levels: tuple[float, ...]  # quantile levels of the last axis, ascending, with 0.5
    step_hours: float  # decision interval
    remaining_gpu_hours: np.ndarray  # (B,) work left, GPU-hours
    steps_left: np.ndarray  # (B,) intervals to the deadline, this one included
    gpus: np.ndarray  # (B,) current allocation
    max_gpus: np.ndarray  # (B,)
    power_watts: np.ndarray  # (B,) per GPU
    resume_hours: np.ndarray  # (B,) time a (re)started GPU spends restoring before useful work
    suspend_hours: np.ndarray  # (B,) time a suspended GPU spends writing its checkpoint
    budget_left_grams: np.ndarray  # (B,) inf when the search has no carbon budget

    @property
    def median(self) -> np.ndarray:
        return self.forecast[:, :, self.levels.index(0.5)]

    def window(self) -> np.ndarray:
        """(B, H) True for the forecast leads before the deadline (at least lead 0)."""
        return np.arange(self.forecast.shape[1])[None, :] < np.maximum(self.steps_left, 1)[:, None]

    def need_fraction(self) -> np.ndarray:
        full = self.max_gpus * self.step_hours * np.maximum(self.steps_left, 1)
        return self.remaining_gpu_hours / full


def plan_threshold(median: np.ndarray, window: np.ndarray, need_fraction: np.ndarray) -> np.ndarray:
    """The intensity below which a greedy plan runs: the k-th cleanest forecast interval of the visible
    window, k = the share of the window the remaining work needs (at least one interval)."""
    n = window.sum(axis=1)
    k = np.clip(np.ceil(need_fraction * n - 1e-9), 1, np.maximum(n, 1)).astype(np.int64)
    ordered = np.sort(np.where(window, median, np.inf), axis=1)
    return np.take_along_axis(ordered, (k - 1)[:, None], axis=1)[:, 0]


def observe(x: PolicyInput) -> np.ndarray:
    """(B, N_FEATURES) float32 observation, every feature O(1) so the network needs no normalizer."""
    med = x.median.astype(np.float64)
    lo, hi = x.forecast[:, :, 0].astype(np.float64), x.forecast[:, :, -1].astype(np.float64)
    window = x.window()
    n = np.maximum(window.sum(axis=1), 1)
    steps_per_hour = 1.0 / x.step_hours
    need = x.need_fraction()

    mean = (med * window).sum(axis=1) / n
    std = np.sqrt((((med - mean[:, None]) ** 2) * window).sum(axis=1) / n)
    now = med[:, 0]
    cleaner = (window & (med < now[:, None])).sum(axis=1) + 0.5 * (
        (window & (med == now[:, None])).sum(axis=1) - 1
    )
    sure = (window & (hi < now[:, None])).sum(axis=1)
    maybe = (window & (lo < now[:, None])).sum(axis=1)
    threshold = plan_threshold(med, window, need)
    lowest = np.where(window, med, np.inf).min(axis=1)
    band = (hi - lo) / med

    horizon = med.shape[1]
    nxt = []
    for h in NEXT_HOURS:
        j = min(round(h * steps_per_hour), horizon - 1)
        nxt.append(np.where(window[:, j], (med[:, j] - now) / mean, 0.0))

    in_plan = window & (med <= threshold[:, None])
    run = np.cumprod(in_plan, axis=1).sum(axis=1)
    gap = np.where(in_plan.any(axis=1), np.argmax(in_plan, axis=1), n)

    to_finish = x.power_watts / 1000.0 * x.remaining_gpu_hours * mean
    budget = np.where(
        np.isfinite(x.budget_left_grams), x.budget_left_grams / np.maximum(to_finish, 1e-9), BUDGET_AMPLE
    )

    feats = [
        np.clip(need, 0.0, 1.5),
        np.clip(x.steps_left * x.step_hours / 96.0, 0.0, 2.0),
        x.gpus / x.max_gpus,
        cleaner / n,
        sure / n,
        maybe / n,
        (now - threshold) / mean,
        (now - mean) / mean,
        std / mean,
        (now - lowest) / mean,
        band[:, 0],
        (band * window).sum(axis=1) / n,
        *nxt,
        run * x.step_hours / 24.0,
        gap * x.step_hours / 24.0,
        x.resume_hours / x.step_hours,
        x.suspend_hours / x.step_hours,
        np.clip(budget, 0.0, BUDGET_AMPLE),
    ]
    out = np.stack([np.broadcast_to(np.asarray(f, dtype=np.float64), need.shape) for f in feats], axis=1)
    return np.clip(out, -5.0, 5.0).astype(np.float32)


def gpus_for_action(action: np.ndarray, max_gpus: np.ndarray) -> np.ndarray:
    """GPUs proposed by action indices into ACTION_FRACTIONS."""
    return np.rint(np.asarray(ACTION_FRACTIONS)[action] * max_gpus).astype(np.int64)
