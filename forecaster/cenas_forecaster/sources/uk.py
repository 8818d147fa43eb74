"""GB carbon-intensity API (NESO): GET /intensity/{from}/{to} with times like 2021-07-01T00:00Z; answers
{"data": [{"from": ..., "to": ..., "intensity": {"forecast": n, "actual": n or null, "index": ...}}]} per
half hour, at most 14 days per request. Only `actual` is used; null (not yet known) is missing, never 0."""

from __future__ import annotations

import numpy as np

from .http import get_json
from .live import LiveSource, iso, parse_points, rows_of


class UKCarbonIntensitySource(LiveSource):
    kind = "uk"
    chunk_seconds = 14 * 86_400

    def __init__(self, location: str, **kwargs) -> None:
        super().__init__(location, **kwargs)
        self.description = "Great Britain national carbon intensity (NESO)"

    async def fetch(self, start_seconds: int, end_seconds: int) -> tuple[np.ndarray, np.ndarray]:
        fmt = "%Y-%m-%dT%H:%MZ"
        body = await get_json(
            self.client, f"{self.base_url}/intensity/{iso(start_seconds, fmt)}/{iso(end_seconds, fmt)}",
            headers={"Accept": "application/json"}, retries=self.retries, backoff_seconds=self.backoff_seconds,
        )
        items = [(r.get("from"), (r.get("intensity") or {}).get("actual")) for r in rows_of(body, "data")
                 if isinstance(r.get("intensity") or {}, dict)]
        times, values = parse_points(items)
        keep = (times >= start_seconds) & (times < end_seconds)
        return times[keep], values[keep]
