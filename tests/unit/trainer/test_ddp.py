"""Data-parallel workers (gloo on CPU): the launcher forwards SIGTERM, every rank stops at the same
step, and rank 0 writes one complete, ordinary checkpoint."""

import signal

from cenas_trainer.launcher import exit_code

from .conftest import GOOD_CELL, TINY, last_json, load_state, start_trainer, wait_for_log


def test_exit_code_prefers_failures_then_signal_stops():
    assert exit_code([0, 0]) == 0
    assert exit_code([143, 143]) == 143
    assert exit_code([143, 1]) == 1
    assert exit_code([0, -9]) == 137  # a worker killed by SIGKILL


def test_two_workers_stop_together_on_sigterm(tmp_path):
    args = ["train", "--arch", GOOD_CELL, *TINY, "--epochs", "3", "--checkpoint-dir", str(tmp_path),
            "--trial", "d", "--nproc-per-node", "2", "--log-every-steps", "1"]
    log = tmp_path / "log"
    proc = start_trainer(*args, stderr_path=log)
    wait_for_log(log, "step 10/57", proc)
    proc.send_signal(signal.SIGTERM)  # to the launcher only, as a kubelet signals PID 1
    out = last_json(proc.communicate(timeout=120)[0])
    assert proc.returncode == 143 and out["interrupted"]
    stopped = out["step"]
    assert [p.name for p in (tmp_path / "d").iterdir()] == [f"step-{stopped}"]
    assert (tmp_path / "d" / f"step-{stopped}" / "COMPLETE").exists()
    text = log.read_text()
    for rank in (0, 1):  # both ranks ran exactly up to the stop step
        assert f"rank {rank} cenas_trainer.modes: step {stopped}/57" in text
        assert f"rank {rank} cenas_trainer.modes: step {stopped + 1}/57" not in text
    # the checkpoint is an ordinary single-model one: any number of workers can resume from it
    state = load_state(tmp_path / "d" / f"step-{stopped}")
    assert not any(k.startswith("module.") for k in state["model"])
    assert state["scheduler"]["last_epoch"] == stopped
