"""The fixed benchmark suite: which workloads every policy and the oracle run on a trace window."""

from __future__ import annotations

import numpy as np

from .workload import Workloads

MAX_GPUS = 8
RUN_HOURS = (6.0, 12.0, 24.0)  # time the job needs on all GPUs: small, medium, large searches
SLACKS = (1.25, 1.5, 2.0, 3.0, 4.0)  # window / run time: tight to loose
STARTS = 12  # start times per window, one drawn uniformly in each of 12 equal slices
SEED = 0


def make_suite(
    first: int, end: int, step_hours: float, starts: int = STARTS, seed: int = SEED
) -> tuple[Workloads, np.ndarray]:
    """Workloads arriving in [first, end - longest window], none running past `end` (exclusive interval
    index). Returns the workloads and their slack labels. Power and suspend/resume costs: workload.py."""
    if starts < 1:
        raise ValueError(f"the suite needs at least one start time, got {starts}")
    steps = {(r, s): int(np.ceil(r * s / step_hours - 1e-9)) for r in RUN_HOURS for s in SLACKS}
    last = end - max(steps.values())
    if last <= first:
        need_h = max(steps.values()) * step_hours
        raise ValueError(
            f"the window is too short: the suite's longest job needs {need_h:g} h after its start, "
            f"and starts need the forecast's history first"
        )
    rng = np.random.default_rng(seed)
    edges = np.linspace(first, last, starts + 1)
    arrivals = np.floor(edges[:-1] + rng.random(starts) * (edges[1:] - edges[:-1])).astype(np.int64)
    rows = [(a, steps[r, s], r * MAX_GPUS, s) for a in arrivals for r in RUN_HOURS for s in SLACKS]
    arrival, n_steps, work, slack = (np.array(c) for c in zip(*rows, strict=True))
    return Workloads.make(arrival, n_steps, work, MAX_GPUS), slack
