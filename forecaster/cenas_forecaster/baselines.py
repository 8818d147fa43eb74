"""Persistence baselines (pure): each maps the history before an issue time to a 96 h forecast."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .scoring import HORIZON_HOURS

Baseline = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check(values: np.ndarray, issue_index: np.ndarray, history: int) -> None:
    if issue_index.size and int(issue_index.min()) < history:
        raise ValueError(f"each issue time needs {history} hours of history")
    if issue_index.size and int(issue_index.max()) > len(values):
        raise ValueError("an issue time is past the end of the history")


def persist_24h(values: np.ndarray, issue_index: np.ndarray) -> np.ndarray:
    """Same hour yesterday, repeated for every day of the horizon. Returns (issues, 96)."""
    _check(values, issue_index, 24)
    leads = np.arange(HORIZON_HOURS)
    return values[issue_index[:, None] - 24 + leads % 24]


def persist_168h(values: np.ndarray, issue_index: np.ndarray) -> np.ndarray:
    """Same hour one week earlier."""
    _check(values, issue_index, 168)
    leads = np.arange(HORIZON_HOURS)
    return values[issue_index[:, None] - 168 + leads % 168]


def mean_7d(values: np.ndarray, issue_index: np.ndarray) -> np.ndarray:
    """Mean of the last 7 days at the same hour of day."""
    _check(values, issue_index, 168)
    leads = np.arange(HORIZON_HOURS) % 24
    lags = 24 * np.arange(1, 8)
    idx = issue_index[:, None, None] - lags[None, None, :] + leads[None, :, None]
    return values[idx].mean(axis=2)


BASELINES: dict[str, Baseline] = {"persist_24h": persist_24h, "persist_168h": persist_168h, "mean_7d": mean_7d}
