"""NAS simulation: one search run on a tabular benchmark, driven hour by hour by a real carbon trace.

Every decision interval (one hour) the method's allocator splits the GPUs between the sampling pool
(supernet training, then scoring batches of candidates from the LaMOO region) and the evaluation pool
(full trainings of the best-ranked queued candidates; suspended ones resume first). Inside the hour an
event loop plays out the work at second resolution with the cost model (costs.py): trial start-up,
checkpoint on suspension, restore on resumption, supernet training, scoring and full training.

Carbon, two accountings side by side:

- `grams` (cenas): EVERY allocated GPU-second is charged at `power_watts` x PUE x the interval's ACTUAL
  intensity: sampling, evaluation, start-up, checkpointing and idle GPUs alike; a suspended GPU is charged
  for its checkpoint time; released GPUs draw nothing.
- `grams_cenas_paper` (CE-NAS's code, cenas.md 2d): only the evaluation pool's busy GPU-seconds are charged
  (one-shot and idle GPUs are free), at the same power, so the two differ only in scope.

The allocator sees forecasts only. The method's result at any moment is what it would return if stopped
then: the Pareto front of the cells it fully trained (true accuracy), or for one-shot-only search the
front of its supernet predictions, measured at the cells' true accuracy.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .allocation import Allocation, AllocationInput, Allocator, clamp_allocation
from .costs import CostModel
from .engine import Search, SearchConfig, Space
from .pareto import hypervolume, to_max

STEP_SECONDS = 3600.0
Sampler = Literal["lamoo", "random"]


@dataclass(frozen=True)
class Method:
    name: str
    allocator: Allocator
    sampling: bool  # has a sampling pool (supernet + scoring)
    evaluation: bool  # has an evaluation pool (full training)
    sampler: Sampler = "lamoo"

    def __post_init__(self) -> None:
        if not (self.sampling or self.evaluation):
            raise ValueError(f"method {self.name}: needs at least one pool")


@dataclass(frozen=True)
class Environment:
    """What one run sees: the realized intensity and the forecasts issued at each hour from its start."""

    intensity: np.ndarray  # (T,) gCO2eq/kWh actual, hour t of the run
    forecasts: np.ndarray  # (T, H, Q) issued at the start of hour t
    levels: tuple[float, ...]
    max_gpus: int = 8
    power_watts: float = 400.0
    pue: float = 1.0

    def __post_init__(self) -> None:
        if self.intensity.ndim != 1 or len(self.intensity) < 1 or self.forecasts.shape[0] != len(self.intensity):
            raise ValueError("intensity (T,) and forecasts (T, H, Q) must cover the same hours")
        if not (np.isfinite(self.intensity).all() and (self.intensity > 0).all()):
            raise ValueError("intensity must be positive and finite")
        if self.max_gpus < 1 or self.power_watts <= 0 or self.pue < 1:
            raise ValueError("max_gpus >= 1, power_watts > 0 and pue >= 1 are required")

    @property
    def hours(self) -> int:
        return len(self.intensity)

    def grams_per_gpu_second(self, hour: int) -> float:
        return self.power_watts / 1000.0 * self.pue * float(self.intensity[hour]) / 3600.0


@dataclass(frozen=True)
class Truth:
    """The benchmark's answers: true and supernet-predicted accuracy per row, and the HV reference."""

    accuracy: np.ndarray  # (n,)
    predicted: np.ndarray  # (n,)
    ref: np.ndarray  # (2,) reference point (maximised objectives) of the reported hypervolume


@dataclass
class Curve:
    """The method's hypervolume after each change, with the carbon and GPU time spent until then."""

    hours: np.ndarray
    grams: np.ndarray  # every GPU-second charged
    grams_cenas_paper: np.ndarray  # CE-NAS's accounting: evaluation-pool busy time only
    gpu_hours: np.ndarray
    hypervolume: np.ndarray

    def first_reaching(self, target: float) -> int | None:
        hit = np.flatnonzero(self.hypervolume >= target - 1e-12)
        return int(hit[0]) if hit.size else None

    def at_budget(self, grams: float, paper: bool = False) -> float:
        """The hypervolume held when the carbon spent reached `grams` (the last change within it)."""
        g = self.grams_cenas_paper if paper else self.grams
        ok = np.flatnonzero(g <= grams + 1e-9)
        return float(self.hypervolume[ok[-1]]) if ok.size else 0.0


@dataclass
class WorkLog:
    """What a run did, independent of the intensity: per hour, the GPU-seconds charged and the evaluation
    pool's busy seconds; per hypervolume change, its hour, the seconds charged and busy within that hour
    up to the change, and the new hypervolume. `price` turns it into carbon for any intensity series, so a
    carbon-agnostic run (whose actions never read the forecast) is simulated once and priced per start."""

    hour_gpu_seconds: list[float] = field(default_factory=list)
    hour_busy_seconds: list[float] = field(default_factory=list)
    rec_hour: list[int] = field(default_factory=list)
    rec_gpu_seconds: list[float] = field(default_factory=list)
    rec_busy_seconds: list[float] = field(default_factory=list)
    rec_time: list[float] = field(default_factory=list)
    rec_hv: list[float] = field(default_factory=list)

    def record(self, hour: int, t: float, gpu_seconds: float, busy_seconds: float, hv: float) -> None:
        self.rec_hour.append(hour)
        self.rec_gpu_seconds.append(gpu_seconds)
        self.rec_busy_seconds.append(busy_seconds)
        self.rec_time.append(hour + t / STEP_SECONDS)
        self.rec_hv.append(hv)

    @property
    def hours(self) -> int:
        return len(self.hour_gpu_seconds)

    @property
    def gpu_hours(self) -> float:
        return float(sum(self.hour_gpu_seconds)) / 3600.0

    def price(self, intensity: np.ndarray, power_watts: float, pue: float = 1.0) -> Curve:
        n = self.hours
        if len(intensity) < n:
            raise ValueError(f"the intensity covers {len(intensity)} hours, the run {n}")
        rate = power_watts / 1000.0 * pue * np.asarray(intensity[:n], dtype=np.float64) / 3600.0
        gpu = np.asarray(self.hour_gpu_seconds)
        busy = np.asarray(self.hour_busy_seconds)
        before_g = np.concatenate([[0.0], np.cumsum(gpu * rate)])
        before_p = np.concatenate([[0.0], np.cumsum(busy * rate)])
        before_s = np.concatenate([[0.0], np.cumsum(gpu)])
        h = np.asarray(self.rec_hour, dtype=np.int64)
        g_in = np.asarray(self.rec_gpu_seconds)
        b_in = np.asarray(self.rec_busy_seconds)
        r = rate[h] if len(h) else np.zeros(0)
        return Curve(
            hours=np.concatenate([[0.0], self.rec_time]),
            grams=np.concatenate([[0.0], before_g[h] + g_in * r]),
            grams_cenas_paper=np.concatenate([[0.0], before_p[h] + b_in * r]),
            gpu_hours=np.concatenate([[0.0], (before_s[h] + g_in) / 3600.0]),
            hypervolume=np.concatenate([[0.0], self.rec_hv]),
        )

    def totals(self, intensity: np.ndarray, power_watts: float, pue: float = 1.0) -> tuple[float, float]:
        """(grams, grams_cenas_paper) of the whole run."""
        rate = power_watts / 1000.0 * pue * np.asarray(intensity[: self.hours], dtype=np.float64) / 3600.0
        return float(np.dot(self.hour_gpu_seconds, rate)), float(np.dot(self.hour_busy_seconds, rate))


@dataclass(frozen=True)
class Progress:
    """What a stop rule sees after each hour."""

    hours: int
    hypervolume: float
    gpu_hours: float
    grams: float


@dataclass
class RunResult:
    method: str
    log: WorkLog
    curve: Curve  # priced with the run's own environment
    grams: float
    grams_cenas_paper: float
    trained: int
    scored: int
    suspensions: int
    allocations: list[tuple[int, int]]

    @property
    def hours_run(self) -> int:
        return self.log.hours

    @property
    def gpu_hours(self) -> float:
        return self.log.gpu_hours


@dataclass
class _Slot:
    row: int | None = None
    left: float = 0.0  # seconds of work left on the current job
    started: float = 0.0  # start of the current busy segment in this hour
    waiting: bool = False


class _Run:
    def __init__(
        self, space: Space, truth: Truth, costs: CostModel, method: Method, env: Environment, seed: int,
        search_config: SearchConfig, scoring_batch: int, flops: np.ndarray,
    ) -> None:
        self.space, self.truth, self.costs, self.method, self.env = space, truth, costs, method, env
        cfg = search_config if search_config.sampler == method.sampler else _with_sampler(search_config, method.sampler)
        self.search = Search(space, cfg, seed)
        self.full_seconds = costs.full_training_seconds(flops) + costs.trial_start_seconds
        self.score_seconds = costs.score_seconds(flops)
        self.supernet_total = costs.supernet_seconds(float(np.mean(flops))) if method.sampling else 0.0
        self.supernet_left = self.supernet_total
        self.supernet_started = False
        self.scoring_batch = scoring_batch
        self.slots: list[_Slot] = []
        self.halfwork: list[tuple[int, float]] = []  # (row, seconds left incl. restore)
        self.sampling = 0
        self.grams = 0.0  # live, for the allocator's input
        self.gpu_seconds = 0.0
        self.suspensions = 0
        self.log = WorkLog()
        self.hv = 0.0
        self.allocations: list[tuple[int, int]] = []

    # ---- helpers ---------------------------------------------------------------------------------
    @property
    def supernet_done(self) -> bool:
        return self.supernet_left <= 0.0

    def _reported_hv(self) -> float:
        s = self.search
        rows = s.trained_rows() if self.method.evaluation else s.predicted_front_rows()
        if rows.size == 0:
            return 0.0
        return hypervolume(to_max(self.truth.accuracy[rows], self.space.cost[rows]), self.truth.ref)

    def _record(self, hour: int, t: float, busy_segments: list[tuple[float, float]], gpus: int, extra: float) -> None:
        hv = self._reported_hv()
        if hv <= self.hv + 1e-15:
            return
        self.hv = hv
        busy = sum(max(0.0, min(b, t) - a) for a, b in busy_segments)
        busy += sum(max(0.0, t - sl.started) for sl in self.slots if sl.row is not None)
        self.log.record(hour, t, gpus * t + extra, busy, hv)

    def _input(self, hour: int) -> AllocationInput:
        s = self.search
        return AllocationInput(
            hour=hour,
            steps_left=self.env.hours - hour,
            step_hours=1.0,
            forecast=self.env.forecasts[hour],
            levels=self.env.levels,
            max_gpus=self.env.max_gpus,
            sampling=self.sampling,
            evaluation=len(self.slots),
            supernet_done=self.supernet_done if self.method.sampling else True,
            supernet_left=self.supernet_left / self.supernet_total if self.method.sampling else 0.0,
            queue=len(s.queue_rows(rebuild=False)),
            halfwork=len(self.halfwork),
            training=sum(1 for sl in self.slots if sl.row is not None),
            unseen=s.n_unseen,
            scored=s.n_scored,
            trained=s.n_results,
            emitted_grams=self.grams,
            budget_left_grams=np.inf,
        )

    # ---- one hour ----------------------------------------------------------------------------------
    def hour(self, h: int) -> None:
        proposal = self.method.allocator(self._input(h))
        a = clamp_allocation(proposal, self.env.max_gpus, (self.method.sampling, self.method.evaluation))
        self.allocations.append((a.sampling, a.evaluation))
        extra = 0.0  # GPU-seconds beyond the allocation (checkpoints of released GPUs)

        # Evaluation pool: shrink by releasing idle GPUs first, then suspending the least advanced jobs.
        if a.evaluation < len(self.slots):
            self.slots.sort(key=lambda sl: (sl.row is not None, -sl.left))
            for sl in self.slots[: len(self.slots) - a.evaluation]:
                if sl.row is not None:
                    self.halfwork.append((sl.row, sl.left + self.costs.resume_seconds))
                    extra += self.costs.suspend_seconds
                    self.suspensions += 1
            self.slots = self.slots[len(self.slots) - a.evaluation :]
        while len(self.slots) < a.evaluation:
            self.slots.append(_Slot())

        # Sampling pool.
        new_sampling = a.sampling
        sampling_start = np.zeros(new_sampling)
        if not self.supernet_done:
            if self.sampling > 0 and new_sampling != self.sampling:
                extra += self.costs.suspend_seconds  # elastic restart: checkpoint at the old size
                self.suspensions += 1
            if new_sampling > 0 and new_sampling != self.sampling:
                delay = self.costs.resume_seconds if self.supernet_started else self.costs.trial_start_seconds
                sampling_start[:] = delay
                self.supernet_started = True
        else:
            sampling_start[self.sampling :] = self.costs.trial_start_seconds  # new scoring trials start up
        self.sampling = new_sampling
        gpus = a.total
        self._play_hour(h, sampling_start, gpus, extra)
        self.grams += (gpus * STEP_SECONDS + extra) * self.env.grams_per_gpu_second(h)
        self.gpu_seconds += gpus * STEP_SECONDS + extra
        self.log.hour_gpu_seconds.append(gpus * STEP_SECONDS + extra)

    def _play_hour(self, h: int, sampling_start: np.ndarray, gpus: int, extra: float) -> None:
        s = self.search
        events: list[tuple[float, int, str, int]] = []
        seq = 0

        def push(t: float, kind: str, i: int) -> None:
            nonlocal seq
            heapq.heappush(events, (t, seq, kind, i))
            seq += 1

        busy: list[tuple[float, float]] = []  # evaluation busy segments this hour (CE-NAS accounting)
        deliveries: dict[int, tuple[list[int], np.ndarray]] = {}

        # Supernet training runs on the whole sampling pool; scoring starts when it is done.
        k = self.sampling
        if k > 0:
            if not self.supernet_done:
                delay = float(sampling_start.max(initial=0.0))
                speed = self.costs.supernet_speedup(k)
                t_done = delay + self.supernet_left / speed
                if t_done >= STEP_SECONDS:
                    self.supernet_left -= max(0.0, STEP_SECONDS - delay) * speed
                else:
                    self.supernet_left = 0.0
                    for i in range(k):
                        push(t_done + self.costs.trial_start_seconds, "score", i)
            else:
                for i in range(k):
                    push(float(sampling_start[i]), "score", i)

        for j, sl in enumerate(self.slots):
            sl.started = 0.0
            sl.waiting = False
            if sl.row is None:
                push(0.0, "free", j)
            else:
                push(sl.left, "done", j)

        while events:
            t, _, kind, i = heapq.heappop(events)
            if t >= STEP_SECONDS:
                break
            if kind == "score":
                rows = s.propose(self.scoring_batch)
                if not rows:
                    continue  # nothing left to score: the GPU idles (and is charged)
                times = t + np.cumsum(self.score_seconds[rows])
                n_done = int(np.searchsorted(times, STEP_SECONDS, side="right"))
                if n_done < len(rows):
                    s.withdraw(rows[n_done:])  # not scored this hour: back to unseen
                if n_done == 0:
                    continue
                deliveries[i] = (rows[:n_done], self.truth.predicted[rows[:n_done]])
                push(float(times[n_done - 1]), "deliver", i)
            elif kind == "deliver":
                rows, preds = deliveries.pop(i)
                s.add_predictions(rows, preds)
                if not self.method.evaluation:
                    self._record(h, t, busy, gpus, extra)
                for j, sl in enumerate(self.slots):
                    if sl.waiting:
                        sl.waiting = False
                        push(t, "free", j)
                push(t, "score", i)
            elif kind == "done":
                sl = self.slots[i]
                assert sl.row is not None
                busy.append((sl.started, t))
                s.add_result(sl.row, float(self.truth.accuracy[sl.row]))
                sl.row, sl.left = None, 0.0
                self._record(h, t, busy, gpus, extra)
                push(t, "free", i)
            elif kind == "free":
                sl = self.slots[i]
                job = self._next_job()
                if job is None:
                    sl.waiting = True
                    continue
                sl.row, sl.left = job
                sl.started = t
                push(t + sl.left, "done", i)

        # Jobs still running carry their remaining work into the next hour.
        for sl in self.slots:
            if sl.row is not None:
                busy.append((sl.started, STEP_SECONDS))
                sl.left -= STEP_SECONDS - sl.started
        self.log.hour_busy_seconds.append(sum(b - a for a, b in busy))

    def _next_job(self) -> tuple[int, float] | None:
        s = self.search
        if self.halfwork:
            # Resume the most advanced suspended training first (CE-NAS's halfwork queue).
            best = min(range(len(self.halfwork)), key=lambda k: self.halfwork[k][1])
            return self.halfwork.pop(best)
        rows = s.pop_queue(1) if self.method.sampling else s.propose(1, train=True)
        if not rows:
            return None
        return rows[0], float(self.full_seconds[rows[0]])


def _with_sampler(cfg: SearchConfig, sampler: Sampler) -> SearchConfig:
    return replace(cfg, sampler=sampler)


def simulate(
    space: Space,
    truth: Truth,
    costs: CostModel,
    method: Method,
    env: Environment,
    *,
    flops: np.ndarray,
    seed: int,
    search_config: SearchConfig | None = None,
    scoring_batch: int = 32,
    stop: Callable[[Progress], bool] | None = None,
) -> RunResult:
    """Run `method` for at most env.hours hours, or until `stop` says so after an hour, or until nothing
    left could change its result."""
    run = _Run(space, truth, costs, method, env, seed, search_config or SearchConfig(), scoring_batch, flops)
    for h in range(env.hours):
        run.hour(h)
        if stop is not None and stop(Progress(h + 1, run.hv, run.gpu_seconds / 3600.0, run.grams)):
            break
        if _exhausted(run):
            break
    s = run.search
    grams, paper = run.log.totals(env.intensity, env.power_watts, env.pue)
    return RunResult(
        method=method.name,
        log=run.log,
        curve=run.log.price(env.intensity, env.power_watts, env.pue),
        grams=grams,
        grams_cenas_paper=paper,
        trained=s.n_results,
        scored=int(np.count_nonzero(np.isfinite(s.predicted))),
        suspensions=run.suspensions,
        allocations=run.allocations,
    )


def _exhausted(run: _Run) -> bool:
    """Nothing left that could change the result."""
    s = run.search
    if run.method.evaluation:
        return s.n_results == len(run.space)
    return s.n_unseen == 0 and run.supernet_done


__all__ = ["Allocation", "Curve", "Environment", "Method", "Progress", "RunResult", "Truth", "WorkLog", "simulate"]
