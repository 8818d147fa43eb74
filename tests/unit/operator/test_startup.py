import logging

import kopf

from cenas_operator.startup import LeanDiffBase, keep_log_record

KOPF = "kopf.zalando.org"


def body(kind: str) -> kopf.Body:
    return kopf.Body({
        "apiVersion": "v1", "kind": kind,
        "metadata": {
            "name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "7", "generation": 2,
            "labels": {"cenas.dev/trial": "t"},
            "annotations": {"team": "a", f"{KOPF}/last-handled-configuration": '{"spec": {}}',
                            f"{KOPF}/search-loop": '{"started": "x"}', "other.io/note": "b"},
            "ownerReferences": [{"kind": "Deployment" if kind == "ReplicaSet" else "NASTrial", "uid": "o"}],
            "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}],
            "finalizers": [f"{KOPF}/KopfFinalizerMarker"],
        },
        "spec": {"containers": [{"name": "trainer", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })


def test_the_lean_diff_base_is_kopfs_essence():
    for kind in ("NASSearch", "ReplicaSet"):
        assert LeanDiffBase().build(body=body(kind)) == kopf.AnnotationsDiffBaseStorage().build(body=body(kind))


def test_watch_only_kinds_have_no_handler_that_compares_a_diff_base(monkeypatch):
    monkeypatch.setenv("CENAS_FORECASTER_URL", "http://forecaster")
    import cenas_operator.main  # noqa: F401  (registers the handlers)

    changing = {h.selector.any_name for h in kopf.get_default_registry()._changing.get_all_handlers()}
    assert changing == {"nassearches"}  # pods and nastrials (WATCH_ONLY_KINDS) are not among them
    assert LeanDiffBase().build(body=body("Pod")) == {} and LeanDiffBase().build(body=body("NASTrial")) == {}


def test_the_lean_diff_base_leaves_field_handlers_to_kopf():
    fields = [("status", "phase")]
    lean = LeanDiffBase().build(body=body("Pod"), extra_fields=fields)
    assert lean == kopf.AnnotationsDiffBaseStorage().build(body=body("Pod"), extra_fields=fields)
    assert lean["status"] == {"phase": "Running"}


def record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_routine_successes_are_dropped_and_everything_else_kept():
    assert not keep_log_record(record(logging.INFO, "Handler 'pod-events' succeeded."))
    assert not keep_log_record(record(logging.INFO, "Timer 'search-loop' succeeded."))
    assert keep_log_record(record(logging.INFO, "Handler 'search-cleanup' succeeded."))
    assert keep_log_record(record(logging.ERROR, "Handler 'pod-events' failed with an exception. Will retry."))
    assert keep_log_record(record(logging.INFO, "pod trial-1 exists already"))
