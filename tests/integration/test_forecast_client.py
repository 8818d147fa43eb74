"""The operator's forecast client against the real forecaster service (uvicorn on loopback,
replaying a shipped real trace): forecasts, unknown locations, outages and the fresh-cache rule."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from cenas_forecaster.config import Settings as ForecasterSettings
from cenas_forecaster.service.app import create_app
from cenas_operator.forecast_client import ForecastClient, ForecastUnavailable, parse_forecast

LOCATION = "US-CAL-CISO"


class Service:
    """The forecaster app served by uvicorn in a thread; `stop()` is an outage."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = create_app(ForecasterSettings(replay_locations=(LOCATION,)))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("forecaster did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def service() -> Iterator[Service]:
    svc = Service().start()
    yield svc
    svc.stop()


def run(coro):
    return asyncio.run(coro)


def test_current_forecast_and_intensity_are_positive(service):
    async def go():
        client = ForecastClient(service.url)
        try:
            return await client.forecast(LOCATION), await client.intensity(LOCATION)
        finally:
            await client.aclose()

    forecast, observed = run(go())
    assert len(forecast.start_times) == 96
    assert (forecast.median_grams_per_kilowatt_hour > 0).all()
    assert (forecast.lower90_grams_per_kilowatt_hour <= forecast.upper90_grams_per_kilowatt_hour).all()
    assert not forecast.from_cache
    assert observed.intensity_grams_per_kilowatt_hour > 0
    # every quantile the service sends, the policy's 10 / 90 % among them
    assert {0.1, 0.5, 0.9} <= set(forecast.quantile_levels)
    assert forecast.quantiles_grams_per_kilowatt_hour.shape == (96, len(forecast.quantile_levels))


def test_unknown_location_fails_at_once_with_the_reason(service):
    calls = []

    async def go():
        client = ForecastClient(service.url, on_request=lambda path, ok: calls.append(ok))
        try:
            await client.forecast("Atlantis")
        finally:
            await client.aclose()

    with pytest.raises(ForecastUnavailable, match="HTTP 404"):
        run(go())
    assert calls == [False]  # counted once as a failure


def test_outage_serves_the_cached_forecast_while_fresh_then_fails(service):
    now = [time.time()]

    async def go():
        client = ForecastClient(service.url, max_age_seconds=3 * 3600, retries=1, backoff_seconds=0.01,
                                clock=lambda: now[0])
        try:
            first = await client.forecast(LOCATION)
            service.stop()
            cached = await client.forecast(LOCATION)
            now[0] = first.issued_at.timestamp() + 3 * 3600 + 1  # past the freshness limit
            with pytest.raises(ForecastUnavailable, match="no fresh cached forecast"):
                await client.forecast(LOCATION)
            with pytest.raises(ForecastUnavailable):
                await client.intensity(LOCATION)  # realized intensity is never served from a cache
            return first, cached
        finally:
            await client.aclose()

    first, cached = run(go())
    assert cached.from_cache
    assert (cached.median_grams_per_kilowatt_hour == first.median_grams_per_kilowatt_hour).all()


def test_a_recent_forecast_is_reused_without_a_request_until_the_reuse_window_ends(service):
    now = [1000.0]
    requests = []

    async def go():
        client = ForecastClient(service.url, reuse_seconds=60, clock=lambda: now[0],
                                on_request=lambda endpoint, ok: requests.append(endpoint))
        try:
            assert client.recent(LOCATION) is None  # nothing fetched yet
            first = await client.forecast(LOCATION)
            now[0] += 59.0
            reused = client.recent(LOCATION)
            now[0] += 1.0
            expired = client.recent(LOCATION)
            return first, reused, expired
        finally:
            await client.aclose()

    first, reused, expired = run(go())
    assert reused is first and expired is None
    assert requests == ["/v1/forecasts/current"]  # the reuse asked nothing
    assert ForecastClient(service.url).recent(LOCATION) is None  # reuse is off by default


@pytest.mark.parametrize("levels, values", [([0.5, 0.1], [1.0, 2.0]), ([0.1, 0.5], [1.0]),
                                             ([0.1, 1.5], [1.0, 2.0]), ([0.1, 0.5], [1.0, 0.0])])
def test_a_partial_or_disordered_quantile_list_rejects_the_forecast(levels, values):
    point = {"startTime": "2026-11-01T00:00:00Z", "intensityGramsPerKilowattHour": 250.0,
             "lower90GramsPerKilowattHour": 200.0, "upper90GramsPerKilowattHour": 300.0,
             "quantilesGramsPerKilowattHour": values}
    doc = {"location": LOCATION, "issuedAt": "2026-11-01T00:00:00Z", "resolutionSeconds": 3600,
           "quantileLevels": levels, "points": [point]}
    with pytest.raises(ForecastUnavailable):
        parse_forecast(doc)


@pytest.mark.parametrize("bad", [0, -3.0, float("nan"), None, "400"])
def test_a_non_positive_or_missing_point_rejects_the_whole_forecast(bad):
    point = {"startTime": "2026-11-01T00:00:00Z", "intensityGramsPerKilowattHour": 250.0,
             "lower90GramsPerKilowattHour": 200.0, "upper90GramsPerKilowattHour": 300.0}
    doc = {"location": LOCATION, "issuedAt": "2026-11-01T00:00:00Z", "resolutionSeconds": 3600,
           "points": [point, {**point, "intensityGramsPerKilowattHour": bad}]}
    with pytest.raises(ForecastUnavailable, match=r"points\[1\]"):
        parse_forecast(doc)


def test_a_closed_client_fails_as_unavailable_not_with_an_error(service):
    async def go():
        client = ForecastClient(service.url)
        await client.aclose()
        with pytest.raises(ForecastUnavailable, match="closed"):
            await client.forecast(LOCATION)

    run(go())
