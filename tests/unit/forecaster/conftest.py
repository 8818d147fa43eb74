"""Fixtures of the forecaster tests. `upstream`: a local HTTP server that speaks the documented formats of the Electricity Maps (v3), WattTime (v3) and
GB carbon-intensity APIs, backed by a shipped real trace. Faults can be queued to test retries."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from cenas_forecaster.series import HourlySeries, parse_time
from cenas_forecaster.traces import load_shipped

EM_KEY = "em-test-key"
WT_USER, WT_PASSWORD = "wt-user", "wt-secret"
LBS_PER_MWH_PER_G_PER_KWH = 1 / 0.45359237


def iso(seconds: int, fmt: str) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(fmt)


class Upstream:
    em_key, wt_user, wt_password = EM_KEY, WT_USER, WT_PASSWORD

    def __init__(self, series: HourlySeries) -> None:
        self.series = series
        self.faults: deque[int] = deque()
        self.requests: list[str] = []
        self.tokens: set[str] = set()
        self.logins = 0
        self.null_after: int | None = None  # source times at or after this have no actual value yet
        self.malformed: object = None  # when set, every answer is 200 with this JSON body
        handler = type("Handler", (_Handler,), {"upstream": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def value(self, seconds: int) -> float | None:
        if self.null_after is not None and seconds >= self.null_after:
            return None
        i = (seconds - self.series.start_seconds) // 3600
        return float(self.series.values[i]) if 0 <= i < len(self.series) else None


class _Handler(BaseHTTPRequestHandler):
    upstream: Upstream

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        up = self.upstream
        url = urlsplit(self.path)
        up.requests.append(self.path)
        if up.faults:
            status = up.faults.popleft()
            self.reply(status, {"error": f"injected {status}"})
            return
        if up.malformed is not None:
            self.reply(200, up.malformed)
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/v3/carbon-intensity/past-range":
            self.electricitymaps(query)
        elif url.path == "/login":
            self.watttime_login()
        elif url.path == "/v3/historical":
            self.watttime_historical(query)
        elif url.path.startswith("/intensity/"):
            self.uk(url.path.split("/")[2:])
        else:
            self.reply(404, {"error": "not found"})

    def electricitymaps(self, query: dict[str, str]) -> None:
        if self.headers.get("auth-token") != EM_KEY:
            self.reply(401, {"status": "error", "message": "Invalid authentication token"})
            return
        start, end = parse_time(query["start"]), parse_time(query["end"])
        if end - start > 10 * 86_400:
            self.reply(400, {"status": "error", "message": "Time range too large (max 10 days)"})
            return
        rows = []
        for t in range(start, end + 1, 3600):  # past-range includes its end
            rows.append({
                "zone": query["zone"], "carbonIntensity": self.upstream.value(t),
                "datetime": iso(t, "%Y-%m-%dT%H:%M:%S.000Z"), "updatedAt": iso(t + 7200, "%Y-%m-%dT%H:%M:%S.000Z"),
                "createdAt": iso(t, "%Y-%m-%dT%H:%M:%S.000Z"), "emissionFactorType": "lifecycle",
                "isEstimated": False, "estimationMethod": None,
            })
        self.reply(200, {"zone": query["zone"], "data": rows, "temporalGranularity": "hourly"})

    def watttime_login(self) -> None:
        expected = "Basic " + base64.b64encode(f"{WT_USER}:{WT_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.reply(403, {"error": "invalid credentials"})
            return
        self.upstream.logins += 1
        token = f"token-{self.upstream.logins}"
        self.upstream.tokens.add(token)
        self.reply(200, {"token": token})

    def watttime_historical(self, query: dict[str, str]) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.upstream.tokens:
            self.reply(401, {"error": "invalid token"})
            return
        start, end = parse_time(query["start"]), parse_time(query["end"])
        if end - start > 32 * 86_400:
            self.reply(400, {"error": "max 32 days per request"})
            return
        rows = []
        for t in range(start, end + 1, 300):
            hourly = self.upstream.value(t - t % 3600)
            if hourly is not None:
                wobble = 1 + 0.05 * np.sin(2 * np.pi * (t % 3600) / 3600)  # 5-minute data averaging to the hour
                rows.append({"point_time": iso(t, "%Y-%m-%dT%H:%M:%S+00:00"),
                             "value": round(hourly * wobble * LBS_PER_MWH_PER_G_PER_KWH, 6)})
        meta = {"data_point_period_seconds": 300, "region": query["region"], "signal_type": query["signal_type"],
                "units": "lbs_co2_per_mwh", "warnings": [], "generated_at": iso(end, "%Y-%m-%dT%H:%M:%S+00:00"),
                "model": {"date": "2023-03-01", "type": "binned_regression"}}
        self.reply(200, {"data": rows, "meta": meta})

    def uk(self, parts: list[str]) -> None:
        try:
            start, end = parse_time(parts[0]), parse_time(parts[1])
        except (IndexError, ValueError):
            self.reply(400, {"error": {"code": "400 Bad Request", "message": "Please enter a valid date"}})
            return
        if end - start > 14 * 86_400:
            self.reply(400, {"error": {"code": "400 Bad Request", "message": "Date range exceeds 14 days"}})
            return
        rows = []
        for t in range(start, end, 1800):
            actual = self.upstream.value(t - t % 3600)
            forecast = self.upstream.value(t - t % 3600)
            rows.append({"from": iso(t, "%Y-%m-%dT%H:%MZ"), "to": iso(t + 1800, "%Y-%m-%dT%H:%MZ"),
                         "intensity": {"forecast": round(forecast or 150), "actual": None if actual is None
                                       else round(actual), "index": "moderate"}})
        self.reply(200, {"data": rows})


@pytest.fixture
def upstream():
    """The fake APIs serving the shipped GB Electricity Maps trace (2021-2022)."""
    with Upstream(load_shipped("GB")) as server:
        yield server
