from __future__ import annotations

from fastapi import APIRouter

from ..deps import EngineDep
from ..schemas import Location, LocationsResponse

router = APIRouter(prefix="/v1", tags=["locations"])


@router.get("/locations", response_model=LocationsResponse)
async def locations(engine: EngineDep) -> LocationsResponse:
    """The locations this service forecasts."""
    return LocationsResponse(
        locations=[Location(location=n, source=s.kind, description=s.description) for n, s in engine.sources.items()]
    )
