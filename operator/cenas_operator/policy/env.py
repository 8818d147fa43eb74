"""Trace-driven simulator of deadline-bound GPU work, vectorised over a batch of jobs.

Per interval: the policy sees only the forecast issued at the interval's start (features.PolicyInput),
the clamps make its proposal safe, and the job is charged for what it drew times the ACTUAL intensity.
Costs: every running GPU draws power_watts; a GPU that (re)starts spends resume_hours restoring before it
does useful work; a GPU that is suspended draws for suspend_hours more while it writes its checkpoint;
released GPUs draw nothing; a job that finishes mid-interval releases its GPUs at once (no checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .clamps import EPS_GPU_HOURS, capacity_gpu_hours, clamp_input
from .features import PolicyInput
from .forecasts import IssuedForecasts
from .workload import Workloads

Policy = Callable[[PolicyInput], np.ndarray]  # proposes GPUs per search


@dataclass(frozen=True)
class Step:
    progress_gpu_hours: np.ndarray
    energy_kwh: np.ndarray
    emissions_grams: np.ndarray
    suspended_gpus: np.ndarray


def account(
    gpus_prev,
    gpus,
    remaining_gpu_hours,
    step_hours: float,
    resume_hours,
    suspend_hours,
    power_watts,
    intensity,
) -> Step:
    """One interval's progress, energy and emissions (intensity: the realized gCO2eq/kWh)."""
    progress = np.clip(
        capacity_gpu_hours(gpus_prev, gpus, step_hours, resume_hours), 0.0, remaining_gpu_hours
    )
    up = np.maximum(gpus - gpus_prev, 0)
    down = np.maximum(gpus_prev - gpus, 0)
    energy = power_watts / 1000.0 * (progress + resume_hours * up + suspend_hours * down)
    return Step(progress, energy, energy * intensity, down)


@dataclass(frozen=True)
class State:
    """Where every job of the batch stands (arrays (B,))."""

    t: np.ndarray  # absolute interval index of the next decision
    steps_left: np.ndarray
    remaining_gpu_hours: np.ndarray
    gpus: np.ndarray
    budget_left_grams: np.ndarray
    emissions_grams: np.ndarray
    energy_kwh: np.ndarray
    suspensions: np.ndarray  # GPUs suspended (one trial each), completions excluded
    done: np.ndarray
    missed: np.ndarray  # the deadline passed with work left


def start(wl: Workloads) -> State:
    b = len(wl)
    zeros = np.zeros(b)
    return State(
        wl.arrival.copy(),
        wl.steps.copy(),
        wl.work_gpu_hours.copy(),
        np.zeros(b, np.int64),
        wl.budget_grams.copy(),
        zeros,
        zeros.copy(),
        np.zeros(b, np.int64),
        np.zeros(b, bool),
        np.zeros(b, bool),
    )


def policy_input(state: State, wl: Workloads, forecasts: IssuedForecasts, step_hours: float) -> PolicyInput:
    t = np.where(state.done, wl.arrival, state.t)  # finished jobs: any issued row will do, it is ignored
    return PolicyInput(
        forecast=forecasts.issued(t),
        levels=forecasts.levels,
        step_hours=step_hours,
        remaining_gpu_hours=state.remaining_gpu_hours,
        steps_left=state.steps_left,
        gpus=state.gpus,
        max_gpus=wl.max_gpus,
        power_watts=wl.power_watts,
        resume_hours=wl.resume_hours,
        suspend_hours=wl.suspend_hours,
        budget_left_grams=state.budget_left_grams,
    )


def safe(proposed: np.ndarray, x: PolicyInput) -> np.ndarray:
    """The clamped allocation for proposals made on x."""
    return clamp_input(proposed, x)[0]


def advance(
    state: State, wl: Workloads, gpus: np.ndarray, intensity: np.ndarray, step_hours: float
) -> tuple[State, Step]:
    """Run one interval at `gpus` (already clamped); jobs already done stay as they are."""
    live = ~state.done
    gpus = np.where(live, gpus, state.gpus)
    ci = intensity[np.minimum(state.t, len(intensity) - 1)]
    s = account(
        state.gpus,
        gpus,
        state.remaining_gpu_hours,
        step_hours,
        wl.resume_hours,
        wl.suspend_hours,
        wl.power_watts,
        ci,
    )
    s = Step(
        *(
            np.where(live, v, 0)
            for v in (s.progress_gpu_hours, s.energy_kwh, s.emissions_grams, s.suspended_gpus)
        )
    )
    remaining = state.remaining_gpu_hours - s.progress_gpu_hours
    finished = live & (remaining <= EPS_GPU_HOURS)
    steps_left = state.steps_left - live
    missed = live & ~finished & (steps_left <= 0)
    new = replace(
        state,
        t=state.t + live,
        steps_left=steps_left,
        remaining_gpu_hours=np.where(finished, 0.0, remaining),
        gpus=np.where(finished, 0, gpus),
        budget_left_grams=state.budget_left_grams - s.emissions_grams,
        emissions_grams=state.emissions_grams + s.emissions_grams,
        energy_kwh=state.energy_kwh + s.energy_kwh,
        suspensions=state.suspensions + s.suspended_gpus,
        done=state.done | finished | missed,
        missed=state.missed | missed,
    )
    return new, s


def simulate(
    policy: Policy, wl: Workloads, intensity: np.ndarray, forecasts: IssuedForecasts, step_hours: float
) -> State:
    """Run every job to completion or deadline under `policy` (+ clamps); returns the final state."""
    wl.check(step_hours, len(intensity))
    state = start(wl)
    while not state.done.all():
        x = policy_input(state, wl, forecasts, step_hours)
        gpus = safe(np.asarray(policy(x)), x)
        state, _ = advance(state, wl, gpus, intensity, step_hours)
    return state


# ---------------------------------------------------------------------------------------------------------
# Training: an auto-resetting batch of random jobs over several traces.


@dataclass(frozen=True)
class TraceSet:
    """Traces laid end to end so one index array addresses all of them; arrivals stay inside `ranges`."""

    intensity: np.ndarray
    forecasts: IssuedForecasts
    ranges: tuple[tuple[int, int], ...]  # per trace: [first arrival, end of the last window)
    step_hours: float

    @classmethod
    def concat(cls, parts: list[tuple[np.ndarray, IssuedForecasts, int, int]], step_hours: float) -> TraceSet:
        """parts: (intensity, forecasts, first, stop) per trace, indices local to that trace."""
        offset, ranges = 0, []
        for intensity, _, first, stop in parts:
            ranges.append((offset + first, offset + stop))
            offset += len(intensity)
        levels = parts[0][1].levels
        values = np.concatenate([f.values for _, f, _, _ in parts])
        return cls(
            np.concatenate([i for i, _, _, _ in parts]),
            IssuedForecasts(levels, values),
            tuple(ranges),
            step_hours,
        )


@dataclass(frozen=True)
class JobSampler:
    """The distribution of training jobs (wider than the benchmark suite, so the policy generalizes)."""

    run_hours: tuple[float, float] = (2.0, 24.0)  # log-uniform: time on all GPUs
    slack: tuple[float, float] = (1.1, 4.5)  # uniform: window / run time
    max_window_hours: float = 96.0  # the forecast horizon
    max_gpus: tuple[int, ...] = (2, 4, 8, 16, 32)
    resume_hours: tuple[float, float] = (0.0, 0.3)
    suspend_hours: tuple[float, float] = (0.0, 0.2)
    budget_share: float = 0.2  # jobs with a carbon budget ...
    budget_factor: tuple[float, float] = (1.0, 2.0)  # ... of this many times the lower bound
    cost_scale: float = 1.0  # scales the restart/checkpoint ranges (a training curriculum grows it to 1)

    def sample(self, rng: np.random.Generator, n: int, traces: TraceSet) -> Workloads:
        dt = traces.step_hours
        run = np.exp(rng.uniform(*np.log(self.run_hours), n))
        resume = rng.uniform(*self.resume_hours, n) * self.cost_scale
        window = np.minimum(run * rng.uniform(*self.slack, n), self.max_window_hours)
        steps = np.maximum(np.ceil(window / dt - 1e-9), np.ceil((run + resume) / dt - 1e-9)).astype(np.int64)
        g = rng.choice(np.asarray(self.max_gpus), n)
        k = rng.integers(len(traces.ranges), size=n)
        lo = np.array([r[0] for r in traces.ranges])[k]
        hi = np.array([r[1] for r in traces.ranges])[k] - steps
        arrival = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
        wl = Workloads.make(
            arrival,
            steps,
            run * g,
            g,
            resume_hours=resume,
            suspend_hours=rng.uniform(*self.suspend_hours, n) * self.cost_scale,
        )
        lb = lower_bound_grams(wl, traces.intensity, dt)
        budget = np.where(rng.random(n) < self.budget_share, lb * rng.uniform(*self.budget_factor, n), np.inf)
        return Workloads.make(
            *(
                getattr(wl, f)
                for f in (
                    "arrival",
                    "steps",
                    "work_gpu_hours",
                    "max_gpus",
                    "power_watts",
                    "resume_hours",
                    "suspend_hours",
                )
            ),
            budget,
        )


def lower_bound_grams(wl: Workloads, intensity: np.ndarray, step_hours: float) -> np.ndarray:
    """A cheap bound below the oracle: the work in the cleanest ACTUAL intervals, no restart costs."""
    width = int(wl.steps.max())
    idx = wl.arrival[:, None] + np.arange(width)[None, :]
    inside = np.arange(width)[None, :] < wl.steps[:, None]
    ci = np.sort(np.where(inside, intensity[np.minimum(idx, len(intensity) - 1)], np.inf), axis=1)
    per_interval = wl.max_gpus * step_hours  # GPU-hours in one full interval
    full = np.floor(wl.work_gpu_hours / per_interval + 1e-12).astype(np.int64)
    csum = np.concatenate(
        [np.zeros((len(wl), 1)), np.cumsum(np.where(np.isfinite(ci), ci, 0), axis=1)], axis=1
    )
    grams_per_gpu_hour = wl.power_watts / 1000.0
    body = np.take_along_axis(csum, full[:, None], axis=1)[:, 0] * per_interval
    rest = (wl.work_gpu_hours - full * per_interval) * np.take_along_axis(
        ci, np.minimum(full, width - 1)[:, None], axis=1
    )[:, 0]
    return grams_per_gpu_hour * (body + np.where(full < wl.steps, rest, 0.0))


def plan_cost_grams(x: PolicyInput) -> np.ndarray:
    """Forecast cost-to-go: the remaining work in the cleanest forecast intervals before the deadline,
    restarts ignored (the greedy plan's own estimate). Used only to shape the training reward."""
    window = x.window()
    med = np.sort(np.where(window, x.median.astype(np.float64), np.inf), axis=1)
    per_interval = (x.max_gpus * x.step_hours)[:, None]
    done_before = np.concatenate(
        [np.zeros((len(med), 1)), np.cumsum(np.broadcast_to(per_interval, med.shape), axis=1)[:, :-1]], axis=1
    )
    share = np.where(
        np.isfinite(med), np.clip(x.remaining_gpu_hours[:, None] - done_before, 0.0, per_interval), 0.0
    )
    # Work beyond the visible window is costed at its most expensive visible interval.
    beyond = np.maximum(x.remaining_gpu_hours - (per_interval[:, 0] * window.sum(axis=1)), 0.0)
    top = np.where(window, x.median, -np.inf).max(axis=1)
    return x.power_watts / 1000.0 * ((np.where(share > 0, med, 0.0) * share).sum(axis=1) + beyond * top)


class VecEnv:
    """n jobs stepped together; a finished job is replaced at once by a fresh one (CleanRL's auto-reset).

    The objective of a job is -(its emissions) / (its lower_bound_grams), minus miss_penalty x the share
    of its work left undone if it misses its deadline; `step` reports that per finished episode. The
    reward it returns adds potential-based shaping (Ng et al., 1999) with the potential
    -plan_cost_grams / lower bound, zero at the end of an episode: the sum over an episode differs from
    the objective by a constant of its first state, so the best policy is unchanged, but each interval
    is told at once how running or waiting compares with the forecast plan.
    """

    def __init__(
        self,
        traces: TraceSet,
        n: int,
        sampler: JobSampler,
        seed: int,
        miss_penalty: float = 1.0,
        shaping: bool = True,
    ):
        self.traces, self.n, self.sampler, self.miss_penalty, self.shaping = (
            traces,
            n,
            sampler,
            miss_penalty,
            shaping,
        )
        self.rng = np.random.default_rng(seed)
        self.wl = sampler.sample(self.rng, n, traces)
        self.state = start(self.wl)
        self.scale = lower_bound_grams(self.wl, traces.intensity, traces.step_hours)
        self.returns = np.zeros(n)

    def observe(self) -> np.ndarray:
        from .features import observe

        self._x = policy_input(self.state, self.wl, self.traces.forecasts, self.traces.step_hours)
        self._potential = -plan_cost_grams(self._x) / self.scale if self.shaping else np.zeros(self.n)
        return observe(self._x)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Returns (next obs, reward, done, objective of the episodes that ended, NaN elsewhere)."""
        from .features import gpus_for_action

        gpus = safe(gpus_for_action(action, self.wl.max_gpus), self._x)
        self.state, s = advance(self.state, self.wl, gpus, self.traces.intensity, self.traces.step_hours)
        left = self.state.remaining_gpu_hours / self.wl.work_gpu_hours
        objective = -s.emissions_grams / self.scale - self.miss_penalty * np.where(
            self.state.missed, left, 0.0
        )
        self.returns += objective
        done = self.state.done.copy()
        ended = np.where(done, self.returns, np.nan)
        before = self._potential
        if done.any():
            idx = np.flatnonzero(done)
            fresh = self.sampler.sample(self.rng, idx.size, self.traces)
            self.wl = _put(self.wl, idx, fresh)
            self.state = _put(self.state, idx, start(fresh))
            self.scale[idx] = lower_bound_grams(fresh, self.traces.intensity, self.traces.step_hours)
            self.returns[idx] = 0.0
        obs = self.observe()
        after = np.where(done, 0.0, self._potential)
        reward = objective + after - before
        return obs, reward.astype(np.float32), done, ended


def _put(dst, idx: np.ndarray, src):
    """A copy of the array dataclass `dst` with rows idx taken from `src`."""
    out = {}
    for name in dst.__dataclass_fields__:
        a = getattr(dst, name).copy()
        a[idx] = getattr(src, name)
        out[name] = a
    return type(dst)(**out)
