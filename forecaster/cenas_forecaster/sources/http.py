"""GET JSON from an upstream API with a timeout and retries with exponential backoff."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .base import SourceUnavailable

RETRY_STATUS = {429, 500, 502, 503, 504}


async def get_json(
    client: httpx.AsyncClient, url: str, *, params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None, auth: httpx.Auth | None = None, retries: int = 3,
    backoff_seconds: float = 0.5,
) -> Any:
    """The decoded JSON body of a 2xx answer. Transport errors, 429 and 5xx are retried (`retries` times,
    waiting backoff, 2 x backoff, ...); other answers and a last failure raise SourceUnavailable."""
    attempt = 0
    while True:
        try:
            response = await client.get(url, params=params, headers=headers, auth=auth)
        except httpx.HTTPError as err:
            problem = f"{type(err).__name__}: {err}"
        else:
            if response.is_success:
                try:
                    return response.json()
                except ValueError:
                    raise SourceUnavailable(f"{url}: the answer is not JSON") from None
            problem = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUS:
                raise SourceUnavailable(f"{url}: {problem}: {response.text[:200]}")
        if attempt >= retries:
            raise SourceUnavailable(f"{url}: {problem} after {attempt + 1} attempts")
        await asyncio.sleep(backoff_seconds * 2**attempt)
        attempt += 1
