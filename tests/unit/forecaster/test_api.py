import asyncio
import json
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
from anyio.from_thread import start_blocking_portal
from pydantic import ValidationError

from cenas_forecaster.config import Settings
from cenas_forecaster.series import format_time, parse_time
from cenas_forecaster.service import metrics
from cenas_forecaster.service.app import create_app
from cenas_forecaster.sources import UKCarbonIntensitySource
from cenas_forecaster.traces import load_shipped

WALL = float(parse_time("2027-01-10T00:20:00Z"))  # the wall clock when the service starts
ANCHOR = parse_time("2027-01-10T00:00:00Z")
REPLAY_START = "2021-07-01T00:00:00Z"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Client:
    """A blocking client of the real ASGI app, whose lifespan runs for as long as the client is open."""

    def __init__(self, portal, client: httpx.AsyncClient) -> None:
        self.portal, self.client = portal, client

    def get(self, path: str, params: dict | None = None) -> httpx.Response:
        return self.portal.call(lambda: self.client.get(path, params=params))


@contextmanager
def serving(app):
    with start_blocking_portal() as portal:
        lifespan = app.router.lifespan_context(app)
        portal.call(lifespan.__aenter__)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://forecaster")
        try:
            yield Client(portal, client)
        finally:
            portal.call(client.aclose)
            portal.call(lifespan.__aexit__, None, None, None)


def make_client(clock, **settings):
    base = {"replay_locations": ("CISO", "GB"), "replay_start": REPLAY_START, "calibration_days": 7}
    return serving(create_app(Settings(**(base | settings)), clock=clock))


def forecasts_count(location):
    return metrics.REGISTRY.get_sample_value("cenas_forecaster_forecasts_total", {"location": location}) or 0.0


def test_locations_lists_the_replayed_traces():
    with make_client(Clock(WALL)) as client:
        body = client.get("/v1/locations").json()
    assert {x["location"]: x["source"] for x in body["locations"]} == {"CISO": "replay", "GB": "replay"}


def test_current_forecast_has_96_hourly_points_with_ordered_quantiles():
    with make_client(Clock(WALL)) as client:
        r = client.get("/v1/forecasts/current", params={"location": "CISO"})
    assert r.status_code == 200
    body = r.json()
    assert body["issuedAt"] == format_time(ANCHOR)
    assert body["resolutionSeconds"] == 3600
    points = body["points"]
    assert len(points) == 96
    assert [p["startTime"] for p in points[:2]] == [format_time(ANCHOR), format_time(ANCHOR + 3600)]
    levels = body["quantileLevels"]
    for p in points:
        q = p["quantilesGramsPerKilowattHour"]
        assert len(q) == len(levels)
        assert q == sorted(q) and q[0] > 0
        assert p["lower90GramsPerKilowattHour"] <= p["intensityGramsPerKilowattHour"] <= p["upper90GramsPerKilowattHour"]
        assert p["intensityGramsPerKilowattHour"] == q[levels.index(0.5)]
    # plausible for CISO in July: within the range the trace showed over the 14 days before
    s = load_shipped("CISO")
    i = s.index_of(parse_time(REPLAY_START))
    history = s.values[i - 336 : i]
    median = np.array([p["intensityGramsPerKilowattHour"] for p in points])
    assert history.min() * 0.5 < median.min() and median.max() < history.max() * 1.5


def test_current_intensity_is_the_newest_observed_hour_of_the_trace():
    with make_client(Clock(WALL)) as client:
        body = client.get("/v1/intensity/current", params={"location": "GB"}).json()
    s = load_shipped("GB")
    expected = s.values[s.index_of(parse_time(REPLAY_START)) - 1]
    assert body["intensityGramsPerKilowattHour"] == pytest.approx(expected, abs=1e-3)
    assert body["startTime"] == format_time(ANCHOR - 3600)
    assert body["endTime"] == format_time(ANCHOR)
    assert body["ageSeconds"] == pytest.approx(WALL - ANCHOR)


def test_forecasts_are_cached_per_location_and_issue_hour():
    clock = Clock(WALL)
    with make_client(clock) as client:
        before = forecasts_count("CISO")
        a = client.get("/v1/forecasts/current?location=CISO").content
        b = client.get("/v1/forecasts/current?location=CISO").content
        client.get("/v1/intensity/current?location=CISO")
        assert a == b
        assert forecasts_count("CISO") == before + 1
        clock.now += 3600
        c = client.get("/v1/forecasts/current?location=CISO").json()
        assert forecasts_count("CISO") == before + 2
    assert c["issuedAt"] == format_time(ANCHOR + 3600)
    assert c["points"][0]["intensityGramsPerKilowattHour"] != json.loads(a)["points"][0]["intensityGramsPerKilowattHour"]


def test_sped_up_replay_compresses_the_hours():
    with make_client(Clock(WALL), replay_speed=60.0) as client:
        body = client.get("/v1/forecasts/current?location=CISO").json()
    assert body["resolutionSeconds"] == 60
    times = [parse_time(p["startTime"]) for p in body["points"][:3]]
    assert np.diff(times).tolist() == [60, 60]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/forecasts/current?location=MARS", 404),
        ("/v1/intensity/current?location=MARS", 404),
        ("/v1/forecasts/current", 400),
        ("/v1/forecasts/current?location=", 400),
        ("/v1/forecasts/current?location=%20CISO", 400),
        ("/v1/intensity/current?location=" + "X" * 65, 400),
        ("/v1/nothing", 404),
    ],
)
def test_bad_requests_get_json_errors(path, status):
    with make_client(Clock(WALL)) as client:
        r = client.get(path)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["detail"]


def test_stale_data_is_503_with_retry_after_never_zero():
    # the replay runs past the end of the CISO trace (2021-12-31) and does not loop
    with make_client(Clock(WALL), replay_start="2022-01-02T00:00:00Z", replay_loop=False,
                     retry_after_seconds=42) as client:
        for path in ("/v1/forecasts/current?location=CISO", "/v1/intensity/current?location=CISO"):
            r = client.get(path)
            assert r.status_code == 503
            assert r.headers["Retry-After"] == "42"
            assert "stale" in r.json()["detail"] or "no data" in r.json()["detail"]


def test_not_ready_before_the_lifespan_has_loaded_the_model():
    app = create_app(Settings(replay_locations=("CISO",)))

    async def go():
        transport = httpx.ASGITransport(app=app)  # no lifespan: the model is never loaded
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/readyz"), await client.get("/v1/forecasts/current?location=CISO"),
                    await client.get("/healthz"))

    ready, forecast, health = asyncio.run(go())
    assert ready.status_code == 503 and forecast.status_code == 503
    assert forecast.headers["Retry-After"] and forecast.json()["status"] == 503
    assert health.status_code == 200


def test_health_ready_metrics_and_openapi():
    with make_client(Clock(WALL)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        client.get("/v1/forecasts/current?location=CISO")
        text = client.get("/metrics").text
        spec = client.get("/openapi.json").json()
    assert 'cenas_forecaster_http_requests_total{code="200",route="/v1/forecasts/current"}' in text
    assert "cenas_forecaster_model_info" in text
    assert {"/v1/forecasts/current", "/v1/intensity/current", "/v1/locations"} <= set(spec["paths"])
    point = spec["components"]["schemas"]["ForecastPoint"]["properties"]
    assert "intensityGramsPerKilowattHour" in point


def test_live_source_serves_forecasts_and_falls_back_to_the_cached_one(upstream):
    wall = Clock(float(parse_time("2021-08-01T00:10:00Z")))
    source = UKCarbonIntensitySource("GB-live", base_url=upstream.url, retries=0, backoff_seconds=0)
    app = create_app(Settings(calibration_days=3, max_staleness_seconds=3 * 3600), clock=wall,
                     sources={"GB-live": source})
    with serving(app) as client:
        first = client.get("/v1/forecasts/current?location=GB-live")
        assert first.status_code == 200
        assert first.json()["source"] == "uk"
        observed = client.get("/v1/intensity/current?location=GB-live").json()
        s = upstream.series
        assert observed["intensityGramsPerKilowattHour"] == round(s.values[s.index_of(parse_time("2021-07-31T23:00"))])
        upstream.faults.extend([500] * 10)
        wall.now += 3600  # a new issue hour, the upstream fails: the previous forecast is still fresh
        again = client.get("/v1/forecasts/current?location=GB-live")
        assert again.status_code == 200 and again.content == first.content
        wall.now += 3 * 3600  # now it is too old
        late = client.get("/v1/forecasts/current?location=GB-live")
        assert late.status_code == 503 and "Retry-After" in late.headers


def test_settings_come_from_the_environment():
    s = Settings.from_env({
        "CENAS_FORECASTER_REPLAY_SPEED": "60",
        "CENAS_FORECASTER_REPLAY_LOCATIONS": "CISO, DE",
        "CENAS_FORECASTER_LIVE_LOCATIONS": '{"gb": {"source": "uk"}, "de": {"source": "electricitymaps", "zone": "DE"}}',
        "CENAS_FORECASTER_ELECTRICITYMAPS_API_KEY": "k",
        "OTHER": "ignored",
    })
    assert s.replay_speed == 60.0
    assert s.replay_locations == ("CISO", "DE")
    assert s.live_locations["de"].zone == "DE"
    assert s.electricitymaps_api_key == "k"
    with pytest.raises(ValidationError):
        Settings.from_env({"CENAS_FORECASTER_REPLAY_SPEED": "-1"})
    with pytest.raises(ValidationError):
        Settings.from_env({"CENAS_FORECASTER_LIVE_LOCATIONS": '{"x": {"source": "nowhere"}}'})


def test_an_accelerated_replay_starts_at_replay_start_whatever_the_wall_minute():
    from cenas_forecaster.service.app import replay_anchor

    now = 1_800_000_000.0 + 3599.0  # the last second of a wall hour
    assert replay_anchor(now, 1.0) == 1_800_000_000.0
    anchor = replay_anchor(now, 360.0)  # served hours of 10 s
    assert now - 10.0 < anchor <= now and anchor % 10.0 == 0
