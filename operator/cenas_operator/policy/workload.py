"""Deadline-bound GPU work, the unit the simulator, the baselines and the oracle all share."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

# Defaults for a NAS search on 400 W GPUs: a checkpoint written on SIGTERM, a pod start plus restore.
POWER_WATTS = 400.0
SUSPEND_HOURS = 5 / 60
RESUME_HOURS = 10 / 60


class InfeasibleWorkload(ValueError):
    """A deadline that cannot be met even at full allocation from the first interval."""


@dataclass(frozen=True)
class Workloads:
    """B jobs as arrays (B,). Intervals are those of the trace the jobs run on."""

    arrival: np.ndarray  # int: index of the interval of the first decision
    steps: np.ndarray  # int: intervals from arrival to the deadline
    work_gpu_hours: np.ndarray  # useful GPU-hours to do (linear scaling: trials are independent)
    max_gpus: np.ndarray  # int
    power_watts: np.ndarray  # per running GPU
    resume_hours: np.ndarray  # per (re)started GPU: no progress, full draw
    suspend_hours: np.ndarray  # per suspended GPU: checkpoint write at full draw
    budget_grams: np.ndarray  # inf: no carbon budget

    @classmethod
    def make(
        cls,
        arrival,
        steps,
        work_gpu_hours,
        max_gpus,
        power_watts=POWER_WATTS,
        resume_hours=RESUME_HOURS,
        suspend_hours=SUSPEND_HOURS,
        budget_grams=np.inf,
    ) -> Workloads:
        arrays = np.broadcast_arrays(
            *(
                np.asarray(a)
                for a in (
                    arrival,
                    steps,
                    work_gpu_hours,
                    max_gpus,
                    power_watts,
                    resume_hours,
                    suspend_hours,
                    budget_grams,
                )
            )
        )
        ints = (0, 1, 3)
        return cls(*(a.astype(np.int64 if i in ints else np.float64).ravel() for i, a in enumerate(arrays)))

    def __len__(self) -> int:
        return len(self.arrival)

    def take(self, index) -> Workloads:
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def min_hours(self) -> np.ndarray:
        """Run time at full allocation, restart included."""
        return self.work_gpu_hours / self.max_gpus + self.resume_hours

    def slack(self, step_hours: float) -> np.ndarray:
        """Window length / run time at full allocation (1: no freedom at all)."""
        return self.steps * step_hours / (self.work_gpu_hours / self.max_gpus)

    def check(self, step_hours: float, n_intervals: int | None = None) -> None:
        """Raise InfeasibleWorkload / ValueError for jobs the simulator cannot run as asked."""
        if (self.max_gpus < 1).any() or (self.steps < 1).any() or (self.work_gpu_hours <= 0).any():
            raise ValueError("every workload needs max_gpus >= 1, steps >= 1 and positive work")
        if ((self.resume_hours < 0) | (self.resume_hours >= step_hours)).any() or (
            (self.suspend_hours < 0) | (self.suspend_hours >= step_hours)
        ).any():
            raise ValueError(f"resume and suspend times must lie in [0, {step_hours}) hours (one interval)")
        best = self.max_gpus * (self.steps * step_hours - self.resume_hours)
        short = np.flatnonzero(best < self.work_gpu_hours - 1e-9)
        if short.size:
            i = int(short[0])
            raise InfeasibleWorkload(
                f"workload {i}: {self.work_gpu_hours[i]:g} GPU-hours cannot finish in {self.steps[i]} intervals "
                f"of {step_hours:g} h even on all {self.max_gpus[i]} GPUs (at most {best[i]:g} GPU-hours); "
                f"{short.size} infeasible workload(s) in all"
            )
        if n_intervals is not None and ((self.arrival < 0) | (self.arrival + self.steps > n_intervals)).any():
            raise ValueError(f"a workload window falls outside the trace's {n_intervals} intervals")
