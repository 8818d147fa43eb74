import datetime as dt

from cenas_operator.bodies import plain, pod_summary, slim
from cenas_operator.trials import plan_trial

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TRIAL = {"metadata": {"name": "t", "generation": 1}, "spec": {"role": "FullTraining"},
         "status": {"attempt": 1, "podName": "t-a1", "startTime": "2026-01-01T00:00:00Z",
                    "conditions": [{"type": "Running", "status": "True", "reason": "PodRunning",
                                    "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


def pod(phase, **status):
    return {"metadata": {"name": "t-a1", "managedFields": [{"manager": "x"}], "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "trainer", "image": "i"}]},
            "status": {"phase": phase, **status}}


def test_a_pod_summary_plans_exactly_like_the_pod():
    failed = pod("Failed", containerStatuses=[{"name": "trainer", "state": {
        "terminated": {"exitCode": 2, "message": "bad --arch"}}}])
    deleting = pod("Running")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:01Z"
    for body in (pod("Pending"), pod("Running"), pod("Succeeded"), failed, deleting, pod("Failed", message="evicted")):
        assert plan_trial(TRIAL, pod_summary(body), NOW) == plan_trial(TRIAL, body, NOW)
    assert "managedFields" not in pod_summary(failed)["metadata"] and "spec" not in pod_summary(failed)


def test_slim_drops_managed_fields_and_annotations_only():
    body = {"metadata": {"name": "t", "labels": {"a": "b"}, "managedFields": [{}], "annotations": {"k": "v"}},
            "spec": {"x": [1, {"y": 2}]}}
    assert slim(body) == {"metadata": {"name": "t", "labels": {"a": "b"}}, "spec": {"x": [1, {"y": 2}]}}
    assert body["metadata"]["managedFields"] == [{}]  # the original is untouched
    assert plain(body) == body and plain(body) is not body
