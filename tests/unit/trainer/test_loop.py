"""The loop: resume from a step, save on interval, on stop at the next boundary, and at the end."""

from pathlib import Path

from cenas_trainer.checkpoint import CheckpointRef
from cenas_trainer.loop import run


class FakeJob:
    def __init__(self, stop_after: int | None = None, flag: list | None = None):
        self.steps: list[int] = []
        self.stop_after, self.flag = stop_after, flag

    def step(self, step: int) -> float:
        self.steps.append(step)
        if self.stop_after is not None and step == self.stop_after:
            self.flag.append(True)  # the "signal" arrives while this step runs
        return 0.0


def _saver(saved: list):
    def save(step: int) -> CheckpointRef:
        saved.append(step)
        return CheckpointRef(step, Path(f"step-{step}"), "")

    return save


def test_runs_from_the_restored_step_and_saves_on_interval_and_at_the_end():
    job, saved = FakeJob(), []
    result = run(job, start_step=3, total_steps=10, should_stop=lambda: False, save=_saver(saved), every_steps=4)
    assert job.steps == list(range(3, 10))
    assert saved == [4, 8, 10]
    assert (result.step, result.interrupted, result.checkpoint.step) == (10, False, 10)


def test_stop_saves_at_the_next_step_boundary():
    flag: list = []
    job, saved = FakeJob(stop_after=5, flag=flag), []
    result = run(job, start_step=0, total_steps=100, should_stop=lambda: bool(flag), save=_saver(saved))
    assert job.steps == [0, 1, 2, 3, 4, 5]  # the running step finishes, no further step starts
    assert saved == [6]
    assert result.interrupted and result.step == 6 and result.checkpoint.step == 6


def test_time_interval_uses_the_clock():
    now = [0.0]

    class Job:
        def step(self, step):
            now[0] += 10.0
            return 0.0

    saved: list = []
    run(Job(), start_step=0, total_steps=7, should_stop=lambda: False, save=_saver(saved),
        every_seconds=25.0, clock=lambda: now[0])
    assert saved == [3, 6, 7]


def test_a_finished_run_restored_at_its_last_step_only_confirms_it():
    job, saved = FakeJob(), []
    result = run(job, start_step=10, total_steps=10, should_stop=lambda: True, save=_saver(saved))
    assert job.steps == [] and saved == [10] and not result.interrupted


def test_time_based_saves_follow_the_agreed_decision():
    now, asked = [0.0], []

    class Job:
        def step(self, step):
            now[0] += 1.0
            return 0.0

    def agree(flag):  # another worker's clock says "due" at step 2
        asked.append(flag)
        return flag or len(asked) == 2

    saved: list = []
    run(Job(), start_step=0, total_steps=5, should_stop=lambda: False, save=_saver(saved),
        every_seconds=100.0, clock=lambda: now[0], agree=agree)
    assert asked == [False] * 5 and saved == [2, 5]
