"""The NASTrial lifecycle on the API: find the trial's current pod, plan (trials.plan_trial), act.

Event-driven, without a timer per trial: a watch event of a trial or of its pod puts the trial's key on a
work queue (one entry however many events), and worker threads reconcile it from kopf's indexes. A plan
that waits (a backoff, a pod still shutting down) comes back after its delay, and a slow resync queues
every unfinished trial again so that nothing missed stays missed. The search loop reconciles the trials it
has just flipped within its own pass (`reconcile` with the body its patch returned), without the hop
through the watch; a lock per trial keeps the two paths from acting on one trial at once.

Level-based: every look compares the desired state with what the API shows and acts only on differences;
creating a pod that already exists (409) is a no-op, so a restarted operator continues without duplicates."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial

import kopf
from kubernetes import client

from cenas_operator import metrics
from cenas_operator.api import GROUP, LABEL_SEARCH, VERSION, TrialConditionType
from cenas_operator.bodies import pod_summary, slim
from cenas_operator.builders import LABEL_TRIAL, build_pod, pod_name
from cenas_operator.conditions import find, is_true
from cenas_operator.kube import json_call
from cenas_operator.status_diff import changed
from cenas_operator.trials import UNCLEAN, adopt_next_attempt, plan_trial
from cenas_operator.workqueue import WorkQueue, run_workers

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (namespace, search, trial)
ERROR_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)  # a failing look (API conflict, timeout) is retried
CREATED_POD_TRUST_SECONDS = 30.0  # a pod our create returned stands for the index's this long (note_pod)


@dataclass
class TrialWork:
    """What the trial lifecycle shares between the watch handlers, the workers and the search loop."""

    queue: WorkQueue = field(default_factory=WorkQueue)
    trials: object = None  # kopf's trials_by_search index, captured from the first handler call
    pods: object = None  # kopf's pods_by_name index
    posting: contextvars.Context | None = None  # a handler's context, in which kopf.event can post
    written: dict[Key, dict] = field(default_factory=dict)  # the newest trial body a write of ours returned
    last_pod: dict[Key, tuple[str, dict | None, float]] = field(default_factory=dict)  # see note_pod
    failures: dict[Key, int] = field(default_factory=dict)
    resuming: set[Key] = field(default_factory=set)  # see start_resumed
    _locks: dict[Key, threading.RLock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, key: Key) -> threading.RLock:
        """The trial's lock (reentrant: a look may create a pod, which notes it under the same lock)."""
        with self._guard:
            return self._locks.setdefault(key, threading.RLock())

    def forget(self, key: Key) -> None:
        with self._guard:
            self._locks.pop(key, None)
            self.last_pod.pop(key, None)
        self.written.pop(key, None)
        self.failures.pop(key, None)
        self.resuming.discard(key)

    def note_pod(self, key: Key, name: str, pod: dict | None) -> None:
        """The trial's newest pod as our create returned it, or None: the watch saw it deleted. The pod index
        lags both, and a pod missing from it would otherwise be read from the API to tell "not there yet"
        from "gone" (a GET per pod started and per pod stopped). Pod names are never reused (one per
        attempt), so a deletion seen is final: a creation does not overwrite it. A creation is trusted for
        CREATED_POD_TRUST_SECONDS: a pod the index has not shown by then is read again."""
        with self._guard:
            last = self.last_pod.get(key)
            if pod is None or last is None or last[:2] != (name, None):
                self.last_pod[key] = (name, pod, time.monotonic())

    def pod(self, key: Key, name: str) -> tuple[dict | None, bool]:
        """(the trial's pod `name`, whether that is known): the index's; else what note_pod knows; else
        (None, False): the API must be asked."""
        indexed = next(iter(self.pods.get((key[0], name), [])), None)
        if indexed is not None:
            return indexed, True
        last = self.last_pod.get(key)
        if last is None or last[0] != name:
            return None, False
        gone, recent = last[1] is None, time.monotonic() - last[2] < CREATED_POD_TRUST_SECONDS
        return (last[1], True) if gone or recent else (None, False)


def _newer(a: dict, b: dict) -> bool:
    """Whether body a is a later version of the object than body b. resourceVersions are etcd revisions,
    comparable since Kubernetes 1.35 (comparable resource versions); anything else counts as not newer."""
    try:
        return int(a["metadata"]["resourceVersion"]) > int(b["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return False


def _trial_in_index(work: TrialWork, key: Key) -> dict | None:
    namespace, search, name = key
    try:
        return next((t for t in work.trials.get((namespace, search), []) if t["metadata"]["name"] == name), None)
    except RuntimeError:  # the watch changed the store while we looked: look once more
        return next((t for t in list(work.trials.get((namespace, search), [])) if t["metadata"]["name"] == name),
                    None)


def _current(work: TrialWork, key: Key) -> dict | None:
    """The newest body of the trial this process knows: the index's, or one our own write returned that the
    watch has not delivered yet (a status this worker wrote must not be planned from again)."""
    indexed = _trial_in_index(work, key)
    written = work.written.get(key)
    if written is None:
        return indexed
    if indexed is not None and not _newer(written, indexed):
        work.written.pop(key, None)  # the watch has caught up
        return indexed
    return written


def capture(memo: kopf.Memo, trials_by_search, pods_by_name) -> TrialWork:
    """Keep kopf's (live) indexes and a handler context for posting events, on the first handler call."""
    work: TrialWork = memo.trial_work
    if work.trials is None:
        work.trials, work.pods = trials_by_search, pods_by_name
        work.posting = contextvars.copy_context()
    return work


def trial_key(namespace: str, labels, name: str) -> Key | None:
    search = (labels or {}).get(LABEL_SEARCH)
    return (namespace, search, name) if search else None


# ---- watch handlers (async: they only queue, on kopf's loop) -------------------------------------------
async def on_trial_event(event, namespace, name, labels, memo: kopf.Memo, trials_by_search, pods_by_name,
                         **_) -> None:
    work = capture(memo, trials_by_search, pods_by_name)
    key = trial_key(namespace, labels, name)
    if key is None:
        return
    if event.get("type") == "DELETED":
        work.forget(key)
    else:
        work.queue.add(key)


async def on_pod_event(event, namespace, name, labels, memo: kopf.Memo, trials_by_search, pods_by_name,
                       **_) -> None:
    """A trainer pod changed (scheduled, running, finished, gone): its trial has something to notice."""
    work = capture(memo, trials_by_search, pods_by_name)
    key = trial_key(namespace, labels, (labels or {}).get(LABEL_TRIAL, ""))
    if key is not None and key[2]:
        if event.get("type") == "DELETED":
            work.note_pod(key, name, None)
        work.queue.add(key)


async def pods_by_name(namespace, name, body, **_) -> dict:
    """kopf index of the trainer pods (label cenas.dev/trial), kept current by the watch: a look reads no
    pod from the API unless the index lacks one it expects. Async, like trials_by_search."""
    return {(namespace, name): pod_summary(body)}


def unfinished(trial: dict) -> bool:
    conds = (trial.get("status") or {}).get("conditions")
    return not (is_true(conds, TrialConditionType.COMPLETE) or is_true(conds, TrialConditionType.FAILED))


async def resync(memo: kopf.Memo) -> None:
    """Queue every unfinished trial every `trial_resync_seconds`: a safety net under the events."""
    work: TrialWork = memo.trial_work
    while True:
        await asyncio.sleep(memo.settings.trial_resync_seconds)
        if work.trials is None:
            continue
        for (namespace, search), store in list(work.trials.items()):
            for trial in list(store):
                if unfinished(trial):
                    work.queue.add((namespace, search, trial["metadata"]["name"]))


def start_workers(memo: kopf.Memo) -> None:
    def retry_later(key: Key, exc: Exception) -> float:
        failures = memo.trial_work.failures[key] = memo.trial_work.failures.get(key, 0) + 1
        log.warning("trial %s/%s: %s (retrying)", key[0], key[2], exc)
        return ERROR_BACKOFF_SECONDS[min(failures, len(ERROR_BACKOFF_SECONDS)) - 1]

    run_workers(memo.trial_work.queue, partial(reconcile, memo), memo.settings.trial_workers, "cenas-trials",
                retry_later)


# ---- one look at one trial ------------------------------------------------------------------------------
def _read_pod(core: client.CoreV1Api, namespace: str, name: str) -> dict | None:
    try:
        return json_call(core.read_namespaced_pod, name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _owner_search(objects: client.CustomObjectsApi, trial: dict) -> dict | None:
    """The NASSearch that owns the trial (its pods are built from the search's spec); None without one."""
    owner = next((o for o in trial["metadata"].get("ownerReferences") or [] if o["kind"] == "NASSearch"), None)
    if owner is None:
        return None
    return objects.get_namespaced_custom_object(GROUP, VERSION, trial["metadata"]["namespace"], "nassearches",
                                                owner["name"])


def _expects_pod(trial: dict) -> bool:
    return is_true((trial.get("status") or {}).get("conditions"), TrialConditionType.RUNNING)


def _without_checkpoint(plan) -> bool:
    found = find(plan.status.get("conditions"), TrialConditionType.SUSPENDED)
    return found is not None and found.get("reason") == UNCLEAN


def _post(work: TrialWork, memo: kopf.Memo, trial: dict, reason: str, message: str) -> None:
    """A Kubernetes event through kopf's poster, which only works inside a handler's context on its loop."""
    if work.posting is not None:
        memo.loop.call_soon_threadsafe(partial(kopf.event, trial, type="Normal", reason=reason, message=message),
                                       context=work.posting.copy())


def _create_pod(memo: kopf.Memo, key: Key, search: dict, trial: dict, attempt: int) -> None:
    manifest = build_pod(search, trial, attempt, memo.settings)
    try:
        created = json_call(client.CoreV1Api(memo.api).create_namespaced_pod, key[0], manifest)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        log.info("pod %s exists already", manifest["metadata"]["name"])
        return
    memo.trial_work.note_pod(key, manifest["metadata"]["name"], pod_summary(created))


def start_resumed(memo: kopf.Memo, key: Key, search: dict) -> None:
    """Create the pod of a suspended trial that the search loop is about to resume, before the loop writes
    the trial's spec.suspend: a resumption then waits for one round trip to the API server, not two. Until
    the loop has written the flip and calls `end_resume`, every look treats the trial as resumed (it would
    otherwise stop the pod of a trial still suspended) and may adopt the pod (adopt_next_attempt). Anything
    uncertain (the current pod not known without a read, a pod still shutting down) is left to the look
    after the flip."""
    work: TrialWork = memo.trial_work
    with work.lock(key):
        trial = _current(work, key)
        if trial is None:
            return
        attempt = (trial.get("status") or {}).get("attempt") or 0
        if work.pod(key, pod_name(key[2], attempt + 1))[0] is not None:
            return  # created already
        pod, known = work.pod(key, pod_name(key[2], attempt)) if attempt else (None, True)
        if not known:
            return
        plan = plan_trial(_resumed(trial), pod, dt.datetime.now(dt.UTC))
        if plan.create_attempt:
            work.resuming.add(key)
            _create_pod(memo, key, search, trial, plan.create_attempt)


def end_resume(memo: kopf.Memo, key: Key, flipped: bool) -> None:
    """The search loop is done resuming the trial: its spec.suspend=false is written (`flipped`) or failed
    to be. Without the flip, a look stops the pod that start_resumed created."""
    work: TrialWork = memo.trial_work
    with work.lock(key):
        work.resuming.discard(key)
    if not flipped:
        work.queue.add(key)


def _resumed(trial: dict) -> dict:
    return {**trial, "spec": {**trial["spec"], "suspend": False}}


def _as_planned(work: TrialWork, key: Key, trial: dict) -> dict:
    """The trial a look plans from: resumed while its flip to spec.suspend=false is on its way (start_resumed)."""
    return _resumed(trial) if key in work.resuming else trial


def reconcile(memo: kopf.Memo, key: Key, fresh: dict | None = None, search: dict | None = None) -> float | None:
    """Look at one trial and act; returns the seconds until it must be looked at again (None: at its next
    event). `fresh`: a body newer than the index's (the search loop's patch response); `search`: the owner
    NASSearch, when the caller has it (otherwise it is read when a pod is to be built)."""
    work: TrialWork = memo.trial_work
    namespace, _, name = key
    core, objects = client.CoreV1Api(memo.api), client.CustomObjectsApi(memo.api)
    with work.lock(key):
        if fresh is not None:
            known = _current(work, key)
            if known is None or not _newer(known, fresh):
                work.written[key] = fresh
        trial = _current(work, key)
        if trial is None:
            return None  # deleted
        trial = _as_planned(work, key, trial)
        status = trial.get("status") or {}  # as the API has it: what the status patch is computed against
        next_pod, _ = work.pod(key, pod_name(name, (status.get("attempt") or 0) + 1))
        trial, adopted = adopt_next_attempt(trial, next_pod)
        attempt = (trial.get("status") or {}).get("attempt") or 0
        pod = None
        if attempt:
            pod, known = work.pod(key, pod_name(name, attempt))
            if not known and _expects_pod(trial):  # gone, or not in the index yet: ask the API
                pod = _read_pod(core, namespace, pod_name(name, attempt))
        now = dt.datetime.now(dt.UTC)
        plan = plan_trial(trial, pod, now)
        if _without_checkpoint(plan):
            # The trainer's checkpoint report may still be on its way through the watch when its pod is
            # already gone: read the trial afresh before calling the suspension unclean.
            try:
                trial = slim(objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", name))
            except client.ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            trial = _as_planned(work, key, trial)
            status = trial.get("status") or {}
            trial, adopted = adopt_next_attempt(trial, next_pod)
            plan = plan_trial(trial, pod, now)

        if plan.delete_pod:
            try:
                json_call(core.delete_namespaced_pod, plan.delete_pod, namespace)  # the pod's own grace period
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
        if plan.create_attempt:
            search = search or _owner_search(objects, trial)
            if search is None:  # retrying cannot help: say so once and wait for the trial to change
                log.error("trial %s/%s has no NASSearch owner: it cannot be run", namespace, name)
                return None
            _create_pod(memo, key, search, trial, plan.create_attempt)
        diff = changed(status, adopted | plan.status)
        if diff:
            work.written[key] = slim(objects.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, "nastrials", name, {"status": diff}))
        lost = (plan.status.get("suspensions") or {}).get("lostWorkSeconds", 0.0) - (
            status.get("suspensions") or {}).get("lostWorkSeconds", 0.0)
        if lost > 0:
            metrics.LOST_WORK.inc(lost * (trial["spec"].get("gpus") or 1))
        if plan.event:
            _post(work, memo, trial, *plan.event)
        work.failures.pop(key, None)
        return plan.requeue_seconds
