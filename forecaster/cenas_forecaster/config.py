"""Service settings: one typed class, read from environment variables CENAS_FORECASTER_<FIELD NAME>."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .predictor import WEIGHTS_PATH

ENV_PREFIX = "CENAS_FORECASTER_"


class LiveLocation(BaseModel):
    """A location served from a live API instead of a shipped trace."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["electricitymaps", "watttime", "uk"]
    zone: str = Field(default="", description="Electricity Maps zone, WattTime region; unused for uk")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights_path: Path = Field(default=WEIGHTS_PATH, description="trained weights (.pt)")
    replay_locations: tuple[str, ...] | None = Field(
        default=None, description="shipped traces to replay (comma-separated names); default: all of them"
    )
    live_locations: dict[str, LiveLocation] = Field(
        default_factory=dict, description='JSON: {"name": {"source": "electricitymaps", "zone": "DE"}, ...}'
    )
    replay_start: str = Field(
        default="2021-07-01T00:00:00Z", description="trace time replayed at the moment the service starts"
    )
    replay_speed: float = Field(default=1.0, gt=0, le=86_400, description="trace seconds per wall-clock second")
    replay_loop: bool = Field(default=True, description="start the trace again at its end (else: 503, stale)")
    calibration_days: int = Field(default=14, ge=0, le=60, description="issue days used to calibrate intervals")
    max_staleness_seconds: int = Field(
        default=3 * 3600, gt=0, description="newest observation older than this: 503 (stale)"
    )
    retry_after_seconds: int = Field(default=60, gt=0, description="Retry-After sent with 503 responses")
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    http_retries: int = Field(default=3, ge=0, le=10, description="retries of a failed upstream request")
    http_backoff_seconds: float = Field(default=0.5, ge=0, description="first retry delay; doubles each time")
    electricitymaps_base_url: str = "https://api.electricitymap.org"
    electricitymaps_api_key: str = ""
    watttime_base_url: str = "https://api.watttime.org"
    watttime_username: str = ""
    watttime_password: str = ""
    uk_base_url: str = "https://api.carbonintensity.org.uk"

    @field_validator("replay_locations", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("live_locations", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {
            name: environ[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if ENV_PREFIX + name.upper() in environ
        }
        return cls(**values)
