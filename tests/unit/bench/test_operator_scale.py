"""bench/operator/scale.py: SIGTERM (`timeout`) and SIGINT run the clean-up that stops the cluster, in a child
process that installs the benchmark's handlers around a try/finally shaped like run()'s."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[3] / "bench" / "operator" / "scale.py"

CHILD = textwrap.dedent(f"""
    import importlib.util, os, signal, time
    spec = importlib.util.spec_from_file_location("scale", {str(SCALE)!r})
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    scale.stop_on_signals()
    try:
        print("running", flush=True)
        time.sleep(60)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal must not cut the clean-up short
        time.sleep(0.2)
        print("stopped the cluster", flush=True)
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_runs_the_clean_up_and_exits_128_plus_n(sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "running\n", proc.stderr.read()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert out == "stopped the cluster\n", err
    assert proc.returncode == 128 + sig
