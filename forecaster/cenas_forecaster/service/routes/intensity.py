from __future__ import annotations

from fastapi import APIRouter

from ...series import HOUR_SECONDS
from ..deps import EngineDep
from ..engine import iso_served
from ..schemas import IntensityResponse, LocationQuery, Problem

router = APIRouter(prefix="/v1/intensity", tags=["intensity"])


@router.get("/current", response_model=IntensityResponse,
            responses={400: {"model": Problem}, 404: {"model": Problem}, 503: {"model": Problem}})
async def current_intensity(location: LocationQuery, engine: EngineDep) -> IntensityResponse:
    """The newest observed hourly intensity (never a filled-in or zero value)."""
    snap = await engine.snapshot(location)
    source = engine.source(location)
    end = snap.newest_start_seconds + HOUR_SECONDS
    return IntensityResponse(
        location=location,
        source=source.kind,
        intensityGramsPerKilowattHour=round(snap.newest_value, 3),
        startTime=iso_served(source, snap.newest_start_seconds),
        endTime=iso_served(source, end),
        ageSeconds=round(engine.clock() - source.served_time(end), 3),
    )
