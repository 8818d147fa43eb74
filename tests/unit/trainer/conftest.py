"""Helpers for the trainer's tests: tiny NB201 networks on the digits, one CPU thread."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

GOOD_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
TINY = ["--dataset", "digits", "--channels", "8", "--cells-per-stage", "1", "--threads", "1"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def trainer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", CENAS_METRICS_PORT="0", **extra)
    return env


REPO = Path(__file__).resolve().parents[3]


def image_entrypoint() -> list[str]:
    """The trainer image's ENTRYPOINT (exec form: a JSON array, so python is PID 1 and gets SIGTERM)."""
    text = (REPO / "trainer-image" / "Dockerfile").read_text()
    line = next(raw for raw in text.splitlines() if raw.startswith("ENTRYPOINT "))
    argv = json.loads(line.removeprefix("ENTRYPOINT "))
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    return argv


def trainer_cmd(*args: str) -> list[str]:
    """The image's entrypoint command, run with this interpreter: every CLI test runs what the pod runs."""
    argv = image_entrypoint()
    assert argv[0] == "python"
    return [sys.executable, *argv[1:], *args]


def run_trainer(*args: str, timeout: float = 120, **env: str) -> tuple[int, dict, str]:
    """Run the CLI to the end: (exit code, its closing JSON line, stderr)."""
    proc = subprocess.run(trainer_cmd(*args), capture_output=True, text=True, timeout=timeout, env=trainer_env(**env))
    return proc.returncode, last_json(proc.stdout), proc.stderr


def last_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line on stdout: {stdout!r}"
    return json.loads(lines[-1])


def start_trainer(*args: str, stderr_path: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        trainer_cmd(*args), stdout=subprocess.PIPE, stderr=open(stderr_path, "w"), text=True, env=trainer_env(**env)
    )


def wait_for_log(path: Path, needle: str, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text()
        if needle in text:
            return text
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited {proc.returncode} before logging {needle!r}:\n{text}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    raise AssertionError(f"no {needle!r} in the trainer log after {timeout}s:\n{path.read_text()}")


def load_state(step_dir: Path) -> dict:
    return torch.load(step_dir / "state.pt", weights_only=True)
