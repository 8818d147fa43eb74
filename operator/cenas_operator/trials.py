"""Pure lifecycle of one NASTrial: (trial, its current pod, now) -> what to do and the status to write.

One pod per attempt (`builders.pod_name`). Each attempt ends in exactly one way: success (Complete),
suspension (spec.suspend: the pod is deleted with its grace period and the trainer checkpoints on
SIGTERM), or failure (the pod failed or vanished without being asked to stop). Failures are retried
from the newest checkpoint with exponential backoff up to a limit; exit code 2 is a spec a human must
fix and is never retried. A suspension is clean only when the trainer reported a checkpoint taken
after the suspension was requested (both times with microseconds: whole seconds cannot order a
checkpoint and a request within the same second), or one of the last step (training had finished);
otherwise the work since the last checkpoint is lost and counted. An attempt that succeeds while its
suspension is under way completes the trial and ends the suspension."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cenas_operator.api import TrialConditionType as C
from cenas_operator.builders import pod_name
from cenas_operator.conditions import find, is_true, rfc3339, set_condition
from cenas_operator.forecast_client import parse_time

EXIT_CONFIG = 2  # the trainer's "a human must fix this" exit code
UNCLEAN = "SuspendedWithoutCheckpoint"  # the Suspended reason when no checkpoint followed the request


@dataclass(frozen=True)
class RetryPolicy:
    max_failures: int = 3
    backoff_seconds: float = 10.0  # doubles with every failure


@dataclass(frozen=True)
class TrialPlan:
    create_attempt: int | None = None  # start the pod of this attempt
    delete_pod: str | None = None  # delete this pod with its grace period
    status: dict = field(default_factory=dict)  # merge patch of the operator's status fields
    requeue_seconds: float | None = None  # look again after this long (backoff, waiting for a pod)
    event: tuple[str, str] | None = None  # (reason, message) for a Kubernetes event


def _pod_state(pod: dict | None) -> tuple[str, int | None, str]:
    """(phase, exit code, termination message) of the trainer container; phase 'Gone' without a pod."""
    if pod is None:
        return "Gone", None, ""
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated")
        if terminated:
            return status.get("phase", "Unknown"), terminated.get("exitCode"), terminated.get("message", "")
    return status.get("phase", "Pending"), None, status.get("message", "")


def _failures(status: dict) -> int:
    """Attempts that ended neither in success nor in a suspension."""
    suspensions = status.get("suspensions") or {}
    ended = max(0, (status.get("attempt") or 0) - 1)
    return max(0, ended - suspensions.get("clean", 0) - suspensions.get("unclean", 0))


def plan_trial(trial: dict, pod: dict | None, now: dt.datetime, retry: RetryPolicy = RetryPolicy()) -> TrialPlan:
    meta, spec, status = trial["metadata"], trial["spec"], trial.get("status") or {}
    conds = status.get("conditions") or []
    generation = meta.get("generation")
    attempt = status.get("attempt") or 0
    phase, exit_code, message = _pod_state(pod)
    deleting = pod is not None and bool(pod["metadata"].get("deletionTimestamp"))
    live = pod is not None and not deleting and phase in ("Pending", "Running")

    def cond(conditions, kind, value, reason, text="", precise=False):
        return set_condition(conditions, kind, value, reason, text, generation=generation, now=now, precise=precise)

    if is_true(conds, C.COMPLETE) or is_true(conds, C.FAILED):
        return TrialPlan(delete_pod=pod["metadata"]["name"] if live else None)

    if phase == "Succeeded":
        conds = cond(cond(conds, C.RUNNING, False, "Finished"), C.COMPLETE, True, "Finished",
                     f"attempt {attempt} finished")
        if is_true(conds, C.SUSPENDED):  # asked to stop while finishing: it finished first
            conds = cond(conds, C.SUSPENDED, False, "Finished", "the trial finished before it could be suspended")
        return TrialPlan(status={"conditions": conds, "completionTime": rfc3339(now)},
                         event=("TrialComplete", f"{meta['name']} finished after {attempt} attempt(s)"))

    if phase == "Failed" and exit_code == EXIT_CONFIG:
        conds = cond(cond(conds, C.RUNNING, False, "InvalidTrial"), C.FAILED, True, "InvalidTrial", message)
        return TrialPlan(status={"conditions": conds, "completionTime": rfc3339(now)},
                         event=("TrialFailed", f"{meta['name']}: {message[:200]}"))

    if spec.get("suspend"):
        return _suspend(trial, pod, live, deleting, now, cond)

    if live:
        running = find(conds, C.RUNNING)
        # A pod that is still pending after its creation keeps "PodCreated": one status write fewer per start.
        created = running is not None and running["status"] == "True" and running["reason"] == "PodCreated"
        reason = "PodRunning" if phase == "Running" else "PodCreated" if created else "PodPending"
        patch = {"conditions": cond(conds, C.RUNNING, True, reason, f"pod {pod['metadata']['name']}")}
        if is_true(conds, C.SUSPENDED):
            patch["conditions"] = cond(patch["conditions"], C.SUSPENDED, False, "Resumed")
        return TrialPlan(status=patch)
    if deleting:
        return TrialPlan(requeue_seconds=1.0)  # the old attempt is still shutting down

    # No live pod and not suspended: first start, resumption, or a failed/vanished attempt to retry.
    failed_now = attempt > 0 and is_true(conds, C.RUNNING)
    running = find(conds, C.RUNNING)
    waiting_to_retry = running is not None and running["status"] == "False" and running["reason"] == "PodFailed"
    # The attempt that just ended counts as soon as it is seen to fail, before the next one starts.
    failures = _failures(status) + (1 if failed_now or waiting_to_retry else 0)
    if failed_now:
        reason = f"exit code {exit_code}" if exit_code is not None else "the pod disappeared"
        conds = cond(conds, C.RUNNING, False, "PodFailed", f"attempt {attempt}: {reason}")
        if failures > retry.max_failures:
            conds = cond(conds, C.FAILED, True, "RetriesExhausted", f"{failures} failed attempts, last: {reason}")
            return TrialPlan(status={"conditions": conds, "completionTime": rfc3339(now)},
                             event=("TrialFailed", f"{meta['name']}: retries exhausted ({reason})"))
        return TrialPlan(status={"conditions": conds}, requeue_seconds=_backoff(retry, failures),
                         event=("TrialRetrying", f"{meta['name']} attempt {attempt}: {reason}"))
    if waiting_to_retry:
        wait = _backoff(retry, failures) - (now - parse_time(running["lastTransitionTime"])).total_seconds()
        if wait > 0:
            return TrialPlan(requeue_seconds=wait)

    patch = {"attempt": attempt + 1, "podName": pod_name(meta["name"], attempt + 1),
             "conditions": cond(conds, C.RUNNING, True, "PodCreated", f"pod {pod_name(meta['name'], attempt + 1)}")}
    if is_true(conds, C.SUSPENDED):
        patch["conditions"] = cond(patch["conditions"], C.SUSPENDED, False, "Resumed")
    if not status.get("startTime"):
        patch["startTime"] = rfc3339(now)
    return TrialPlan(create_attempt=attempt + 1, status=patch)


def adopt_next_attempt(trial: dict, next_pod: dict | None) -> tuple[dict, dict]:
    """A pod of the attempt after the trial's own exists: a look created it and stopped before its status
    write landed (a restart in between). The trial takes it as its current attempt: (the trial as if the write
    had landed, the status fields still to write). Without that pod: (the trial, {})."""
    status = trial.get("status") or {}
    attempt = (status.get("attempt") or 0) + 1
    if next_pod is None or next_pod["metadata"]["name"] != pod_name(trial["metadata"]["name"], attempt):
        return trial, {}
    adopted = {"attempt": attempt, "podName": next_pod["metadata"]["name"]}
    return {**trial, "status": {**status, **adopted}}, adopted


def _backoff(retry: RetryPolicy, failures: int) -> float:
    return retry.backoff_seconds * 2 ** (failures - 1)


def _suspend(trial: dict, pod: dict | None, live: bool, deleting: bool, now: dt.datetime, cond) -> TrialPlan:
    status = trial.get("status") or {}
    conds = status.get("conditions") or []
    suspended = find(conds, C.SUSPENDED)
    if live:
        # The request time is the Suspended condition's transition time (kept while it stays True).
        conds = cond(conds, C.SUSPENDED, True, "Suspending", "checkpoint requested (SIGTERM)", precise=True)
        return TrialPlan(delete_pod=pod["metadata"]["name"], status={"conditions": conds}, requeue_seconds=1.0,
                         event=("TrialSuspending", f"deleting pod {pod['metadata']['name']} after a checkpoint"))
    if deleting:
        return TrialPlan(requeue_seconds=1.0)
    if suspended is not None and suspended["status"] == "True" and suspended["reason"] != "Suspending":
        return TrialPlan()  # already suspended and counted
    if suspended is None or suspended["status"] != "True":
        # Suspended before any pod ran (or between attempts): nothing to checkpoint, nothing lost.
        conds = cond(cond(conds, C.RUNNING, False, "Suspended"), C.SUSPENDED, True, "Suspended", "no pod was running")
        return TrialPlan(status={"conditions": conds})
    requested = parse_time(suspended["lastTransitionTime"])
    checkpoint = status.get("lastCheckpoint") or {}
    checkpoint_time = parse_time(checkpoint["time"]) if checkpoint.get("time") else None
    total = (status.get("progress") or {}).get("totalSteps") or 0
    finished = checkpoint_time is not None and total > 0 and (checkpoint.get("step") or 0) >= total
    counts = dict(status.get("suspensions") or {})
    if checkpoint_time is not None and (checkpoint_time >= requested or finished):
        counts["clean"] = counts.get("clean", 0) + 1
        reason, text = "Suspended", f"checkpoint at step {checkpoint.get('step')}"
        if finished and checkpoint_time < requested:
            text += " (training had finished)"
    else:
        start = checkpoint_time or (parse_time(status["startTime"]) if status.get("startTime") else requested)
        counts["unclean"] = counts.get("unclean", 0) + 1
        counts["lostWorkSeconds"] = counts.get("lostWorkSeconds", 0) + max(0.0, (requested - start).total_seconds())
        reason, text = UNCLEAN, "no checkpoint was reported after SIGTERM"
    conds = cond(cond(conds, C.RUNNING, False, "Suspended"), C.SUSPENDED, True, reason, text)
    return TrialPlan(status={"conditions": conds, "suspensions": counts},
                     event=("TrialSuspended", f"{trial['metadata']['name']}: {text}"))
