"""Pure planning of one search pass: read the trials' outcomes into the engine, turn a GPU target into
which trials run, and summarise the search for its status.

Trials are the unit of GPUs (`gpusPerTrial` each). The sampling pool runs at most one trial at a time:
first the supernet, then scoring batches while the queue of scored candidates is short; the evaluation
pool trains queued candidates fully. Within a pool, running trials keep their GPUs, suspended ones resume
before anything new starts (CE-NAS's half-finished queue), and new trials are registered in the state
before they exist (search_state's write-ahead log)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cenas_operator.api import TrialConditionType as TC
from cenas_operator.api import TrialRole
from cenas_operator.conditions import is_true
from cenas_operator.forecast_client import parse_time
from cenas_operator.search import Search
from cenas_operator.search.allocation import planned_work_gpu_hours
from cenas_operator.search.pareto import hypervolume, pareto_mask, to_max
from cenas_operator.search_state import SUPERNET_DONE, SUPERNET_FAILED, SUPERNET_PENDING, SearchState
from cenas_spaces import format_arch, from_index, network_cost, parse_arch, to_index

SCORING_BATCH = 32  # candidates per scoring trial (the CRD allows 128)
FRONT_LIMIT = 32  # status.paretoFront's maxItems
SAMPLING_ROLES = (TrialRole.SUPERNET_TRAINING.value, TrialRole.CANDIDATE_SCORING.value)
ACTIVE, SUSPENDED, SUCCEEDED, FAILED = "Active", "Suspended", "Succeeded", "Failed"


@dataclass(frozen=True)
class TrialView:
    """What a pass needs of one NASTrial as the API shows it."""

    name: str
    role: str
    phase: str  # ACTIVE, SUSPENDED, SUCCEEDED or FAILED
    holding: bool  # its pod exists and holds GPUs (condition Running=True)
    gpus: int
    suspend: bool  # spec.suspend
    energy_joules: float | None = None
    emitted_grams: float | None = None
    accuracy: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    finished_at: float | None = None  # completion time (wall seconds), for succeeded and failed trials


def view(trial: dict) -> TrialView:
    spec, status = trial.get("spec") or {}, trial.get("status") or {}
    conds = status.get("conditions") or []
    if is_true(conds, TC.COMPLETE):
        phase = SUCCEEDED
    elif is_true(conds, TC.FAILED):
        phase = FAILED
    elif spec.get("suspend"):
        phase = SUSPENDED
    else:
        phase = ACTIVE
    result = status.get("result") or {}
    finished_at = parse_time(status["completionTime"]).timestamp() if status.get("completionTime") else None
    return TrialView(
        name=trial["metadata"]["name"],
        role=spec.get("role", ""),
        phase=phase,
        holding=is_true(conds, TC.RUNNING) and phase in (ACTIVE, SUSPENDED),
        gpus=int(spec.get("gpus") or 1),
        suspend=bool(spec.get("suspend")),
        energy_joules=status.get("energyJoules"),
        emitted_grams=status.get("emittedGrams"),
        accuracy=result.get("accuracyPercent"),
        scores={s["architecture"]: s["accuracyPercent"] for s in result.get("scores") or []},
        finished_at=finished_at,
    )


def row_of(architecture: str) -> int:
    return to_index(parse_arch(architecture))


def arch_of(row: int) -> str:
    return format_arch(from_index(int(row)))


def ingest(state: SearchState, engine: Search, views: dict[str, TrialView]) -> list[tuple[str, str]]:
    """Feed every finished, not yet consumed trial into the engine; returns (reason, message) events."""
    events = []
    for name, record in state.trials.items():
        trial = views.get(name)
        if record.consumed or trial is None or trial.phase not in (SUCCEEDED, FAILED):
            continue
        ok = trial.phase == SUCCEEDED
        if record.role == TrialRole.SUPERNET_TRAINING.value:
            state.supernet = SUPERNET_DONE if ok else SUPERNET_FAILED
            events.append(("SupernetTrained", f"{name}: scoring can start") if ok else
                          ("SupernetFailed", f"{name} failed: candidates are trained without supernet scores"))
        elif record.role == TrialRole.CANDIDATE_SCORING.value:
            scored = [r for r in record.rows if arch_of(r) in trial.scores] if ok else []
            if scored:
                engine.add_predictions(scored, [trial.scores[arch_of(r)] for r in scored])
            missing = [r for r in record.rows if r not in scored]
            if missing:
                engine.withdraw(missing)
            events.append(("CandidatesScored", f"{name}: {len(scored)} of {len(record.rows)} candidates scored"))
        else:
            row = record.rows[0]
            if ok and trial.accuracy is not None and math.isfinite(trial.accuracy):
                engine.add_result(row, float(trial.accuracy))
                events.append(("TrainingComplete", f"{name}: {arch_of(row)} reached {trial.accuracy:.2f} %"))
            else:
                engine.abandon(row)
                events.append(("TrainingAbandoned", f"{name} failed: its candidate goes back to the queue"))
        record.consumed = True
    return events


@dataclass(frozen=True)
class Assignment:
    running: tuple[str, ...]  # trials that should run (spec.suspend false)
    create: tuple[str, ...]  # registered trials missing from the API, to create now
    set_suspend: dict[str, bool]  # existing trials whose spec.suspend must change
    sampling_gpus: int
    evaluation_gpus: int
    registered: tuple[str, ...]  # trials this pass registered (the state changed)


def _ordered(names: list[str], views: dict[str, TrialView], state: SearchState) -> list[str]:
    """Running trials first (they keep their GPUs), then suspended ones (resume before new), then
    registered trials not created yet; by trial number within each."""
    def key(name):
        trial = views.get(name)
        rank = 2 if trial is None else (0 if trial.phase == ACTIVE else 1)
        return rank, state.trials[name].index
    return sorted(names, key=key)


def assign(state: SearchState, engine: Search, views: dict[str, TrialView], *, target_gpus: int,
           gpus_per_trial: int, max_full_trainings: int | None, names) -> Assignment:
    """Which trials run for `target_gpus`. `names(role, index)` gives a new trial's name. Registers the new
    trials it needs in `state` (engine rows move to proposed/training) and reports every difference."""
    slots = max(0, target_gpus // gpus_per_trial)
    max_trials_ever = max(1, slots)
    incomplete = [n for n, r in state.trials.items()
                  if not r.consumed and (views.get(n) is None or views[n].phase in (ACTIVE, SUSPENDED))]
    sampling = _ordered([n for n in incomplete if state.trials[n].role in SAMPLING_ROLES], views, state)
    evaluation = _ordered([n for n in incomplete if state.trials[n].role not in SAMPLING_ROLES], views, state)
    full_left = math.inf if max_full_trainings is None else max_full_trainings - engine.n_results - len(evaluation)
    registered: list[str] = []

    def register(role: TrialRole, rows: list[int]) -> str:
        name = names(role, state.next_index.get(role.value, 0))
        state.register(name, role.value, rows)
        registered.append(name)
        return name

    supernet_registered = any(r.role == TrialRole.SUPERNET_TRAINING.value for r in state.trials.values())
    new_sampling = (
        (state.supernet == SUPERNET_PENDING and not supernet_registered)
        or (state.supernet == SUPERNET_DONE and not sampling and engine.n_unseen > 0
            and engine.n_queued < 2 * max_trials_ever + 2)
    )
    n_sampling = 1 if slots > 0 and (sampling or new_sampling) else 0
    # Without a supernet (it failed), untested cells are trained directly: vanilla LaMOO.
    queue = engine.n_unseen if state.supernet == SUPERNET_FAILED else engine.n_queued
    n_evaluation = int(min(slots - n_sampling, len(evaluation) + max(0, min(queue, full_left))))

    keep = sampling[:n_sampling]
    if len(keep) < n_sampling:
        if state.supernet == SUPERNET_PENDING:
            keep.append(register(TrialRole.SUPERNET_TRAINING, []))
        else:
            rows = engine.propose(SCORING_BATCH)
            if rows:
                keep.append(register(TrialRole.CANDIDATE_SCORING, rows))
    keep_eval = evaluation[:n_evaluation]
    while len(keep_eval) < n_evaluation:
        rows = engine.propose(1, train=True) if state.supernet == SUPERNET_FAILED else engine.pop_queue(1)
        if not rows:
            break
        keep_eval.append(register(TrialRole.FULL_TRAINING, rows))
    running = set(keep) | set(keep_eval)
    every = incomplete + registered
    set_suspend = {n: n not in running for n in every if n in views and views[n].suspend != (n not in running)}
    return Assignment(
        running=tuple(sorted(running)),
        create=tuple(n for n in every if n not in views),
        set_suspend=set_suspend,
        sampling_gpus=len(keep) * gpus_per_trial,
        evaluation_gpus=len(keep_eval) * gpus_per_trial,
        registered=tuple(registered),
    )


def remaining_gpu_hours(state: SearchState, engine: Search, views: dict[str, TrialView], *, full_epochs: int,
                        supernet_epochs: int, max_full_trainings: int | None, gpus_per_trial: int,
                        time_scale: float, default_full_trainings: int, gpu_hours_per_epoch: float,
                        power_watts: float) -> float:
    """Grid GPU-hours of work left: full trainings still to do at their measured (else estimated) length,
    plus the supernet while it is untrained. An estimate that only has to rank decisions sensibly.
    A finished training's length is its energy at the planning power: time spent suspended is not work."""
    measured = [v.energy_joules / power_watts / 3600.0 * time_scale for v in views.values()
                if v.phase == SUCCEEDED and v.role == TrialRole.FULL_TRAINING.value and v.energy_joules]
    per_full = float(np.mean(measured)) if measured else full_epochs * gpu_hours_per_epoch * gpus_per_trial
    wanted = max_full_trainings if max_full_trainings is not None else default_full_trainings
    supernet = supernet_epochs * gpu_hours_per_epoch * gpus_per_trial if state.supernet == SUPERNET_PENDING else 0.0
    return planned_work_gpu_hours(engine.n_results, wanted, per_full, supernet)


def results(state: SearchState, engine: Search) -> dict:
    """status.best, paretoFront and hypervolume (normalised: accuracy / 100, cost / the space's largest)."""
    rows = engine.trained_rows()
    if rows.size == 0:
        return {}
    trial_of = {r.rows[0]: n for n, r in state.trials.items() if r.role == TrialRole.FULL_TRAINING.value}
    cost = engine.space.cost
    points = to_max(engine.true[rows] / 100.0, cost[rows] / float(cost.max()))
    front = rows[pareto_mask(points)]

    def describe(row: int) -> dict:
        c = network_cost(from_index(int(row)))
        return {"trial": trial_of.get(int(row), ""), "architecture": arch_of(row),
                "accuracyPercent": round(float(engine.true[row]), 4),
                "params": int(c.params), "flops": int(c.flops)}

    best = int(rows[np.argmax(engine.true[rows])])
    front = sorted(front.tolist(), key=lambda r: -engine.true[r])[:FRONT_LIMIT]
    return {
        "best": describe(best),
        "paretoFront": [describe(r) for r in front],
        "hypervolume": round(float(hypervolume(points, np.array([0.0, -1.0]))), 6),
    }


def trial_counts(views: dict[str, TrialView]) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "running", "suspended", "succeeded", "failed"), 0)
    for v in views.values():
        if v.phase == SUCCEEDED:
            counts["succeeded"] += 1
        elif v.phase == FAILED:
            counts["failed"] += 1
        elif v.phase == SUSPENDED and not v.holding:
            counts["suspended"] += 1
        elif v.holding:
            counts["running"] += 1
        else:
            counts["pending"] += 1
    return counts


def failing(views: dict[str, TrialView], limit: int) -> bool:
    """The last `limit` trials to finish all failed: something a human must fix (a bad image, a dataset
    that is not there), and retrying new trials would only repeat it."""
    finished = sorted((v for v in views.values() if v.phase in (SUCCEEDED, FAILED) and v.finished_at is not None),
                      key=lambda v: (v.finished_at, v.name))[-limit:]
    return len(finished) == limit and all(v.phase == FAILED for v in finished)


def completion_reason(*, engine: Search, views: dict[str, TrialView], state: SearchState, now: float,
                      deadline: float | None, max_full_trainings: int | None, budget_grams: float | None,
                      budget_exhausted: bool) -> str | None:
    """Why the search is complete now, or None. Level-based: raising a limit reopens the search."""
    if max_full_trainings is not None and engine.n_results >= max_full_trainings:
        return "MaxFullTrainingsReached"
    if budget_grams is not None and (state.ledger.emitted_grams >= budget_grams or budget_exhausted):
        return "CarbonBudgetReached"
    if deadline is not None and now >= deadline:
        return "DeadlineReached"
    pending = any(not r.consumed for r in state.trials.values())
    if engine.n_unseen == 0 and engine.n_queued == 0 and not pending and state.supernet != SUPERNET_PENDING:
        return "SearchSpaceExhausted"
    return None

