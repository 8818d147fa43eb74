"""Request latency and throughput of the forecaster service for a cached 96 h forecast.

    .venv/bin/python bench/forecaster/latency.py [--rate 200] [--seconds 20] [--server-cpu 0]

Starts `python -m cenas_forecaster serve` on 127.0.0.1 (pinned to one CPU core with taskset when it is
there), warms the cache, then sends GET /v1/forecasts/current?location=CISO at a fixed rate (open loop:
requests start on schedule whether or not earlier ones finished) for a bounded time and reports latency
percentiles; then a closed loop with 16 concurrent clients for the maximum throughput. Loopback only.
The timed requests go through a minimal HTTP/1.1 keep-alive client on uvloop: httpx costs about as much
CPU per request as the server, and its queueing showed up as server latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import uvloop

PATH = "/v1/forecasts/current?location=CISO"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(client: httpx.AsyncClient, deadline_seconds: float = 120) -> None:
    end = time.monotonic() + deadline_seconds
    while time.monotonic() < end:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def server_histogram(text: str) -> dict[float, float]:
    """Cumulative bucket counts of the server's own request-duration histogram for the forecast route."""
    out = {}
    for line in text.splitlines():
        if line.startswith("cenas_forecaster_http_request_duration_seconds_bucket") and f'route="{PATH.split("?")[0]}"' in line:
            le = line.split('le="')[1].split('"')[0]
            out[float(le)] = float(line.rsplit(" ", 1)[1])
    return out


class KeepAlivePool:
    """GET over reused HTTP/1.1 connections (a new one only when all are busy); answers (status, body bytes)."""

    def __init__(self, port: int):
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> tuple[int, int]:
        while self.idle:
            conn = self.idle.pop()
            try:
                return await self._send(conn, path)
            except (OSError, asyncio.IncompleteReadError):
                conn[1].close()  # idle past the server's keep-alive timeout: it closed the connection
        return await self._send(await asyncio.open_connection("127.0.0.1", self.port), path)

    async def _send(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str) -> tuple[int, int]:
        reader, writer = conn
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise ValueError(f"no Content-Length in {head[:200]!r}")
        body = await reader.readexactly(int(length.group(1)))
        self.idle.append(conn)
        return int(head[9:12]), len(body)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_loop(pool: KeepAlivePool, rate: float, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        t = time.perf_counter()
        try:
            status, _ = await pool.get(PATH)
            if status != 200:
                errors += 1
        except (OSError, ValueError, asyncio.IncompleteReadError):
            errors += 1
        latencies.append(time.perf_counter() - t)

    tasks = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, errors


async def closed_loop(pool: KeepAlivePool, workers: int, seconds: float) -> int:
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await pool.get(PATH)
            done += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done


async def run(args: argparse.Namespace, port: int) -> dict:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10) as client:
        await wait_ready(client)
        first = await client.get(PATH)
        first.raise_for_status()
        size = len(first.content)
        pool = KeepAlivePool(port)
        await open_loop(pool, args.rate, 2)  # warm-up (opens the connections)
        before = server_histogram((await client.get("/metrics")).text)
        latencies, errors = await open_loop(pool, args.rate, args.seconds)
        after = server_histogram((await client.get("/metrics")).text)
        ms = np.array(latencies) * 1000
        done = await closed_loop(pool, 16, args.seconds / 2)
        pool.close()
    return {
        "rate_per_second": args.rate, "seconds": args.seconds, "requests": len(latencies), "errors": errors,
        "response_bytes": size, "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "server_side_share_within": {
            f"{le * 1000:g}ms": round((after[le] - before[le]) / max(after[inf] - before[inf], 1), 4)
            for le in (0.005, 0.01, 0.02) for inf in (float("inf"),)
        },
        "closed_loop_16_clients_requests_per_second": round(done / (args.seconds / 2), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--server-cpu", type=int, default=0, help="core the server is pinned to")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "latency.json")
    args = parser.parse_args(argv)
    port = free_port()
    cmd = [sys.executable, "-m", "cenas_forecaster", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(args.server_cpu), *cmd]
    env = dict(os.environ, CENAS_FORECASTER_REPLAY_LOCATIONS="CISO")
    server = subprocess.Popen(cmd, env=env)
    others = sorted(os.sched_getaffinity(0) - {args.server_cpu})
    if shutil.which("taskset") and others:
        os.sched_setaffinity(0, others)  # the load generator stays off the server's core
    try:
        result = uvloop.run(run(args, port))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    result["server_pinned_to_one_core"] = bool(shutil.which("taskset"))
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
