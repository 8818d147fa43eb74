"""The trial session: refuses another run's checkpoints, carries energy across attempts, reports saves."""

from datetime import UTC, datetime

import pytest
import torch
from prometheus_client import generate_latest

from cenas_trainer.config import ConfigError, parse
from cenas_trainer.energy import EstimatedMeter
from cenas_trainer.metrics import TrainerMetrics
from cenas_trainer.session import TrialSession

from .conftest import GOOD_CELL, TINY


class RecordingReporter:
    def __init__(self):
        self.calls = []
        self.times = []

    def progress(self, step, total_steps, joules, source):
        self.calls.append(("progress", step, total_steps, joules, source))

    def checkpoint(self, step, time, path):
        self.calls.append(("checkpoint", step, path))
        self.times.append(time)
        return True

    def result(self, result):
        self.calls.append(("result", result))

    def flush(self):
        self.calls.append(("flush",))
        return True


def _session(tmp_path, reporter=None, watts=100.0):
    cfg = parse(["train", "--arch", GOOD_CELL, *TINY, "--epochs", "1", "--checkpoint-dir", str(tmp_path),
                 "--trial", "s"])
    now = [0.0]
    meter = EstimatedMeter(watts, clock=lambda: now[0])
    return TrialSession(cfg, meter, TrainerMetrics(), reporter), now


def test_save_reports_the_checkpoint_with_a_volume_relative_path_and_updates_metrics(tmp_path):
    reporter = RecordingReporter()
    session, now = _session(tmp_path, reporter)
    session.start(19)
    now[0] = 3.0
    ref = session.save(5, {"model": {"w": torch.ones(2)}}, {"arch": "a"})
    assert ("checkpoint", 5, "s/step-5") in reporter.calls
    assert ("progress", 5, 19, 300.0, "estimated") in reporter.calls
    text = generate_latest(session.metrics.registry).decode()
    assert "cenas_trainer_checkpoint_duration_seconds_count 1.0" in text
    assert "cenas_trainer_last_checkpoint_timestamp_seconds" in text
    assert ref.path == tmp_path / "s" / "step-5"


def test_restore_refuses_a_checkpoint_of_another_run_and_carries_energy(tmp_path):
    session, now = _session(tmp_path)
    now[0] = 2.0
    session.save(7, {"model": {}}, {"arch": "a", "seed": 1})
    again, _ = _session(tmp_path)
    with pytest.raises(ConfigError, match=r"different run \(arch: checkpoint 'a' vs now 'b'\)"):
        again.restore({"arch": "b", "seed": 1}, "cpu")
    state = again.restore({"arch": "a", "seed": 1}, "cpu")
    assert state == {"model": {}}
    assert again.resumed_from_step == 7
    assert again.energy_joules() == pytest.approx(200.0)  # 100 W x 2 s from the first attempt


def test_steps_count_in_metrics_and_energy_counter_tracks_the_meter(tmp_path):
    reporter = RecordingReporter()
    session, now = _session(tmp_path, reporter, watts=10.0)
    session.start(3)
    for step in (1, 2, 3):
        now[0] = float(step)
        session.on_step(step)
    text = generate_latest(session.metrics.registry).decode()
    assert "cenas_trainer_steps_total 3.0" in text
    assert 'cenas_trainer_energy_joules_total{source="estimated"} 30.0' in text
    assert session.finish(3, {"result": {"accuracyPercent": 50.0}}) is True
    assert reporter.calls[-2:] == [("result", {"result": {"accuracyPercent": 50.0}}), ("flush",)]


def test_score_needs_a_complete_supernet_checkpoint(tmp_path):
    from cenas_trainer.modes import load_supernet

    with pytest.raises(ConfigError, match="no complete checkpoint of supernet trial 'missing'"):
        load_supernet(tmp_path, "missing", "digits", torch.device("cpu"))
    session, _ = _session(tmp_path)
    session.save(3, {"model": {}}, {"mode": "train", "dataset": "digits"})
    with pytest.raises(ConfigError, match="is a 'train' checkpoint, not a supernet's"):
        load_supernet(tmp_path, "s", "digits", torch.device("cpu"))


def test_metrics_are_served_for_prometheus():
    import httpx

    from cenas_trainer.launcher import free_port

    metrics = TrainerMetrics()
    port = free_port()
    metrics.serve(port, addr="127.0.0.1")
    metrics.steps.inc(3)
    metrics.observe_energy(12.5, "nvml")
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "cenas_trainer_steps_total 3.0" in body
    assert 'cenas_trainer_energy_joules_total{source="nvml"} 12.5' in body


def test_the_first_step_of_an_attempt_is_reported_at_once(tmp_path):
    """Progress is throttled, but the first step is sent straight away: status.progress.step > 0 then
    says the attempt is training (a suspension from here on stops it mid-training)."""
    reporter = RecordingReporter()
    session, _ = _session(tmp_path, reporter)
    session.start(10)
    session.report_start(0)
    for step in (1, 2, 3):
        session.on_step(step)
    assert [c[0] for c in reporter.calls] == ["progress", "progress", "flush", "progress", "progress"]


def test_a_stop_just_after_a_save_of_the_same_step_reports_the_time_of_the_stop(tmp_path):
    reporter = RecordingReporter()
    session, _ = _session(tmp_path, reporter)
    session.start(10)
    session.save(5, {"model": {}}, {"arch": "a"})
    stop = datetime.now(UTC)
    session.save(5, {"model": {}}, {"arch": "a"})  # the loop saves on the stop: the checkpoint exists
    first, second = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in reporter.times)
    assert first < stop <= second
