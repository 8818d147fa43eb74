"""Response shapes (they document the OpenAPI schema; units are in the field names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

LocationQuery = Annotated[
    str,
    Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
          description="a location from GET /v1/locations, e.g. CISO or US-CAL-CISO", examples=["CISO"]),
]


class ForecastPoint(BaseModel):
    startTime: str = Field(description="start of the hour (UTC, RFC 3339)")
    intensityGramsPerKilowattHour: float = Field(gt=0, description="point forecast (the median)")
    lower90GramsPerKilowattHour: float = Field(gt=0, description="5 % quantile (calibrated)")
    upper90GramsPerKilowattHour: float = Field(gt=0, description="95 % quantile (calibrated)")
    quantilesGramsPerKilowattHour: list[float] = Field(description="one value per entry of quantileLevels")


class ForecastResponse(BaseModel):
    location: str
    source: str = Field(description="replay, electricitymaps, watttime or uk")
    issuedAt: str = Field(description="issue time: the forecast uses observations before it")
    generatedAt: str
    dataUntil: str = Field(description="end of the newest observed hour")
    resolutionSeconds: float = Field(description="length of one point (3600 unless a replay is sped up)")
    horizonSeconds: float
    quantileLevels: list[float]
    intervalScaleByDay: list[float] = Field(description="calibration factor applied to each 24 h block")
    points: list[ForecastPoint] = Field(min_length=96, max_length=96)


class IntensityResponse(BaseModel):
    location: str
    source: str
    intensityGramsPerKilowattHour: float = Field(gt=0)
    startTime: str = Field(description="start of the observed hour (UTC)")
    endTime: str
    ageSeconds: float = Field(description="time since the end of the observed hour")


class Location(BaseModel):
    location: str
    source: str
    description: str


class LocationsResponse(BaseModel):
    locations: list[Location]


class Problem(BaseModel):
    status: int
    title: str
    detail: str


class Health(BaseModel):
    status: str
