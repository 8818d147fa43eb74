"""Electricity Maps API v3: GET /v3/carbon-intensity/past-range?zone=&start=&end= with the `auth-token`
header; answers {"zone": ..., "data": [{"datetime": ISO, "carbonIntensity": number or null, ...}]}."""

from __future__ import annotations

import numpy as np

from .http import get_json
from .live import LiveSource, iso, parse_points, rows_of


class ElectricityMapsSource(LiveSource):
    kind = "electricitymaps"
    chunk_seconds = 10 * 86_400  # past-range serves at most 10 days of hourly data per request

    def __init__(self, location: str, zone: str, api_key: str, **kwargs) -> None:
        super().__init__(location, **kwargs)
        self.zone = zone
        self.api_key = api_key
        self.description = f"Electricity Maps zone {zone}"

    async def fetch(self, start_seconds: int, end_seconds: int) -> tuple[np.ndarray, np.ndarray]:
        body = await get_json(
            self.client, f"{self.base_url}/v3/carbon-intensity/past-range",
            params={"zone": self.zone, "start": iso(start_seconds), "end": iso(end_seconds)},
            headers={"auth-token": self.api_key}, retries=self.retries, backoff_seconds=self.backoff_seconds,
        )
        rows = rows_of(body, "data")
        times, values = parse_points([(r.get("datetime"), r.get("carbonIntensity")) for r in rows])
        keep = times < end_seconds  # the end of past-range is inclusive
        return times[keep], values[keep]
