"""`--nproc-per-node N`: start N data-parallel workers of this same command and wait for them.

Each worker gets the torchrun environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
MASTER_ADDR, MASTER_PORT), so the workers also run unchanged under `torchrun`. This launcher exists
for the pod's stop contract: the container's PID 1 receives SIGTERM, forwards it to every worker,
and exits with the workers' code (143 after a clean stop at a checkpoint), which torchrun would turn
into a generic failure. When one worker fails, the others are stopped the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

from cenas_trainer.signals import StopFlag

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1
KILL_AFTER_SECONDS = 120.0  # a worker that ignores the forwarded signal this long is killed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(rank: int, world: int, port: int) -> dict[str, str]:
    return {
        **os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
    }


def exit_code(codes: list[int]) -> int:
    """Any failure wins; else a signal stop (128+N); else 0. Negative Popen codes are signal deaths."""
    codes = [128 - c if c < 0 else c for c in codes]
    failures = [c for c in codes if c not in (0,) and c < 128]
    if failures:
        return failures[0]
    stopped = [c for c in codes if c >= 128]
    return stopped[0] if stopped else 0


def launch(argv: list[str], nproc: int, stop: StopFlag) -> int:
    port = free_port()
    cmd = [sys.executable, "-m", "cenas_trainer", *argv]
    procs = [subprocess.Popen(cmd, env=worker_env(rank, nproc, port)) for rank in range(nproc)]
    log.info("launched %d workers (pids %s)", nproc, [p.pid for p in procs])
    signalled_at: float | None = None
    while any(p.poll() is None for p in procs):
        failed = [p for p in procs if p.returncode not in (None, 0)]
        if signalled_at is None and (stop.is_set() or failed):
            sig = stop.signum or signal.SIGTERM
            for p in procs:
                if p.poll() is None:
                    p.send_signal(sig)
            signalled_at = time.monotonic()
        if signalled_at is not None and time.monotonic() - signalled_at > KILL_AFTER_SECONDS:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(POLL_SECONDS)
    return exit_code([p.returncode for p in procs])
