"""The NASTrial lifecycle on the API: find the trial's current pod, plan (trials.plan_trial), act.

Runs as a timer per trial, so it is level-based: every tick compares the desired state with what the
API shows and acts only on differences; creating a pod that already exists (409) is a no-op, which
makes a restarted operator continue without duplicates."""

from __future__ import annotations

import datetime as dt

import kopf
from kubernetes import client

from cenas_operator import metrics
from cenas_operator.api import GROUP, VERSION, TrialConditionType
from cenas_operator.bodies import plain, pod_summary
from cenas_operator.builders import build_pod, pod_name
from cenas_operator.conditions import find, is_true
from cenas_operator.status_diff import changed
from cenas_operator.trials import plan_trial


def _read_pod(core: client.CoreV1Api, namespace: str, name: str) -> dict | None:
    try:
        return core.api_client.sanitize_for_serialization(core.read_namespaced_pod(name, namespace))
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _owner_search(objects: client.CustomObjectsApi, trial: dict) -> dict:
    owner = next((o for o in trial["metadata"].get("ownerReferences") or [] if o["kind"] == "NASSearch"), None)
    if owner is None:
        raise kopf.PermanentError("the NASTrial has no NASSearch owner: it cannot be run")
    return objects.get_namespaced_custom_object(GROUP, VERSION, trial["metadata"]["namespace"], "nassearches",
                                                owner["name"])


def pods_by_name(namespace, name, body, **_) -> dict:
    """kopf index of the trainer pods (label cenas.dev/trial), kept current by the watch: a tick reads no pod
    from the API unless the index lacks one it expects."""
    return {(namespace, name): pod_summary(body)}


def unfinished(status, **_) -> bool:
    """kopf filter: the trial is neither Complete nor Failed."""
    conds = (status or {}).get("conditions")
    return not (is_true(conds, TrialConditionType.COMPLETE) or is_true(conds, TrialConditionType.FAILED))


def _expects_pod(trial: dict) -> bool:
    return is_true((trial.get("status") or {}).get("conditions"), TrialConditionType.RUNNING)


def _in_handshake(trial: dict) -> bool:
    found = find((trial.get("status") or {}).get("conditions"), TrialConditionType.SUSPENDED)
    return bool(trial["spec"].get("suspend")) and found is not None and found.get("reason") == "Suspending"


def reconcile_trial(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger, pods_by_name, **_) -> None:
    namespace, name = body.metadata["namespace"], body.metadata["name"]
    core, objects = client.CoreV1Api(memo.api), client.CustomObjectsApi(memo.api)
    trial = plain(body)
    trial.setdefault("status", {})
    # Read afresh when the watched body may be behind what matters: an attempt this operator started is
    # not visible yet, or a suspension waits for the trainer's checkpoint report, which may still be on
    # its way through the watch when the pod is already gone.
    if (trial["status"].get("attempt") or 0) < memo.trial_attempts.get((namespace, name), 0) or _in_handshake(trial):
        try:
            trial = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", name)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        trial.setdefault("status", {})
    attempt = trial["status"].get("attempt") or 0
    pod = None
    if attempt:
        pod_key = (namespace, pod_name(name, attempt))
        pod = next(iter(pods_by_name.get(pod_key, [])), None)
        if pod is None and _expects_pod(trial):  # gone, or not in the index yet: ask the API
            pod = _read_pod(core, namespace, pod_key[1])
    plan = plan_trial(trial, pod, dt.datetime.now(dt.UTC))

    if plan.delete_pod:
        try:
            core.delete_namespaced_pod(plan.delete_pod, namespace)  # the pod's own grace period
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    if plan.create_attempt:
        memo.trial_attempts[(namespace, name)] = plan.create_attempt
        search = _owner_search(objects, trial)
        manifest = build_pod(search, trial, plan.create_attempt, memo.settings)
        try:
            core.create_namespaced_pod(namespace, manifest)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
            logger.info("pod %s exists already", manifest["metadata"]["name"])
    for key, value in changed(body.get("status"), plan.status).items():
        patch.status[key] = value
    lost = (plan.status.get("suspensions") or {}).get("lostWorkSeconds", 0.0) - (
        trial["status"].get("suspensions") or {}).get("lostWorkSeconds", 0.0)
    if lost > 0:
        metrics.LOST_WORK.inc(lost * (trial["spec"].get("gpus") or 1))
    if plan.event:
        kopf.info(body, reason=plan.event[0], message=plan.event[1])
