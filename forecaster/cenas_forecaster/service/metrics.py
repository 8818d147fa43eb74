"""Prometheus metrics of the forecaster (own registry; prefix cenas_forecaster_, base units)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "cenas_forecaster_http_requests_total", "HTTP requests answered", ["route", "code"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "cenas_forecaster_http_request_duration_seconds", "Time to answer an HTTP request", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0), registry=REGISTRY,
)
FORECASTS = Counter(
    "cenas_forecaster_forecasts_total", "Forecasts computed (once per location and issue hour)", ["location"],
    registry=REGISTRY,
)
FORECAST_SECONDS = Histogram(
    "cenas_forecaster_forecast_duration_seconds", "Time to compute one forecast (network and calibration)",
    registry=REGISTRY,
)
SOURCE_FAILURES = Counter(
    "cenas_forecaster_source_failures_total", "Failed or stale source reads", ["location", "source"],
    registry=REGISTRY,
)
OBSERVED = Gauge(
    "cenas_forecaster_observed_intensity_grams_per_kilowatt_hour", "Newest observed carbon intensity",
    ["location"], registry=REGISTRY,
)
FORECAST_DAY_AHEAD = Gauge(
    "cenas_forecaster_forecast_day_ahead_mean_intensity_grams_per_kilowatt_hour",
    "Mean median forecast over the next 24 hours", ["location"], registry=REGISTRY,
)
MODEL_INFO = Gauge(
    "cenas_forecaster_model_info", "The loaded weights", ["sha256"], registry=REGISTRY
)


class MetricsMiddleware:
    """Pure ASGI middleware: request count and latency by route template (bounded label values)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(route=route, code=str(status["code"])).inc()
            REQUEST_SECONDS.labels(route=route).observe(time.perf_counter() - started)
