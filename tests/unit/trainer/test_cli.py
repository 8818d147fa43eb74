"""The real CLI as a subprocess: accuracy on digits, SIGTERM -> 143 with a complete checkpoint and a
bitwise-identical resume, kill -9 during a save, fail-fast errors, termination message."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest
import torch

from cenas_spaces import Macro, network_cost, parse_arch

from .conftest import (
    GOOD_CELL,
    TINY,
    last_json,
    load_state,
    run_trainer,
    start_trainer,
    trainer_cmd,
    trainer_env,
    wait_for_log,
)

EPOCHS = "5"  # 19 steps per epoch on the digits with batch 64: 95 steps


def train_args(tmp: Path, trial: str, *extra: str) -> list[str]:
    return ["train", "--arch", GOOD_CELL, *TINY, "--epochs", EPOCHS, "--checkpoint-dir", str(tmp),
            "--trial", trial, "--seed", "7", *extra]


class Reference:
    """An uninterrupted run, started in the background (it uses the second core while a test runs)."""

    def __init__(self, tmp: Path):
        self.message = tmp / "termination-log"
        self.message.write_text("")
        self.tmp = tmp
        self.proc = subprocess.Popen(
            trainer_cmd(*train_args(tmp, "ref", "--termination-log", str(self.message))),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=trainer_env(),
        )
        self._out: dict | None = None

    def result(self) -> tuple[dict, Path]:
        """Its closing line and its final checkpoint directory."""
        if self._out is None:
            stdout, stderr = self.proc.communicate(timeout=180)
            assert self.proc.returncode == 0, stderr
            self._out = last_json(stdout)
        return dict(self._out), self.tmp / "ref" / f"step-{self._out['step']}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = Reference(tmp_path_factory.mktemp("reference"))
    yield ref
    if ref.proc.poll() is None:
        ref.proc.kill()
        ref.proc.wait()


def assert_same_state(a: dict, b: dict) -> None:
    for part in ("model", "optimizer"):
        flat_a, flat_b = _flatten(a[part]), _flatten(b[part])
        assert flat_a.keys() == flat_b.keys()
        for key in flat_a:
            va, vb = flat_a[key], flat_b[key]
            if isinstance(va, torch.Tensor):
                assert torch.equal(va, vb), f"{part} {key} differs"
            else:
                assert va == vb, f"{part} {key} differs"


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix: obj}


def test_sigterm_checkpoints_within_one_step_exits_143_and_resume_is_bitwise_identical(tmp_path, reference):
    log = tmp_path / "run1.log"
    proc = start_trainer(*train_args(tmp_path, "t", "--log-every-steps", "1"), stderr_path=log)
    wait_for_log(log, "step 30/95", proc)
    sent_at = time.time()
    proc.send_signal(signal.SIGTERM)
    out = last_json(proc.communicate(timeout=60)[0])
    assert proc.returncode == 143
    assert out["interrupted"] is True and out["exit_code"] == 143 and out["accuracy"] is None
    # The loop stopped at the next step boundary: at most one step finished after the signal.
    text = log.read_text()
    stamps = [(int(m.group(2)), datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
              for m in re.finditer(r"^(\S+ \S+) INFO \S+: step (\d+)/95", text, re.M)]
    after = [step for step, t in stamps if t > sent_at]
    assert len(after) <= 1, after
    stopped = out["step"]
    assert stopped == stamps[-1][0] and 30 <= stopped < 95
    step_dir = tmp_path / "t" / f"step-{stopped}"
    assert (step_dir / "COMPLETE").exists() and out["checkpoint"] == f"t/step-{stopped}"
    assert len(list((tmp_path / "t").iterdir())) <= 2  # keep the latest 2

    ref_out, ref_final = reference.result()
    code, resumed, err = run_trainer(*train_args(tmp_path, "t"))
    assert code == 0, err
    assert resumed["resumed_from_step"] == stopped
    assert resumed["step"] == 95 and resumed["accuracy"] == ref_out["accuracy"]
    assert resumed["valid_accuracy"] == ref_out["valid_accuracy"]
    assert_same_state(load_state(tmp_path / "t" / "step-95"), load_state(ref_final))
    assert resumed["energy_joules"] > out["energy_joules"]  # energy accumulates over attempts


def test_kill_9_during_a_checkpoint_save_is_ignored_on_resume(tmp_path, reference):
    args = train_args(tmp_path, "k", "--checkpoint-every-steps", "10")
    # The real CLI, with os.rename stalled during the third save (step 30) so SIGKILL lands mid-save.
    script = textwrap.dedent(f"""
        import os, sys, time
        real, calls = os.rename, []
        def rename(src, dst):
            calls.append(dst)
            if len(calls) == 3:
                print("stalled", flush=True)
                time.sleep(120)
            return real(src, dst)
        os.rename = rename
        from cenas_trainer.cli import main
        sys.exit(main({args!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=trainer_env())
    assert proc.stdout.readline().strip() == "stalled"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    names = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert names == ["step-10", "step-20", "step-30.tmp"]
    ref_out, ref_final = reference.result()
    code, out, err = run_trainer(*args)
    assert code == 0, err
    assert out["resumed_from_step"] == 20
    assert out["accuracy"] == ref_out["accuracy"]
    assert_same_state(load_state(tmp_path / "k" / "step-95"), load_state(ref_final))


def test_a_good_cell_reaches_90_percent_on_the_digits_within_a_minute(reference):
    out, final = reference.result()
    assert out["accuracy"] >= 0.90
    assert out["elapsed_seconds"] < 60
    assert out["step"] == out["total_steps"] == 95 and out["resumed_from_step"] is None
    assert out["energy_source"] == "estimated" and out["energy_joules"] > 0
    macro = Macro(channels=8, cells_per_stage=1, num_classes=10, input_channels=1, input_size=8)
    cost = network_cost(parse_arch(GOOD_CELL), macro)
    assert (out["params"], out["flops"]) == (cost.params, cost.flops)
    assert (final / "COMPLETE").exists()
    # the same summary, compact, where the kubelet reads the termination message
    message = reference.message.read_bytes()
    assert len(message) <= 4096 and b"\n" not in message
    assert json.loads(message) == out


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "must have 3 nodes"),
        ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'conv_7x7'"),
    ],
)
def test_a_corrupt_arch_fails_fast_with_exit_2(tmp_path, arch, message):
    t0 = time.monotonic()
    code, out, err = run_trainer("train", "--arch", arch, *TINY, "--epochs", "1", "--checkpoint-dir",
                                 str(tmp_path), "--trial", "x")
    assert code == 2
    assert message in err and message in out["error"]
    assert time.monotonic() - t0 < 15  # validated before torch is even imported
    assert not (tmp_path / "x").exists()


def test_a_missing_dataset_fails_fast_with_exit_2(tmp_path):
    code, out, err = run_trainer("train", "--arch", GOOD_CELL, "--dataset", "cifar10", "--data-dir",
                                 str(tmp_path / "cifar"), "--epochs", "1", "--checkpoint-dir", str(tmp_path),
                                 "--trial", "x")
    assert code == 2 and "CIFAR-10 directory" in err and "does not exist" in out["error"]


def test_supernet_then_score_ranks_a_dead_cell_last_and_resumes(tmp_path):
    code, sup, err = run_trainer("supernet", *TINY, "--epochs", "3", "--checkpoint-dir", str(tmp_path),
                                 "--trial", "sn", "--seed", "1")
    assert code == 0, err
    assert sup["step"] == sup["total_steps"] and 0.1 < sup["accuracy"] <= 1
    assert (tmp_path / "sn" / f"step-{sup['step']}" / "COMPLETE").exists()
    dead = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    alive = [GOOD_CELL, "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|"]
    done = ["|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
            "|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"]
    # An earlier attempt scored two candidates (and was stopped while writing a third line).
    scores = tmp_path / "sc" / "scores.jsonl"
    scores.parent.mkdir()
    scores.write_text("".join(json.dumps({"architecture": a, "accuracy": 0.5}) + "\n" for a in done) + '{"archi')
    cands = tmp_path / "cands.txt"
    cands.write_text("\n".join([done[0], dead, *alive, done[1]]) + "\n")
    code, out, err = run_trainer("score", *TINY, "--checkpoint-dir", str(tmp_path), "--trial", "sc",
                                 "--supernet-trial", "sn", "--candidates-file", str(cands))
    assert code == 0, err
    assert out["resumed_from_step"] == 2 and out["step"] == out["total_steps"] == 5
    rows = [json.loads(line) for line in scores.read_text().splitlines() if line.endswith("}")]
    score = {r["architecture"]: r["accuracy"] for r in rows}
    assert len(rows) == 5 and score[done[0]] == score[done[1]] == 0.5  # kept, not recomputed
    assert score[dead] <= 0.2 < min(score[a] for a in alive)
    assert [a for a, _ in out["scores"]] == [done[0], dead, *alive, done[1]]
    assert out["accuracy"] == max(score.values())


def test_more_workers_than_visible_gpus_is_a_config_error_naming_the_fix(monkeypatch, tmp_path):
    from cenas_trainer.cli import _device
    from cenas_trainer.config import ConfigError, parse

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    cfg = parse(train_args(tmp_path, "g", "--device", "cuda", "--nproc-per-node", "2"))
    with pytest.raises(ConfigError, match="worker 1 finds only 1 visible GPU"):
        _device(cfg, 1)
