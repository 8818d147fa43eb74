"""The forecaster's client: timeouts, bounded retries, a per-location cache and staleness.

Unknown intensity is never 0: a response with a missing, non-positive or non-finite value is a
failure, and when no fresh forecast is at hand the caller gets `ForecastUnavailable`, never a guess.
Contract: DESIGN.md section 6 (`GET /v1/forecasts/current`, `GET /v1/intensity/current`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np

RETRYABLE_STATUS = {500, 502, 504}  # 503 carries Retry-After: the service says when, we don't hammer it


class ForecastUnavailable(Exception):
    """No usable forecast: the message says why (outage, stale data, unknown location)."""


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


@dataclass(frozen=True)
class Forecast:
    location: str
    issued_at: dt.datetime
    resolution_seconds: float
    start_times: tuple[dt.datetime, ...]
    median_grams_per_kilowatt_hour: np.ndarray
    lower90_grams_per_kilowatt_hour: np.ndarray
    upper90_grams_per_kilowatt_hour: np.ndarray
    quantile_levels: tuple[float, ...] = ()  # every quantile the service sent (ascending), if it sent them
    quantiles_grams_per_kilowatt_hour: np.ndarray | None = None  # (points, len(quantile_levels))
    from_cache: bool = False

    def age_seconds(self, now: dt.datetime) -> float:
        return (now - self.issued_at).total_seconds()


@dataclass(frozen=True)
class Observation:
    location: str
    intensity_grams_per_kilowatt_hour: float
    start_time: dt.datetime
    age_seconds: float


def _positive(value: object, what: str) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ForecastUnavailable(f"{what} is {value!r}: not a positive intensity")
    return float(value)


def _quantiles(doc: dict, points: list) -> tuple[tuple[float, ...], np.ndarray | None]:
    """The full quantile list (`quantileLevels`, each point's `quantilesGramsPerKilowattHour`); optional, but
    when sent it must be whole: ascending levels in (0, 1) and a positive value for each at every point."""
    if "quantileLevels" not in doc:
        return (), None
    levels = tuple(float(v) for v in doc["quantileLevels"])
    if not levels or any(not 0 < v < 1 for v in levels) or list(levels) != sorted(set(levels)):
        raise ForecastUnavailable(f"quantileLevels {list(levels)} are not ascending levels in (0, 1)")
    rows = []
    for i, p in enumerate(points):
        values = p["quantilesGramsPerKilowattHour"]
        if len(values) != len(levels):
            raise ForecastUnavailable(f"points[{i}] has {len(values)} quantiles for {len(levels)} levels")
        rows.append([_positive(v, f"points[{i}].quantiles") for v in values])
    return levels, np.array(rows)


def parse_forecast(doc: dict) -> Forecast:
    """Validate a forecast document; any missing or non-positive value rejects the whole forecast."""
    try:
        points = doc["points"]
        if not points:
            raise ForecastUnavailable("the forecast has no points")
        medians = [_positive(p["intensityGramsPerKilowattHour"], f"points[{i}].intensity") for i, p in enumerate(points)]
        lower = [_positive(p["lower90GramsPerKilowattHour"], f"points[{i}].lower90") for i, p in enumerate(points)]
        upper = [_positive(p["upper90GramsPerKilowattHour"], f"points[{i}].upper90") for i, p in enumerate(points)]
        levels, quantiles = _quantiles(doc, points)
        return Forecast(
            location=doc["location"],
            issued_at=parse_time(doc["issuedAt"]),
            resolution_seconds=float(doc["resolutionSeconds"]),
            start_times=tuple(parse_time(p["startTime"]) for p in points),
            median_grams_per_kilowatt_hour=np.array(medians),
            lower90_grams_per_kilowatt_hour=np.array(lower),
            upper90_grams_per_kilowatt_hour=np.array(upper),
            quantile_levels=levels,
            quantiles_grams_per_kilowatt_hour=quantiles,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ForecastUnavailable(f"malformed forecast: {type(exc).__name__}: {exc}") from exc


class ForecastClient:
    """One per operator; safe to share between handlers (one event loop)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 5.0,
        max_age_seconds: float = 6 * 3600,
        retries: int = 2,
        backoff_seconds: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        on_request: Callable[[str, bool], None] | None = None,
        reuse_seconds: float = 0.0,
    ):
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds, transport=transport)
        self._max_age_seconds = max_age_seconds
        self._retries = retries
        self._backoff_seconds = backoff_seconds
        self._clock = clock
        self._on_request = on_request or (lambda endpoint, ok: None)  # metrics hook: (endpoint, success)
        self._cache: dict[str, Forecast] = {}  # the last forecast fetched per location
        self._fetched_at: dict[str, float] = {}  # when it was fetched (clock time)
        self._reuse_seconds = reuse_seconds

    async def aclose(self) -> None:
        await self._http.aclose()

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    async def _get(self, path: str, location: str) -> dict:
        """GET with retries on connection errors and 5xx (but 503); 4xx and 503 fail at once."""
        last = "no attempt"
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff_seconds * 2 ** (attempt - 1))
            if self._http.is_closed:  # the operator is shutting down: no request, and no exception kopf sees
                raise ForecastUnavailable(f"{path}: the client is closed (shutting down)")
            try:
                response = await self._http.get(path, params={"location": location})
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 200:
                self._on_request(path, True)
                return response.json()
            detail = _problem_detail(response)
            last = f"HTTP {response.status_code}: {detail}"
            if response.status_code not in RETRYABLE_STATUS:
                break
        self._on_request(path, False)
        raise ForecastUnavailable(f"{path}?location={location}: {last}")

    def recent(self, location: str) -> Forecast | None:
        """The forecast fetched for `location` less than `reuse_seconds` ago, or None. Synchronous and
        request-free, so a handler thread need not wait for the event loop: the service issues one forecast
        per hour, and 100 searches deciding in the same minute need one request, not 100."""
        fetched_at = self._fetched_at.get(location)
        if fetched_at is None or self._clock() - fetched_at >= self._reuse_seconds:
            return None
        return self._cache[location]

    async def forecast(self, location: str) -> Forecast:
        """The current forecast; on failure the cached one while it is fresh, else ForecastUnavailable."""
        try:
            forecast = parse_forecast(await self._get("/v1/forecasts/current", location))
        except ForecastUnavailable as failure:
            cached = self._cache.get(location)
            if cached is not None and cached.age_seconds(self._now()) <= self._max_age_seconds:
                return Forecast(**{**cached.__dict__, "from_cache": True})
            raise ForecastUnavailable(f"{failure} (no fresh cached forecast)") from failure
        self._cache[location] = forecast
        self._fetched_at[location] = self._clock()
        return forecast

    async def intensity(self, location: str) -> Observation:
        """The newest observed intensity; never cached (the ledger needs the realized value)."""
        doc = await self._get("/v1/intensity/current", location)
        try:
            return Observation(
                location=doc["location"],
                intensity_grams_per_kilowatt_hour=_positive(doc["intensityGramsPerKilowattHour"], "intensity"),
                start_time=parse_time(doc["startTime"]),
                age_seconds=float(doc["ageSeconds"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ForecastUnavailable(f"malformed intensity: {type(exc).__name__}: {exc}") from exc


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("title") or body)[:200] if isinstance(body, dict) else str(body)[:200]
