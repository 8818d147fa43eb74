"""python -m cenas_forecaster serve [--host 0.0.0.0] [--port 8080]: run the service under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cenas_forecaster serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run(
        "cenas_forecaster.service.app:create_app", factory=True, host=args.host, port=args.port,
        log_level=args.log_level, access_log=False,
    )
    return 0
