"""The NASSearch loop on the API (DESIGN.md section 3): one pass per search every few seconds.

Each pass: load the search's state (search_state), feed finished trials into the engine, charge reported
energy at the realized intensity, decide when a decision is due (search_decision), turn the target into
trials to run (search_plan), save the state *before* creating anything, then act and write the status.
Everything is level-based: a pass compares what should be with what the API shows, so a restarted operator
(or a repeated pass) creates nothing twice and loses nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import math
import threading
import time
from dataclasses import dataclass
from functools import partial

import kopf
from kubernetes import client
from pydantic import ValidationError

from cenas_operator import metrics, trial_handler
from cenas_operator.api import GROUP, LABEL_SEARCH, VERSION, NASSearch, TrialRole
from cenas_operator.api import SearchConditionType as SC
from cenas_operator.api.nassearch import Decision, Metric, Policy
from cenas_operator.bodies import plain, slim
from cenas_operator.builders import build_trial, owner_reference, trial_name
from cenas_operator.conditions import find, is_true, rfc3339, set_condition
from cenas_operator.forecast_client import ForecastUnavailable, parse_time
from cenas_operator.ledger import accrue, counterfactual_grams
from cenas_operator.priority_pool import PriorityPool
from cenas_operator.search import FittedTree, Search, SearchConfig, Space, StateError
from cenas_operator.search_decision import (
    DecisionRecord,
    SearchFacts,
    flat_forecast,
    hold_decision,
    make_decision,
    resample,
)
from cenas_operator.search_plan import (
    Assignment,
    TrialView,
    arch_of,
    assign,
    completion_reason,
    failing,
    ingest,
    remaining_gpu_hours,
    results,
    trial_counts,
    view,
)
from cenas_operator.search_state import STATE_KEY, SearchState, SearchStateError, state_configmap_name
from cenas_operator.status_diff import changed

DEFAULT_FULL_TRAININGS = 50  # planning assumption for searches without maxFullTrainings
FAILED_TRIAL_LIMIT = 3  # this many trials in a row failed for good: the search fails
BOOKKEEPING_SAVE_SECONDS = 10.0  # the ledger alone is saved at most this often (see _save_state)
INTENSITY_TTL_SECONDS = 5.0  # searches of one location share a realized-intensity reading this long
WRITER_THREADS = 32  # a search pass's writes (trials, their pods) go out in parallel on these, shared
WRITERS = PriorityPool(WRITER_THREADS, "cenas-writes")
STARTS_AND_STOPS, BOOKKEEPING = 0, 1  # WRITERS' priorities: writes that create or delete pods go first
DECISION_FIELDS = tuple(f.alias or f.name for f in Decision.model_fields.values())  # status.lastDecision keys


async def trials_by_search(namespace, labels, body, **_) -> dict:
    """kopf index: (namespace, search) -> the search's NASTrials, kept current by the watch. Async: it runs
    on kopf's loop for every event, not through the thread pool the search passes occupy."""
    search = labels.get(LABEL_SEARCH)
    return {(namespace, search): slim(body)} if search else {}


# ---- the state ConfigMap ---------------------------------------------------------------------------------
@dataclass
class Loaded:
    """A search's state as the ConfigMap holds it (or will, once saved)."""

    state: SearchState
    version: str | None  # the ConfigMap's resourceVersion; None before it exists
    text: str | None  # the ConfigMap's state.json
    plan: str | None = None  # its plan part (SearchState.plan_json)
    saved_at: float = 0.0  # time.monotonic() of the last write
    tree: FittedTree | None = None  # the engine's LaMOO tree at the end of the last pass (in memory only)


def _load_state(core: client.CoreV1Api, memo: kopf.Memo, search: dict) -> Loaded:
    """The state the last pass saved, kept in memory between passes. A pass takes it out of the cache and
    `_save_state` puts it back: a pass that fails before saving leaves nothing half-changed behind, and the
    next one reads the ConfigMap again."""
    uid = search["metadata"]["uid"]
    cached = memo.search_cache.pop(uid, None)
    if cached is not None:
        return cached
    name = state_configmap_name(search["metadata"]["name"])
    try:
        cm = core.read_namespaced_config_map(name, search["metadata"]["namespace"])
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        return Loaded(SearchState(), None, None)
    if cm.metadata.owner_references and all(o.uid != uid for o in cm.metadata.owner_references):
        raise SearchStateError(f"ConfigMap {name} belongs to another NASSearch (an older one of this name?)")
    text = (cm.data or {}).get(STATE_KEY, "")
    state = SearchState.from_json(text)
    return Loaded(state, cm.metadata.resource_version, text, state.plan_json(), time.monotonic())


def _engine(space: Space, loaded: Loaded, uid: str) -> Search:
    """The CE-NAS engine from its saved state, rebuilt every pass: 100 searches' engines held between passes
    cost about 40 MB (arrays over the 15,625 cells), and the rebuild is milliseconds once it takes back the
    last pass's LaMOO tree (refitting its SVMs and testing every cell against them is not)."""
    if loaded.state.engine is None:
        return Search(space, SearchConfig(), seed=_seed(uid))
    engine = Search.from_state(space, loaded.state.engine)
    engine.reuse_tree(loaded.tree)
    return engine


def _save_state(core: client.CoreV1Api, memo: kopf.Memo, search: dict, loaded: Loaded, text: str, plan_text: str,
                *, ahead: bool) -> None:
    """Write the state (`text`, its plan part `plan_text`) when its plan changed, or when only its bookkeeping
    changed and the last write is BOOKKEEPING_SAVE_SECONDS old: energy reports arrive every few seconds per
    search, and a ConfigMap write per pass per search is load the API server feels at scale. `ahead` (the
    call before acting) writes a changed plan only: the trials it names must be registered before they
    exist, while the bookkeeping waits for the call after acting, so that a deciding pass does not wait for
    it to reach its pods."""
    due = plan_text != loaded.plan or (not ahead and time.monotonic() - loaded.saved_at >= BOOKKEEPING_SAVE_SECONDS)
    if text != loaded.text and due:
        namespace = search["metadata"]["namespace"]
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": state_configmap_name(search["metadata"]["name"]),
                "namespace": namespace,
                "labels": {LABEL_SEARCH: search["metadata"]["name"],
                           "app.kubernetes.io/managed-by": "cenas-operator"},
                "ownerReferences": [owner_reference(search, "NASSearch")],
            },
            "data": {STATE_KEY: text},
        }
        if loaded.version is None:
            saved = core.create_namespaced_config_map(namespace, body)
        else:
            body["metadata"]["resourceVersion"] = loaded.version  # optimistic: fail rather than overwrite
            saved = core.replace_namespaced_config_map(body["metadata"]["name"], namespace, body)
        loaded.version, loaded.text, loaded.plan = saved.metadata.resource_version, text, plan_text
        loaded.saved_at = time.monotonic()
    memo.search_cache[search["metadata"]["uid"]] = loaded


# ---- small readers ---------------------------------------------------------------------------------------
SPACE_LOCK = threading.Lock()  # the first passes after a start must not each build the 15,625-cell space


def _space(memo: kopf.Memo, metric: Metric) -> Space:
    key = "flops" if metric is Metric.FLOPS else "params"
    with SPACE_LOCK:
        if key not in memo.spaces:
            memo.spaces[key] = Space.nb201(key)
        return memo.spaces[key]


def _seed(uid: str) -> int:
    return int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


async def _captured(coroutine):
    """The outcome as a value: a failing task left on kopf's loop at shutdown is re-raised by kopf."""
    try:
        return await coroutine, None
    except Exception as exc:  # handed to the calling thread, which raises it
        return None, exc


def _await(memo: kopf.Memo, coroutine):
    """Run one of the async forecast client's calls on kopf's loop from this handler's thread."""
    value, error = asyncio.run_coroutine_threadsafe(_captured(coroutine), memo.loop).result()
    if error is not None:
        raise error
    return value


def _intensity(memo: kopf.Memo, location: str, now: float) -> float | None:
    cached = memo.intensities.get(location)
    if cached is not None and now - cached[0] < INTENSITY_TTL_SECONDS:
        return cached[1]
    try:
        value = _await(memo, memo.forecasts.intensity(location)).intensity_grams_per_kilowatt_hour
    except ForecastUnavailable:
        value = None  # charged later, at the next known intensity: never at 0
    memo.intensities[location] = (now, value)
    return value


# ---- the pass --------------------------------------------------------------------------------------------
def reconcile_search(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger, trials_by_search, pods_by_name,
                     **_) -> None:
    trial_handler.capture(memo, trials_by_search, pods_by_name)
    search = plain(body)
    meta, status = search["metadata"], search.get("status") or {}
    if meta.get("deletionTimestamp"):
        return
    started = time.perf_counter()
    now = time.time()
    now_dt = dt.datetime.fromtimestamp(now, dt.UTC)
    generation = meta.get("generation")
    conds = status.get("conditions") or []

    def cond(kind, value, reason, message=""):
        nonlocal conds
        conds = set_condition(conds, kind, value, reason, message, generation=generation, now=now_dt)

    try:
        spec = NASSearch.model_validate(search).spec
    except ValidationError as exc:  # the CRD admits it: only a newer schema than this operator gets here
        cond(SC.READY, False, "InvalidSpec", str(exc)[:1000])
        patch.status["conditions"] = conds
        return
    core = client.CoreV1Api(memo.api)
    settings = memo.settings
    try:
        loaded = _load_state(core, memo, search)
        engine = _engine(_space(memo, spec.objectives[1].metric), loaded, meta["uid"])
    except (SearchStateError, StateError) as exc:
        cond(SC.READY, False, "InvalidState", str(exc))
        cond(SC.FAILED, True, "InvalidState", str(exc))
        patch.status["conditions"] = conds
        return
    state = loaded.state
    if state.start is None:
        state.start = now
    views: dict[str, TrialView] = {}
    for trial in trials_by_search.get((meta["namespace"], meta["name"]), []):
        views[trial["metadata"]["name"]] = view(trial)
    events = ingest(state, engine, views)

    # The ledger: energy reported since the last pass, at the realized intensity of this interval.
    interval = spec.carbon.decision_interval_seconds / settings.time_scale
    before = state.ledger
    reported = {n: v.energy_joules for n, v in views.items() if v.energy_joules is not None}
    index = int((now - state.start) // interval)
    wants_sample = len(state.intensities) <= index
    if wants_sample or any(j > before.seen_joules.get(n, 0.0) for n, j in reported.items()):
        intensity = _intensity(memo, spec.carbon.location, now)
        if intensity is not None:
            state.ledger = accrue(before, reported, intensity)
            while len(state.intensities) <= index:  # intervals nobody sampled take the next reading
                state.intensities.append(intensity)
    full_power = spec.gpus.max * spec.gpus.power_watts
    series = state.intensities or [0.0]
    need = math.ceil(state.ledger.energy_joules / (full_power * interval)) + 1
    padded = series + [series[-1]] * max(0, need - len(series))
    counterfactual = counterfactual_grams(state.ledger.energy_joules, full_power, padded, interval) if (
        state.intensities) else 0.0

    # Limits, then the decision when one is due.
    budget = spec.budget.carbon_grams
    deadline = spec.budget.deadline.timestamp() if spec.budget.deadline else None
    reason = completion_reason(
        engine=engine, views=views, state=state, now=now, deadline=deadline,
        max_full_trainings=spec.budget.max_full_trainings, budget_grams=budget,
        budget_exhausted=is_true(conds, SC.BUDGET_EXHAUSTED))
    search_failed = failing(views, FAILED_TRIAL_LIMIT)
    gpus_now = sum(v.gpus for v in views.values() if v.holding)
    remaining = remaining_gpu_hours(
        state, engine, views, full_epochs=spec.trainer.full_training_epochs,
        supernet_epochs=spec.trainer.supernet_epochs, max_full_trainings=spec.budget.max_full_trainings,
        gpus_per_trial=spec.trainer.gpus_per_trial, time_scale=settings.time_scale,
        default_full_trainings=DEFAULT_FULL_TRAININGS, gpu_hours_per_epoch=settings.planning_gpu_hours_per_epoch,
        power_watts=spec.gpus.power_watts)
    last = status.get("lastDecision") or {}
    target = int((status.get("gpus") or {}).get("target", 0))
    due = (not last.get("time") or now - parse_time(last["time"]).timestamp() >= interval
           or status.get("observedGeneration") != generation)
    record: DecisionRecord | None = None
    if reason is None and not search_failed and due:
        facts = SearchFacts(
            now=now, interval_seconds=interval, time_scale=settings.time_scale, max_gpus=spec.gpus.max,
            gpus_per_trial=spec.trainer.gpus_per_trial, gpus_now=gpus_now, power_watts=spec.gpus.power_watts,
            remaining_gpu_hours=remaining,
            budget_left_grams=math.inf if budget is None else budget - state.ledger.emitted_grams,
            deadline=deadline, suspended=spec.suspend)
        record = _decide(memo, spec, facts, state, target, cond, lambda: conds)
        target = record.gpus
        cond(SC.BUDGET_EXHAUSTED, record.budget_exhausted, "BudgetExhausted" if record.budget_exhausted
             else "BudgetLeft", "the budget cannot buy one more trial interval" if record.budget_exhausted else "")
        cond(SC.DEADLINE_AT_RISK, record.deadline_at_risk, "DeadlineAtRisk" if record.deadline_at_risk
             else "OnTrack", "every GPU is needed and may not suffice" if record.deadline_at_risk else "")
        metrics.record_decision(record.action, spec.carbon.mode)
        if reason is None and budget is not None and record.budget_exhausted:
            reason = "CarbonBudgetReached"
    if reason is not None or search_failed or spec.suspend:
        target = 0

    plan = assign(state, engine, views, target_gpus=target, gpus_per_trial=spec.trainer.gpus_per_trial,
                  max_full_trainings=spec.budget.max_full_trainings,
                  names=lambda role, i: trial_name(meta["name"], role, i))
    counterfactual_delta = max(0.0, counterfactual - state.counterfactual_charged)
    state.counterfactual_charged += counterfactual_delta
    state.engine = engine.to_state()
    loaded.tree = engine.fitted_tree()  # kept in memory with the state: the next pass need not refit it
    text, plan_text = state.to_json(), state.plan_json()  # once, for both writes
    _save_state(core, memo, search, loaded, text, plan_text, ahead=True)  # before anything it describes exists
    _act(memo, search, state, plan, views, logger)
    _save_state(core, memo, search, loaded, text, plan_text, ahead=False)
    if plan.create or plan.set_suspend:
        metrics.ACTUATION_SECONDS.observe(time.perf_counter() - started)

    # Status, events, metrics.
    counts = trial_counts(views)
    holding = any(v.holding for v in views.values())
    cond(SC.READY, True, "Reconciled")
    if reason is not None:
        cond(SC.COMPLETE, True, reason, f"{engine.n_results} architectures fully trained")
    else:
        cond(SC.COMPLETE, False, "Searching")
    cond(SC.FAILED, search_failed, "TooManyTrialFailures" if search_failed else "NoFailure",
         f"the last {FAILED_TRIAL_LIMIT} trials failed: see their Failed condition" if search_failed else "")
    if spec.suspend:
        cond(SC.SUSPENDED, not holding, "UserSuspended", "spec.suspend is true")
    elif reason is None and not search_failed and target == 0 and not holding:
        cond(SC.SUSPENDED, True, "CarbonWait", "waiting for a cleaner hour")
    else:
        cond(SC.SUSPENDED, False, "Running" if holding else "NotSuspended")
    if holding:
        cond(SC.PROGRESSING, True, "TrialsRunning", f"{counts['running']} trials hold GPUs")
    else:
        why = reason or ("Failed" if search_failed else "Suspended" if spec.suspend
                         else "WaitingForLowIntensity" if target == 0 else "Starting")
        cond(SC.PROGRESSING, False, why)
    gpus = {"running": gpus_now, "target": target, "sampling": plan.sampling_gpus,
            "evaluation": plan.evaluation_gpus}
    observed = {
        "observedGeneration": generation,
        "conditions": conds,
        "gpus": gpus,
        "trials": counts,
        "carbon": {
            "emittedGrams": round(state.ledger.emitted_grams, 3),
            "energyJoules": round(state.ledger.energy_joules, 1),
            "counterfactualGrams": round(counterfactual, 3),
            "avoidedGrams": round(counterfactual - state.ledger.emitted_grams, 3),
        },
        **results(state, engine),
    }
    if record is not None:
        # A merge patch keeps keys it does not mention: clear the previous decision's extra fields.
        observed["lastDecision"] = dict.fromkeys(DECISION_FIELDS) | record.status | {
            "samplingGPUs": plan.sampling_gpus, "evaluationGPUs": plan.evaluation_gpus}
    if not status.get("startTime") and (views or plan.create):
        observed["startTime"] = rfc3339(now_dt)
    if reason is not None and not status.get("completionTime"):
        observed["completionTime"] = rfc3339(now_dt)
    for key, value in changed(status, observed).items():
        patch.status[key] = value

    for event_reason, message in events:
        kopf.event(body, type="Normal", reason=event_reason, message=message)
    if plan.create or plan.set_suspend:
        resumed = sorted(n for n, s in plan.set_suspend.items() if not s)
        suspended = sorted(n for n, s in plan.set_suspend.items() if s)
        kopf.event(body, type="Normal", reason="Reallocated", message=(
            f"target {target} GPUs: created {list(plan.create)}, resumed {resumed}, suspended {suspended}")[:1000])
    ns, name = meta["namespace"], meta["name"]
    metrics.add_carbon(ns, name, grams=state.ledger.emitted_grams - before.emitted_grams,
                       counterfactual_grams=counterfactual_delta,
                       energy_joules=state.ledger.energy_joules - before.energy_joules)
    slack = None
    if deadline is not None:
        slack = deadline - now - remaining * 3600.0 / settings.time_scale / spec.gpus.max
    metrics.set_search_status(ns, name, avoided_grams=counterfactual - state.ledger.emitted_grams,
                              budget_grams=budget, emitted_grams=state.ledger.emitted_grams,
                              deadline_slack_seconds=slack)
    memo.totals[(ns, name)] = (gpus, counts)
    _publish_totals(memo)
    metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)


def _decide(memo, spec, facts: SearchFacts, state: SearchState, target: int, cond, conds) -> DecisionRecord:
    settings = memo.settings
    try:
        forecast = memo.forecasts.recent(spec.carbon.location) or _await(
            memo, memo.forecasts.forecast(spec.carbon.location))
    except ForecastUnavailable as exc:
        cond(SC.FORECAST_AVAILABLE, False, "ForecasterUnreachable", str(exc)[:1000])
        metrics.set_forecast(spec.carbon.location, intensity_grams_per_kilowatt_hour=None,
                             next_hour_forecast_grams_per_kilowatt_hour=None, issued_timestamp=None)
        since = parse_time(find(conds(), SC.FORECAST_AVAILABLE)["lastTransitionTime"]).timestamp()
        if facts.now - since < settings.forecast_hold_seconds / settings.time_scale:
            return hold_decision(facts, target, spec.carbon.mode, f"holding {target} GPUs: {exc}"[:1000])
        worst = state.worst_intensity or settings.fallback_intensity_grams_per_kilowatt_hour
        leads = max(1, int(96 * 3600 / settings.time_scale // facts.interval_seconds))
        return make_decision(facts, policy=spec.carbon.policy, mode=spec.carbon.mode, ppo=memo.ppo,
                             ppo_version=memo.ppo_version, quantiles=flat_forecast(worst, leads), forecast=None)
    quantiles = resample(forecast, facts.now, facts.interval_seconds)
    state.worst_intensity = float(forecast.upper90_grams_per_kilowatt_hour.max())
    cond(SC.FORECAST_AVAILABLE, True, "CachedForecast" if forecast.from_cache else "FreshForecast",
         f"issued {rfc3339(forecast.issued_at)}")
    metrics.set_forecast(spec.carbon.location, intensity_grams_per_kilowatt_hour=float(quantiles[0, 1]),
                         next_hour_forecast_grams_per_kilowatt_hour=float(quantiles[min(1, len(quantiles) - 1), 1]),
                         issued_timestamp=forecast.issued_at.timestamp())
    policy = spec.carbon.policy
    return make_decision(facts, policy=policy, mode=spec.carbon.mode,
                         ppo=memo.ppo if policy is Policy.PPO or spec.carbon.mode.value == "Shadow" else None,
                         ppo_version=memo.ppo_version, quantiles=quantiles, forecast=forecast)


def _act(memo: kopf.Memo, search: dict, state: SearchState, plan: Assignment, views: dict[str, TrialView],
         logger) -> None:
    """Create the missing trials, flip spec.suspend, show per-trial grams: independent writes, sent in
    parallel (a search that resumes 16 trials waits for one round trip, not 16). A trial created or flipped
    is reconciled at once with the body the write returned: its pod is created or deleted in this pass.
    What starts or stops pods goes out first, in every pass at once (STARTS_AND_STOPS): the pods of trials
    to resume are created before their flips are written (trial_handler.start_resumed)."""
    objects = client.CustomObjectsApi(memo.api)
    namespace, search_name = search["metadata"]["namespace"], search["metadata"]["name"]
    running = set(plan.running)
    supernet = next((n for n, r in state.trials.items() if r.role == TrialRole.SUPERNET_TRAINING.value), None)

    def follow(name: str, written: dict) -> None:
        key = (namespace, search_name, name)
        try:
            again = trial_handler.reconcile(memo, key, fresh=slim(written), search=search)
        except Exception as exc:  # the trial workers take it from here
            logger.warning("trial %s: %s (left to the trial workers)", name, exc)
            again = 0.0
        if again is not None:
            memo.trial_work.queue.add(key, again)

    def create(name: str) -> None:
        record = state.trials[name]
        role = TrialRole(record.role)
        manifest = build_trial(
            search, role, record.index, seed=_seed(search["metadata"]["uid"] + name),
            architecture=arch_of(record.rows[0]) if role is TrialRole.FULL_TRAINING else None,
            candidates=[arch_of(r) for r in record.rows] if role is TrialRole.CANDIDATE_SCORING else None,
            supernet_trial=supernet if role is TrialRole.CANDIDATE_SCORING else None)
        manifest["spec"]["suspend"] = name not in running
        try:
            follow(name, objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", manifest))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
            logger.info("trial %s exists already", name)

    def start_pod(name: str) -> None:
        try:
            trial_handler.start_resumed(memo, (namespace, search_name, name), search)
        except Exception as exc:  # the look after the flip creates the pod then
            logger.warning("trial %s: %s (its pod follows the flip)", name, exc)

    def flip(name: str, suspend: bool) -> None:
        flipped = False
        try:
            written = objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", name,
                                                             {"spec": {"suspend": suspend}})
            flipped = True
            follow(name, written)
        finally:
            if not suspend:
                trial_handler.end_resume(memo, (namespace, search_name, name), flipped)

    resumed = [name for name, suspend in plan.set_suspend.items() if not suspend]
    starts_and_stops = [partial(create, name) for name in plan.create]
    starts_and_stops += [partial(flip, name, True) for name, suspend in plan.set_suspend.items() if suspend]
    first = [WRITERS.submit(STARTS_AND_STOPS, write) for write in starts_and_stops]
    for future in [WRITERS.submit(STARTS_AND_STOPS, partial(start_pod, name)) for name in resumed]:
        future.result()  # start_pod raises nothing
    then = [partial(flip, name, False) for name in resumed]
    for name, grams in state.ledger.trial_grams.items():
        trial = views.get(name)
        if trial is None:
            continue
        # Exact once the trial is done; meanwhile only steps worth a PATCH (16 trials x every report adds up).
        step = 0.01 if trial.phase in ("Succeeded", "Failed") else max(1.0, 0.05 * grams)
        if trial.emitted_grams is None or abs(trial.emitted_grams - grams) >= step:
            then.append(partial(objects.patch_namespaced_custom_object_status, GROUP, VERSION, namespace,
                                "nastrials", name, {"status": {"emittedGrams": round(grams, 3)}}))
    for future in first + [WRITERS.submit(BOOKKEEPING, write) for write in then]:
        future.result()  # the first failure fails the pass; the next pass redoes what is missing


def _publish_totals(memo: kopf.Memo) -> None:
    gpus: dict[str, int] = {}
    trials: dict[str, int] = {}
    for search_gpus, search_trials in memo.totals.values():
        for k, v in search_gpus.items():
            gpus[k] = gpus.get(k, 0) + v
        for k, v in search_trials.items():
            trials[k] = trials.get(k, 0) + v
    metrics.set_totals(gpus, trials)


def delete_search(body: kopf.Body, memo: kopf.Memo, logger, **_) -> None:
    """The finalizer: delete the search's trials, their pods and its state, then let the search go."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    core, objects = client.CoreV1Api(memo.api), client.CustomObjectsApi(memo.api)
    selector = f"{LABEL_SEARCH}={name}"
    objects.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials",
                                                       label_selector=selector)
    core.delete_collection_namespaced_pod(namespace, label_selector=selector)
    try:
        core.delete_namespaced_config_map(state_configmap_name(name), namespace)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    memo.search_cache.pop(meta["uid"], None)
    memo.totals.pop((namespace, name), None)
    metrics.remove_search(namespace, name)
    logger.info("deleted the trials, pods and state of %s/%s", namespace, name)
