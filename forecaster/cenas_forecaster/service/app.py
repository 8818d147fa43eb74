"""Compose the FastAPI app. The model and the sources are loaded in the lifespan handler, never at import."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..config import Settings
from ..predictor import Predictor
from ..series import parse_time
from ..sources import ElectricityMapsSource, ReplaySource, Source, UKCarbonIntensitySource, WattTimeSource
from ..traces import load_shipped, shipped_traces
from . import errors, metrics
from .engine import Engine
from .routes import forecasts, health, intensity, locations


def build_sources(settings: Settings, wall_anchor_seconds: float) -> dict[str, Source]:
    """Replay sources for the shipped traces (all by default) and the configured live ones."""
    shipped = shipped_traces()
    names = settings.replay_locations if settings.replay_locations is not None else tuple(shipped)
    unknown = [n for n in names if n not in shipped]
    if unknown:
        raise ValueError(f"no shipped trace for {', '.join(unknown)}; shipped: {', '.join(shipped)}")
    start = parse_time(settings.replay_start)
    sources: dict[str, Source] = {
        n: ReplaySource(
            n, load_shipped(n), start_seconds=start, wall_anchor_seconds=wall_anchor_seconds,
            speed=settings.replay_speed, loop=settings.replay_loop,
            description=f"replay of the shipped {shipped[n].dataset} trace",
        )
        for n in names
    }
    http = {"timeout_seconds": settings.http_timeout_seconds, "retries": settings.http_retries,
            "backoff_seconds": settings.http_backoff_seconds}
    for name, live in settings.live_locations.items():
        if live.source == "electricitymaps":
            sources[name] = ElectricityMapsSource(
                name, live.zone, settings.electricitymaps_api_key, base_url=settings.electricitymaps_base_url, **http
            )
        elif live.source == "watttime":
            sources[name] = WattTimeSource(
                name, live.zone, settings.watttime_username, settings.watttime_password,
                base_url=settings.watttime_base_url, **http,
            )
        else:
            sources[name] = UKCarbonIntensitySource(name, base_url=settings.uk_base_url, **http)
    return sources


def replay_anchor(now: float, speed: float) -> float:
    """The wall time at which replayed traces are at `replay_start`: the start of the current served hour
    (3600 / speed wall seconds), so that trace hours begin on served-hour boundaries and the replay starts
    within one served hour of `replay_start`, at any speed."""
    served_hour = 3600.0 / speed
    return (now // served_hour) * served_hour


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.time,
    sources: dict[str, Source] | None = None,
) -> FastAPI:
    """The app; `sources` replaces the ones built from the settings (tests)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        predictor = Predictor.load(settings.weights_path)
        metrics.MODEL_INFO.labels(sha256=hashlib.sha256(settings.weights_path.read_bytes()).hexdigest()[:16]).set(1)
        anchor = replay_anchor(clock(), settings.replay_speed)
        engine = Engine(
            predictor, sources if sources is not None else build_sources(settings, anchor),
            calibration_days=settings.calibration_days, max_staleness_seconds=settings.max_staleness_seconds,
            clock=clock,
        )
        app.state.engine = engine
        try:
            yield
        finally:
            app.state.engine = None
            await engine.aclose()

    app = FastAPI(
        title="cenas forecaster",
        version="0.1.0",
        description="Hourly carbon-intensity forecasts (96 h, with quantiles) for carbon-aware scheduling.",
        lifespan=lifespan,
    )
    app.state.engine = None
    errors.install(app, settings.retry_after_seconds)
    for module in (forecasts, intensity, locations, health):
        app.include_router(module.router)
    app.add_middleware(metrics.MetricsMiddleware)
    app.openapi = lambda: openapi_without_422(app)
    return app


def openapi_without_422(app: FastAPI) -> dict:
    """FastAPI documents 422 for invalid parameters; this API answers 400 (errors.py), so say that instead."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema["paths"].values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", {"description": "Bad Request",
                                                 "content": {"application/json": {"schema": {"$ref": PROBLEM}}}})
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


PROBLEM = "#/components/schemas/Problem"
