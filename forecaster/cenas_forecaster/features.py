"""Model inputs (pure numpy): the last 14 days of intensity before an issue time plus calendar features.

Every window is normalised on its own (log scale, mean and standard deviation of the 14 days it shows), so one
model serves every region, including regions it never saw, using only data before the issue time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scoring import BLOCK_HOURS, HORIZON_HOURS

CONTEXT_DAYS = 14
CONTEXT_HOURS = CONTEXT_DAYS * BLOCK_HOURS
FUTURE_TOKENS = HORIZON_HOURS // BLOCK_HOURS
TOKENS = CONTEXT_DAYS + FUTURE_TOKENS
CALENDAR_FEATURES = 7 + 4 + 1  # day of week one-hot, hour-of-day and day-of-year sin/cos, is-future flag
MIN_LOG_STD = 0.02


@dataclass(frozen=True)
class Windows:
    """Normalised inputs for a batch of issue times."""

    past: np.ndarray  # (n, CONTEXT_DAYS, 24) normalised log intensity, one token per day
    calendar: np.ndarray  # (n, TOKENS, CALENDAR_FEATURES)
    scale: np.ndarray  # (n, 2) mean and std of the log intensity over the context (z = (log y - mean) / std)


def calendar_features(issue_seconds: np.ndarray) -> np.ndarray:
    """Calendar features of the 14 past and 4 future 24 h tokens around each issue time. (n, TOKENS, C)."""
    offsets = BLOCK_HOURS * 3600 * (np.arange(TOKENS) - CONTEXT_DAYS)
    starts = issue_seconds[:, None] + offsets[None, :]
    days = starts // 86_400
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    hour = (issue_seconds % 86_400) / 86_400.0
    year_phase = (starts % (365.2425 * 86_400)) / (365.2425 * 86_400)
    n = len(issue_seconds)
    out = np.zeros((n, TOKENS, CALENDAR_FEATURES), dtype=np.float32)
    out[np.arange(n)[:, None], np.arange(TOKENS)[None, :], dow] = 1.0
    out[:, :, 7] = np.sin(2 * np.pi * hour)[:, None]
    out[:, :, 8] = np.cos(2 * np.pi * hour)[:, None]
    out[:, :, 9] = np.sin(2 * np.pi * year_phase)
    out[:, :, 10] = np.cos(2 * np.pi * year_phase)
    out[:, CONTEXT_DAYS:, 11] = 1.0
    return out


def make_windows(values: np.ndarray, start_seconds: int, issue_index: np.ndarray) -> Windows:
    """Inputs for forecasts issued at hours `issue_index` of `values` (an hourly series starting at start_seconds).

    Uses only values[issue - CONTEXT_HOURS : issue] for each issue index.
    """
    if issue_index.size and int(issue_index.min()) < CONTEXT_HOURS:
        raise ValueError(f"each issue time needs {CONTEXT_HOURS} hours of history")
    if issue_index.size and int(issue_index.max()) > len(values):
        raise ValueError("an issue time is past the end of the history")
    idx = issue_index[:, None] - CONTEXT_HOURS + np.arange(CONTEXT_HOURS)[None, :]
    logs = np.log(values[idx])
    mean = logs.mean(axis=1)
    std = np.maximum(logs.std(axis=1), MIN_LOG_STD)
    z = (logs - mean[:, None]) / std[:, None]
    issue_seconds = start_seconds + 3600 * issue_index.astype(np.int64)
    return Windows(
        past=z.reshape(-1, CONTEXT_DAYS, BLOCK_HOURS).astype(np.float32),
        calendar=calendar_features(issue_seconds),
        scale=np.stack([mean, std], axis=1),
    )


def normalised_targets(values: np.ndarray, issue_index: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The next 96 hours after each issue time, on the window's normalised log scale. (n, 96)."""
    idx = issue_index[:, None] + np.arange(HORIZON_HOURS)[None, :]
    return ((np.log(values[idx]) - scale[:, :1]) / scale[:, 1:]).astype(np.float32)


def denormalise(z: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Back from the normalised log scale to gCO2eq/kWh; z is (n, ...), scale (n, 2)."""
    shape = (-1,) + (1,) * (z.ndim - 1)
    return np.exp(z * scale[:, 1].reshape(shape) + scale[:, 0].reshape(shape))
