"""Checkpoint store: complete-marker directories, atomic rename, keep 2, crash leftovers ignored."""

import json
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest
import torch

from cenas_trainer.checkpoint import COMPLETE, STATE_FILE, CheckpointRef, CheckpointStore, confirmed


def _state(v: float) -> dict:
    return {"model": {"w": torch.full((4,), v)}, "step": int(v)}


def test_save_writes_a_complete_directory_and_keeps_the_latest_two(tmp_path):
    store = CheckpointStore(tmp_path / "trial", keep=2)
    assert store.latest() is None
    for step in (1, 2, 3):
        ref = store.save(step, _state(step), {"hello": "world"})
        assert ref.path.name == f"step-{step}" and (ref.path / COMPLETE).exists()
    assert sorted(p.name for p in (tmp_path / "trial").iterdir()) == ["step-2", "step-3"]
    ref, state, meta = store.load_latest()
    assert ref.step == 3 and torch.equal(state["model"]["w"], torch.full((4,), 3.0))
    assert meta == {"hello": "world", "step": 3}
    marker = json.loads((ref.path / COMPLETE).read_text())
    assert marker["step"] == 3 and marker["time"].endswith("Z")
    assert marker["time"] == ref.time and len(ref.time) == len("2026-01-02T03:04:05.123456Z")  # microseconds


def test_a_checkpoint_saved_again_is_confirmed_with_a_new_time(tmp_path):
    """A stop right after a save of the same step (or right after resuming) gets the existing
    checkpoint back: it is reported with the time of the stop, not its old completion time."""
    store = CheckpointStore(tmp_path)
    since = datetime.now(UTC)
    first = store.save(4, _state(4), {})
    assert confirmed(first, since) == first  # written during this save: its own time
    later = datetime.now(UTC)
    again = store.save(4, _state(4), {})
    assert again.time == first.time  # the store returns the checkpoint that exists
    stamped = confirmed(again, later)
    assert (stamped.step, stamped.path) == (again.step, again.path)
    assert datetime.fromisoformat(stamped.time.replace("Z", "+00:00")) >= later
    assert datetime.fromisoformat(confirmed(CheckpointRef(4, again.path, ""), later).time) >= later


def test_incomplete_and_temporary_directories_are_ignored_then_removed(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    store.save(5, _state(5), {})
    (tmp_path / "step-9.tmp").mkdir()  # a save killed before its rename
    (tmp_path / "step-9.tmp" / STATE_FILE).write_bytes(b"half")
    (tmp_path / "step-8").mkdir()  # a directory without its marker
    (tmp_path / "step-8" / STATE_FILE).write_bytes(b"x")
    (tmp_path / "step-7").mkdir()  # a marker that does not match its state file
    torch.save(_state(7), tmp_path / "step-7" / STATE_FILE)
    (tmp_path / "step-7" / COMPLETE).write_text(json.dumps({"size": 1, "sha256": "0"}))
    assert store.latest().step == 5
    store.save(6, _state(6), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-5", "step-6"]


def test_corrupt_state_falls_back_to_the_previous_checkpoint(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    store.save(1, _state(1), {})
    newest = store.save(2, _state(2), {})
    data = bytearray((newest.path / STATE_FILE).read_bytes())
    data[-20] ^= 0xFF  # same size, different content: only the hash can tell
    (newest.path / STATE_FILE).write_bytes(bytes(data))
    ref, state, _ = store.load_latest()
    assert ref.step == 1 and torch.equal(state["model"]["w"], torch.full((4,), 1.0))


def test_saving_an_existing_step_again_keeps_the_first(tmp_path):
    store = CheckpointStore(tmp_path)
    first = store.save(4, _state(4), {"n": 1})
    again = store.save(4, _state(99), {"n": 2})
    assert again.path == first.path
    assert store.load(again)[1]["n"] == 1


@pytest.mark.parametrize("where", ["state"])  # the CLI test stalls the rename
def test_kill_9_while_saving_leaves_the_previous_checkpoint_usable(tmp_path, where):
    # A child process saves step 1, then stalls inside the save of step 2 (half-way through the state
    # file, or just before the rename) until it is SIGKILLed.
    script = textwrap.dedent(f"""
        import os, sys, time, torch
        from pathlib import Path
        from cenas_trainer.checkpoint import CheckpointStore
        store = CheckpointStore(Path({str(tmp_path)!r}))
        store.save(1, {{"w": torch.ones(10)}}, {{}})
        def stall(*a, **k):
            print("stalled", flush=True)
            time.sleep(120)
        if {where!r} == "state":
            real = torch.save
            def half(obj, f):
                f.write(b"PK\\x03\\x04 half a zip")
                f.flush()
                stall()
            torch.save = half
        else:
            os.rename = stall
        store.save(2, {{"w": torch.full((10,), 2.0)}}, {{}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "stalled"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert (tmp_path / "step-2.tmp").is_dir()
    store = CheckpointStore(tmp_path)
    ref, state, _ = store.load_latest()
    assert ref.step == 1 and torch.equal(state["w"], torch.ones(10))
    store.save(3, {"w": torch.zeros(1)}, {})
    assert not (tmp_path / "step-2.tmp").exists()
