"""JSON error bodies ({"status", "title", "detail"}) for every error the API answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..sources import SourceUnavailable
from .engine import StaleData, UnknownLocation

TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    body = {"status": status, "title": TITLES.get(status, "Error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI, retry_after_seconds: int) -> None:
    retry = {"Retry-After": str(retry_after_seconds)}

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"parameter": ".".join(str(p) for p in e.get("loc", ())[1:]) or None, "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        return problem(400, detail or "invalid request", errors=errors)

    @app.exception_handler(UnknownLocation)
    async def _unknown(_: Request, exc: UnknownLocation) -> JSONResponse:
        return problem(404, f"unknown location '{exc.args[0]}'; GET /v1/locations lists the known ones")

    @app.exception_handler(StaleData)
    async def _stale(_: Request, exc: StaleData) -> JSONResponse:
        return problem(503, f"the data is stale: {exc}", retry)

    @app.exception_handler(SourceUnavailable)
    async def _unavailable(_: Request, exc: SourceUnavailable) -> JSONResponse:
        return problem(503, f"the data source is unavailable: {exc}", retry)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 503:
            headers.setdefault("Retry-After", str(retry_after_seconds))
        return problem(exc.status_code, str(exc.detail), headers or None)
