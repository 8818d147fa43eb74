import datetime as dt

from cenas_operator.conditions import find
from cenas_operator.status_diff import changed
from cenas_operator.trials import RetryPolicy, plan_trial

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
RETRY = RetryPolicy(max_failures=2, backoff_seconds=10)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def trial(suspend: bool = False) -> dict:
    return {"metadata": {"name": "s-full-00001", "generation": 1}, "spec": {"suspend": suspend}, "status": {}}


def pod(phase: str, attempt: int = 1, exit_code: int | None = None, message: str = "", deleting: bool = False) -> dict:
    obj = {"metadata": {"name": f"s-full-00001-a{attempt}"}, "status": {"phase": phase}}
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-11-01T12:00:00Z"
    if exit_code is not None:
        obj["status"]["containerStatuses"] = [{"state": {"terminated": {"exitCode": exit_code, "message": message}}}]
    return obj


def apply(obj: dict, plan) -> dict:
    obj["status"] = {**obj["status"], **plan.status}
    return obj


def condition(obj: dict, kind: str) -> tuple[str, str]:
    found = find(obj["status"]["conditions"], kind)
    return found["status"], found["reason"]


def test_a_new_trial_starts_attempt_one():
    plan = plan_trial(trial(), None, T0, RETRY)
    assert plan.create_attempt == 1
    assert plan.status["podName"] == "s-full-00001-a1"
    assert plan.status["startTime"] == "2026-11-01T12:00:00Z"


def test_running_pod_is_observed_and_success_completes():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    plan = plan_trial(t, pod("Running"), at(5), RETRY)
    assert (plan.create_attempt, plan.delete_pod) == (None, None)
    assert condition(apply(t, plan), "Running") == ("True", "PodRunning")
    done = apply(t, plan_trial(t, pod("Succeeded", exit_code=0), at(60), RETRY))
    assert condition(done, "Complete") == ("True", "Finished")
    assert plan_trial(done, None, at(61), RETRY).create_attempt is None  # never restarted


def test_a_pod_still_pending_after_its_creation_needs_no_status_write():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    pending = plan_trial(t, pod("Pending"), at(1), RETRY)
    assert changed(t["status"], pending.status) == {}
    assert condition(apply(t, pending), "Running") == ("True", "PodCreated")


def test_exit_code_two_fails_at_once_without_retry():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    failed = apply(t, plan_trial(t, pod("Failed", exit_code=2, message="--arch: bad cell"), at(1), RETRY))
    assert condition(failed, "Failed") == ("True", "InvalidTrial")
    assert find(failed["status"]["conditions"], "Failed")["message"] == "--arch: bad cell"


def test_a_vanished_pod_is_retried_after_backoff_then_gives_up():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    plan = plan_trial(t, None, at(30), RETRY)  # pod gone while Running: evicted
    assert plan.create_attempt is None and plan.requeue_seconds == 10
    t = apply(t, plan)
    assert condition(t, "Running") == ("False", "PodFailed")
    assert plan_trial(t, None, at(35), RETRY).requeue_seconds == 5
    retry = plan_trial(t, None, at(41), RETRY)
    assert retry.create_attempt == 2
    t = apply(t, retry)
    second = apply(t, plan_trial(t, pod("Failed", attempt=2, exit_code=137), at(50), RETRY))
    assert plan_trial(second, None, at(65), RETRY).requeue_seconds == 20 - 15  # backoff doubled
    t = apply(second, plan_trial(second, None, at(71), RETRY))
    exhausted = apply(t, plan_trial(t, None, at(80), RETRY))
    assert condition(exhausted, "Failed") == ("True", "RetriesExhausted")


def test_clean_suspension_then_resume_from_a_new_pod():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    t["spec"]["suspend"] = True
    plan = plan_trial(t, pod("Running"), at(100), RETRY)
    assert plan.delete_pod == "s-full-00001-a1"
    t = apply(t, plan)
    assert condition(t, "Suspended") == ("True", "Suspending")
    assert plan_trial(t, pod("Running", deleting=True), at(101), RETRY).requeue_seconds == 1.0
    t["status"]["lastCheckpoint"] = {"step": 40, "time": "2026-11-01T12:01:42Z", "path": "s/step-40"}
    t = apply(t, plan_trial(t, None, at(103), RETRY))
    assert condition(t, "Suspended") == ("True", "Suspended")
    assert t["status"]["suspensions"] == {"clean": 1}
    assert plan_trial(t, None, at(200), RETRY).status == {}  # counted once
    t["spec"]["suspend"] = False
    resume = plan_trial(t, None, at(300), RETRY)
    assert resume.create_attempt == 2
    t = apply(t, resume)
    assert condition(t, "Suspended") == ("False", "Resumed")
    # the suspension is not a failure: a later eviction is the first failure
    assert plan_trial(t, None, at(400), RETRY).requeue_seconds == 10


def test_suspension_without_a_checkpoint_counts_lost_work():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    t["status"]["lastCheckpoint"] = {"step": 10, "time": "2026-11-01T12:00:20Z", "path": "s/step-10"}
    t["spec"]["suspend"] = True
    t = apply(t, plan_trial(t, pod("Running"), at(100), RETRY))
    t = apply(t, plan_trial(t, None, at(130), RETRY))
    assert condition(t, "Suspended") == ("True", "SuspendedWithoutCheckpoint")
    assert t["status"]["suspensions"] == {"unclean": 1, "lostWorkSeconds": 80.0}


def test_a_finished_trial_has_no_live_pod():
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    t = apply(t, plan_trial(t, pod("Succeeded", exit_code=0), at(60), RETRY))
    assert plan_trial(t, pod("Running", attempt=2), at(61), RETRY).delete_pod == "s-full-00001-a2"


def suspending(at_seconds: float) -> dict:
    """A running trial whose suspension was requested at T0 + at_seconds (the pod is then gone)."""
    t = apply(trial(), plan_trial(trial(), None, T0, RETRY))
    t["spec"]["suspend"] = True
    return apply(t, plan_trial(t, pod("Running"), at(at_seconds), RETRY))


def test_the_request_time_has_microseconds_so_a_checkpoint_just_before_it_is_not_clean():
    t = suspending(100.7)
    assert find(t["status"]["conditions"], "Suspended")["lastTransitionTime"] == "2026-11-01T12:01:40.700000Z"
    t["status"]["progress"] = {"step": 40, "totalSteps": 1000}
    before = {**t, "status": {**t["status"], "lastCheckpoint": {"step": 40, "time": "2026-11-01T12:01:40.400000Z",
                                                                  "path": "s/step-40"}}}
    after = {**t, "status": {**t["status"], "lastCheckpoint": {"step": 41, "time": "2026-11-01T12:01:40.900000Z",
                                                                 "path": "s/step-41"}}}
    # Same second: at whole seconds both read 12:01:40 and both would pass as taken after the request.
    assert condition(apply(before, plan_trial(before, None, at(102), RETRY)), "Suspended") == (
        "True", "SuspendedWithoutCheckpoint")
    assert condition(apply(after, plan_trial(after, None, at(102), RETRY)), "Suspended") == ("True", "Suspended")


def test_a_checkpoint_of_the_last_step_makes_a_late_suspension_clean():
    """Training had finished (the final checkpoint) when the stop came: nothing is lost; a resumed
    attempt only evaluates."""
    t = suspending(100)
    t["status"]["progress"] = {"step": 190, "totalSteps": 190}
    t["status"]["lastCheckpoint"] = {"step": 190, "time": "2026-11-01T12:01:39.500000Z", "path": "s/step-190"}
    t = apply(t, plan_trial(t, None, at(102), RETRY))
    assert condition(t, "Suspended") == ("True", "Suspended")
    assert t["status"]["suspensions"] == {"clean": 1}


def test_an_attempt_that_succeeds_while_being_suspended_completes_the_trial():
    t = suspending(100)
    t = apply(t, plan_trial(t, pod("Succeeded", exit_code=0, deleting=True), at(101), RETRY))
    assert condition(t, "Complete") == ("True", "Finished")
    assert condition(t, "Suspended") == ("False", "Finished")  # not left at Suspending
    assert "suspensions" not in t["status"]
