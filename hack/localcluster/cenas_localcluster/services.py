"""The product's two services as child processes for the demo and the integration tests: the forecaster
(replaying a shipped trace at an accelerated clock) and the operator (`python -m cenas_operator`, the image's
entrypoint around `kopf run`). Each logs to a file, is ready when its HTTP endpoint answers, and can be
stopped (SIGTERM) or killed (SIGKILL, a crash)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, ready_url: str):
        self.name, self.argv, self.env, self.log_path, self.ready_url = name, argv, env, log_path, ready_url
        self.proc: subprocess.Popen | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 120.0) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:  # appended: a restarted service keeps its history
            self.proc = subprocess.Popen(self.argv, env={**os.environ, **self.env}, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: see {self.log_path}")
            try:
                if httpx.get(self.ready_url, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s: see {self.log_path}")

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
            self.proc.wait()


def forecaster(*, port: int, location: str, replay_start: str, speed: float, log_dir: Path) -> Service:
    env = {"CENAS_FORECASTER_REPLAY_LOCATIONS": location, "CENAS_FORECASTER_REPLAY_START": replay_start,
           "CENAS_FORECASTER_REPLAY_SPEED": str(speed)}
    argv = [sys.executable, "-m", "cenas_forecaster", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
    return Service("forecaster", argv, env, log_dir / "forecaster.log", f"http://127.0.0.1:{port}/readyz")


def operator(*, kubeconfig: Path, env: dict[str, str], log_dir: Path, namespace: str | None = None) -> Service:
    """The operator as the image runs it, with CENAS_* settings in `env`, watching one namespace or all."""
    health = free_port()
    argv = [sys.executable, "-m", "cenas_operator", f"--liveness=http://127.0.0.1:{health}/healthz"]
    # Set even when empty (all namespaces): a CENAS_NAMESPACES of the caller's environment must not leak in.
    env = {"KUBECONFIG": str(kubeconfig), **env, "CENAS_NAMESPACES": namespace or ""}
    return Service("operator", argv, env, log_dir / "operator.log", f"http://127.0.0.1:{health}/healthz")
