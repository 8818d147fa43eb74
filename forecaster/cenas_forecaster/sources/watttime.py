"""WattTime API v3: GET /login with HTTP basic auth gives {"token": ...} (valid 30 minutes); GET
/v3/historical?region=&start=&end=&signal_type=co2_moer with `Authorization: Bearer` gives
{"data": [{"point_time": ISO, "value": lbs/MWh}], "meta": {...}} at 5-minute resolution. The signal is the
marginal operating emission rate (MOER), converted to gCO2/kWh; a token rejected with 401 is renewed once."""

from __future__ import annotations

import httpx
import numpy as np

from .base import SourceUnavailable
from .http import get_json
from .live import LiveSource, iso, parse_points, rows_of

GRAMS_PER_KWH_PER_LBS_PER_MWH = 0.45359237


class WattTimeSource(LiveSource):
    kind = "watttime"
    chunk_seconds = 30 * 86_400  # historical serves at most 32 days per request

    def __init__(self, location: str, region: str, username: str, password: str, **kwargs) -> None:
        super().__init__(location, **kwargs)
        self.region = region
        self.username = username
        self.password = password
        self.token = ""
        self.description = f"WattTime region {region} (marginal emission rate)"

    async def login(self) -> None:
        body = await get_json(
            self.client, f"{self.base_url}/login", auth=httpx.BasicAuth(self.username, self.password),
            retries=self.retries, backoff_seconds=self.backoff_seconds,
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not token:
            raise SourceUnavailable("watttime: the login answer has no token")
        self.token = str(token)

    async def fetch(self, start_seconds: int, end_seconds: int) -> tuple[np.ndarray, np.ndarray]:
        params = {"region": self.region, "start": iso(start_seconds), "end": iso(end_seconds),
                  "signal_type": "co2_moer"}
        for attempt in range(2):
            if not self.token:
                await self.login()
            response = await self._historical(params)
            if response is not None:
                break
            self.token = ""
            if attempt:
                raise SourceUnavailable("watttime: the token was rejected twice")
        meta = response.get("meta") if isinstance(response, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        units = meta.get("units", "lbs_co2_per_mwh")
        if units != "lbs_co2_per_mwh":
            raise SourceUnavailable(f"watttime: unexpected units {units!r}")
        rows = rows_of(response, "data")
        times, values = parse_points([(r.get("point_time"), r.get("value")) for r in rows])
        keep = times < end_seconds
        return times[keep], values[keep] * GRAMS_PER_KWH_PER_LBS_PER_MWH

    async def _historical(self, params: dict[str, str]) -> dict | None:
        """The answer, or None when the token was rejected (401)."""
        try:
            return await get_json(
                self.client, f"{self.base_url}/v3/historical", params=params,
                headers={"Authorization": f"Bearer {self.token}"}, retries=self.retries,
                backoff_seconds=self.backoff_seconds,
            )
        except SourceUnavailable as err:
            if "HTTP 401" in str(err):
                return None
            raise
