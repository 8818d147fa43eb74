"""Per-location state of the service: one snapshot (history, forecast, rendered JSON) per issue hour."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..forecasting import Forecast, forecast_at, history_hours, issue_hour, last_observation
from ..predictor import Predictor
from ..series import HOUR_SECONDS, format_time
from ..sources import Source, SourceUnavailable
from . import metrics


class UnknownLocation(LookupError):
    pass


class StaleData(Exception):
    """The newest observation is too old to forecast from (or there is none)."""


@dataclass(frozen=True)
class Snapshot:
    location: str
    issue_seconds: int  # source clock
    newest_start_seconds: int  # source clock: start of the newest observed hour
    newest_value: float
    forecast: Forecast
    forecast_body: bytes


def iso_served(source: Source, source_seconds: float) -> str:
    return format_time(round(source.served_time(source_seconds)))


def render_forecast(source: Source, snap_issue: int, newest_start: int, forecast: Forecast, now: float) -> bytes:
    step = source.served_seconds_per_hour
    mid, lo, hi = (forecast.quantile_levels.index(q) for q in (0.5, 0.05, 0.95))
    points = [
        {
            "startTime": iso_served(source, snap_issue + h * HOUR_SECONDS),
            "intensityGramsPerKilowattHour": round(float(q[mid]), 2),
            "lower90GramsPerKilowattHour": round(float(q[lo]), 2),
            "upper90GramsPerKilowattHour": round(float(q[hi]), 2),
            "quantilesGramsPerKilowattHour": [round(float(v), 2) for v in q],
        }
        for h, q in enumerate(forecast.quantiles)
    ]
    body = {
        "location": source.location,
        "source": source.kind,
        "issuedAt": iso_served(source, snap_issue),
        "generatedAt": format_time(round(now)),
        "dataUntil": iso_served(source, newest_start + HOUR_SECONDS),
        "resolutionSeconds": round(step, 3),
        "horizonSeconds": round(step * len(points), 3),
        "quantileLevels": list(forecast.quantile_levels),
        "intervalScaleByDay": [round(float(s), 4) for s in forecast.interval_scales],
        "points": points,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _median(forecast: Forecast) -> int:
    return forecast.quantile_levels.index(0.5)


class Engine:
    def __init__(
        self, predictor: Predictor, sources: dict[str, Source], *, calibration_days: int,
        max_staleness_seconds: int, clock: Callable[[], float] = time.time,
    ) -> None:
        self.predictor = predictor
        self.sources = sources
        self.calibration_days = calibration_days
        self.max_staleness_seconds = max_staleness_seconds
        self.clock = clock
        self.snapshots: dict[str, Snapshot] = {}
        self.locks = {name: asyncio.Lock() for name in sources}

    def source(self, location: str) -> Source:
        try:
            return self.sources[location]
        except KeyError:
            raise UnknownLocation(location) from None

    async def snapshot(self, location: str) -> Snapshot:
        """The snapshot for the current issue hour, computed once; on an upstream failure the previous one
        while its newest observation is fresh enough."""
        source = self.source(location)
        now_source = source.source_now(self.clock())
        issue = issue_hour(now_source)
        cached = self.snapshots.get(location)
        if cached is not None and cached.issue_seconds == issue:
            return cached
        async with self.locks[location]:
            cached = self.snapshots.get(location)
            if cached is not None and cached.issue_seconds == issue:
                return cached
            try:
                snap = await self._compute(source, issue)
            except (SourceUnavailable, StaleData):
                metrics.SOURCE_FAILURES.labels(location=location, source=source.kind).inc()
                if cached is not None and self.fresh(cached.newest_start_seconds, now_source):
                    return cached
                raise
            self.snapshots[location] = snap
            return snap

    def fresh(self, newest_start: int, now_source: float) -> bool:
        return now_source - (newest_start + HOUR_SECONDS) <= self.max_staleness_seconds

    async def _compute(self, source: Source, issue: int) -> Snapshot:
        hours = history_hours(self.calibration_days)
        history = await source.hourly(issue - hours * HOUR_SECONDS, issue)
        newest = last_observation(history)
        if newest is None or not self.fresh(newest[0], issue):
            seen = "no observation" if newest is None else f"the newest observation is from {format_time(newest[0])}"
            raise StaleData(f"{source.location}: {seen} (source clock {format_time(issue)})")
        started = time.perf_counter()
        forecast = await asyncio.to_thread(forecast_at, self.predictor, history, self.calibration_days)
        metrics.FORECAST_SECONDS.observe(time.perf_counter() - started)
        metrics.FORECASTS.labels(location=source.location).inc()
        metrics.OBSERVED.labels(location=source.location).set(newest[1])
        metrics.FORECAST_DAY_AHEAD.labels(location=source.location).set(
            float(forecast.quantiles[:24, _median(forecast)].mean())
        )
        body = render_forecast(source, issue, newest[0], forecast, self.clock())
        return Snapshot(source.location, issue, newest[0], newest[1], forecast, body)

    async def aclose(self) -> None:
        for source in self.sources.values():
            await source.aclose()
