"""Small synthetic traces and forecasts: every policy test runs in milliseconds without the shipped data."""

from pathlib import Path

import numpy as np
import pytest

from cenas_operator.policy.forecasts import IssuedForecasts
from cenas_operator.policy.traces import Trace


def diurnal(hours: int, seed: int = 0, noise: float = 25.0) -> np.ndarray:
    """A positive intensity with a daily cycle and noise, gCO2eq/kWh."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    wave = 300 + 120 * np.sin(2 * np.pi * t / 24) + 60 * np.sin(2 * np.pi * t / 97)
    return wave + rng.normal(0, noise, hours).clip(-2.4 * noise, 2.4 * noise)


def write_csv(path: Path, times: np.ndarray, values, column: str = "ci_direct") -> Path:
    lines = ["datetime_utc," + column]
    lines += [f"{str(t).replace('T', ' ')},{v}" for t, v in zip(times, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def trace() -> Trace:
    return Trace(np.datetime64("2021-01-01T00:00"), 60, diurnal(24 * 30))


def perfect_forecasts(intensity: np.ndarray, horizon: int = 96, spread: float = 0.1) -> IssuedForecasts:
    """Forecasts equal to the actual future (a test device: it shows what the policies do with the truth)."""
    n = len(intensity)
    idx = np.minimum(np.arange(n)[:, None] + np.arange(horizon)[None, :], n - 1)
    med = intensity[idx]
    values = np.stack([med * (1 - spread), med, med * (1 + spread)], axis=2)
    return IssuedForecasts((0.1, 0.5, 0.9), values.astype(np.float32))
