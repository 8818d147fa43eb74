"""What the live adapters share: an httpx client, chunked history requests, points to an hourly grid."""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime

import httpx
import numpy as np

from ..series import HourlySeries, TraceError, parse_time, points_to_grid
from .base import Source, SourceUnavailable


def iso(seconds: int, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(fmt)


def rows_of(body: object, key: str) -> list[dict]:
    """The list of objects under `key` of a JSON answer; anything malformed counts as no rows."""
    rows = body.get(key) if isinstance(body, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def parse_points(items: list[tuple[object, object]]) -> tuple[np.ndarray, np.ndarray]:
    """(time text, value or None) pairs to arrays; a missing or non-numeric value is NaN (never 0)."""
    times = np.empty(len(items), dtype=np.int64)
    values = np.full(len(items), np.nan)
    for n, (when, value) in enumerate(items):
        try:
            times[n] = parse_time(str(when))
        except ValueError:
            raise SourceUnavailable(f"cannot parse the time {when!r}") from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[n] = float(value)
    return times, values


class LiveSource(Source):
    chunk_seconds: int = 10 * 86_400

    def __init__(
        self, location: str, *, base_url: str, timeout_seconds: float = 10.0, retries: int = 3,
        backoff_seconds: float = 0.5, client: httpx.AsyncClient | None = None,
    ) -> None:
        self.location = location
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.client = client or httpx.AsyncClient(timeout=timeout_seconds)

    @abstractmethod
    async def fetch(self, start_seconds: int, end_seconds: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, values in gCO2eq/kWh) of the points in [start, end), one request (range <= chunk)."""

    async def hourly(self, start_seconds: int, end_seconds: int) -> HourlySeries:
        parts = []
        for lo in range(start_seconds, end_seconds, self.chunk_seconds):
            parts.append(await self.fetch(lo, min(lo + self.chunk_seconds, end_seconds)))
        times = np.concatenate([p[0] for p in parts])
        values = np.concatenate([p[1] for p in parts])
        try:
            return points_to_grid(times, values, start_seconds, end_seconds)
        except TraceError as err:
            raise SourceUnavailable(f"{self.kind}: {err}") from None

    async def aclose(self) -> None:
        await self.client.aclose()
