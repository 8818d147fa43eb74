"""Replay a shipped real trace as if it were live: trace time = start + speed x (wall time since the service
started). With `loop`, the trace starts again after its last whole week (weekday and hour stay aligned)."""

from __future__ import annotations

import numpy as np

from ..series import HOUR_SECONDS, HourlySeries, TraceError, points_to_grid
from .base import Source, SourceUnavailable

WEEK_HOURS = 168


class ReplaySource(Source):
    kind = "replay"

    def __init__(
        self, location: str, series: HourlySeries, *, start_seconds: int, wall_anchor_seconds: float,
        speed: float = 1.0, loop: bool = True, description: str = "",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.location = location
        self.series = series
        self.start_seconds = start_seconds
        self.wall_anchor = wall_anchor_seconds
        self.speed = speed
        self.loop = loop
        self.description = description
        self.period_hours = (len(series) // WEEK_HOURS) * WEEK_HOURS

    @property
    def served_seconds_per_hour(self) -> float:
        return HOUR_SECONDS / self.speed

    def source_now(self, wall_seconds: float) -> float:
        return self.start_seconds + self.speed * (wall_seconds - self.wall_anchor)

    def served_time(self, source_seconds: float) -> float:
        return self.wall_anchor + (source_seconds - self.start_seconds) / self.speed

    def trace_index(self, hours_seconds: np.ndarray) -> np.ndarray:
        """Index into the trace of each hour (source clock); -1 where the trace has no such hour."""
        idx = (hours_seconds - self.series.start_seconds) // HOUR_SECONDS
        if self.loop and self.period_hours:
            return np.mod(idx, self.period_hours)
        return np.where((idx >= 0) & (idx < len(self.series)), idx, -1)

    async def hourly(self, start_seconds: int, end_seconds: int) -> HourlySeries:
        hours = np.arange(start_seconds, end_seconds, HOUR_SECONDS, dtype=np.int64)
        idx = self.trace_index(hours)
        ok = idx >= 0
        values = np.full(len(hours), np.nan)
        values[ok] = np.where(self.series.filled[idx[ok]], np.nan, self.series.values[idx[ok]])
        try:
            return points_to_grid(hours, values, start_seconds, end_seconds)
        except TraceError as err:
            raise SourceUnavailable(f"the replayed trace has no data there: {err}") from None
