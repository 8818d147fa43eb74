"""The resumable training loop (the TorchElastic / torchtitan pattern).

The caller loads the newest complete checkpoint and passes its step; the loop runs steps from there,
saves on the step / time interval, and when a stop is requested saves at the next step boundary and
returns ``interrupted``. A finished run always ends with a checkpoint of its final step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cenas_trainer.checkpoint import CheckpointRef

if TYPE_CHECKING:
    import torch


class Job(Protocol):
    def step(self, step: int) -> float | torch.Tensor:
        """Run global step `step` (0-based); returns the training loss (a tensor: read it only to log it)."""
        ...


@dataclass(frozen=True)
class LoopResult:
    step: int  # steps done
    interrupted: bool
    checkpoint: CheckpointRef | None  # the newest complete checkpoint this loop wrote


def run(
    job: Job,
    *,
    start_step: int,
    total_steps: int,
    should_stop: Callable[[], bool],
    save: Callable[[int], CheckpointRef],
    every_steps: int = 0,
    every_seconds: float = 0.0,
    on_step: Callable[[int, float | torch.Tensor], None] = lambda step, loss: None,
    clock: Callable[[], float] = time.monotonic,
    agree: Callable[[bool], bool] = lambda flag: flag,
) -> LoopResult:
    """`agree` turns one worker's "save now" into the decision of all data-parallel workers (the
    time interval is measured per worker; the step interval is the same everywhere)."""
    step, last, last_time = start_step, None, clock()
    while step < total_steps:
        if should_stop():
            return LoopResult(step, True, save(step))
        loss = job.step(step)
        step += 1
        on_step(step, loss)
        due = bool(every_steps and step % every_steps == 0)
        if every_seconds:
            due = agree(due or clock() - last_time >= every_seconds)
        if due and step < total_steps:
            last, last_time = save(step), clock()
    if last is None or last.step != step:
        last = save(step)
    return LoopResult(step, False, last)
