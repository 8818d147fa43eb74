from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import EngineDep
from ..schemas import ForecastResponse, LocationQuery, Problem

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])

ERRORS = {400: {"model": Problem}, 404: {"model": Problem}, 503: {"model": Problem}}


@router.get("/current", response_model=ForecastResponse, responses=ERRORS)
async def current_forecast(location: LocationQuery, engine: EngineDep) -> Response:
    """The 96 h hourly forecast issued at the start of the current hour, with quantiles."""
    snap = await engine.snapshot(location)
    return Response(snap.forecast_body, media_type="application/json")
