import asyncio
import time

import kopf

from cenas_operator import trial_handler
from cenas_operator.trial_handler import (
    CREATED_POD_TRUST_SECONDS,
    Key,
    TrialWork,
    _current,
    on_pod_event,
    pods_by_name,
    trial_key,
    unfinished,
)
from cenas_operator.trials import adopt_next_attempt


def trial(name: str, version: int, attempt: int = 0, conditions=None) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(version)},
            "spec": {}, "status": {"attempt": attempt, "conditions": conditions or []}}


def work_with(indexed: list[dict]) -> TrialWork:
    return TrialWork(trials={("ns", "s"): indexed}, pods={})


KEY: Key = ("ns", "s", "t")


def test_a_body_our_write_returned_wins_until_the_watch_delivers_it():
    work = work_with([trial("t", 10, attempt=1)])
    work.written[KEY] = trial("t", 12, attempt=2)
    assert _current(work, KEY)["status"]["attempt"] == 2  # the index still shows the old attempt
    work.trials[("ns", "s")] = [trial("t", 12, attempt=2)]
    assert _current(work, KEY)["metadata"]["resourceVersion"] == "12"
    assert KEY not in work.written  # caught up: forgotten


def test_a_later_index_body_replaces_an_older_written_one():
    work = work_with([trial("t", 15, attempt=2)])  # e.g. the trainer reported after our write
    work.written[KEY] = trial("t", 12, attempt=2)
    assert _current(work, KEY)["metadata"]["resourceVersion"] == "15"


def test_unknown_trials_are_none_and_keys_need_the_search_label():
    assert _current(work_with([]), KEY) is None
    assert trial_key("ns", {"cenas.dev/search": "s"}, "t") == KEY
    assert trial_key("ns", {}, "t") is None


def test_finished_trials_are_not_unfinished():
    done = trial("t", 1, conditions=[{"type": "Complete", "status": "True"}])
    failed = trial("t", 1, conditions=[{"type": "Failed", "status": "True"}])
    running = trial("t", 1, conditions=[{"type": "Running", "status": "True"}])
    assert not unfinished(done) and not unfinished(failed) and unfinished(running)


def test_the_pod_index_keeps_only_what_the_lifecycle_reads():
    pod = {"metadata": {"name": "p", "managedFields": [{"manager": "kubelet"}], "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "trainer"}]}, "status": {"phase": "Running"}}
    indexed = asyncio.run(pods_by_name(namespace="ns", name="p", body=pod))
    assert indexed == {("ns", "p"): {"metadata": {"name": "p", "deletionTimestamp": None},
                                     "status": {"phase": "Running"}}}


def test_the_pod_of_the_next_attempt_is_adopted_with_the_status_still_to_write():
    # A look created t-a3 and stopped before writing attempt 3: the next look takes that pod as current.
    stale = trial("t", 7, attempt=2)
    pod = {"metadata": {"name": "t-a3", "deletionTimestamp": None}, "status": {"phase": "Running"}}
    adopted_trial, to_write = adopt_next_attempt(stale, pod)
    assert to_write == {"attempt": 3, "podName": "t-a3"}
    assert adopted_trial["status"]["attempt"] == 3 and stale["status"]["attempt"] == 2
    assert adopt_next_attempt(stale, None) == (stale, {})
    # A trial re-read after its write landed (attempt 3 already) does not take its own pod as a fourth.
    assert adopt_next_attempt(trial("t", 9, attempt=3), pod) == (trial("t", 9, attempt=3), {})


def test_a_pod_our_create_returned_is_known_until_the_index_shows_it(monkeypatch):
    work = work_with([])
    assert work.pod(KEY, "t-a1") == (None, False)  # nothing known: the API must be asked
    work.note_pod(KEY, "t-a1", {"metadata": {"name": "t-a1"}, "status": {"phase": "Pending"}})
    assert work.pod(KEY, "t-a1") == ({"metadata": {"name": "t-a1"}, "status": {"phase": "Pending"}}, True)
    assert work.pod(KEY, "t-a2") == (None, False)  # another attempt's pod
    work.pods[("ns", "t-a1")] = [{"metadata": {"name": "t-a1"}, "status": {"phase": "Running"}}]
    assert work.pod(KEY, "t-a1")[0]["status"]["phase"] == "Running"  # the index wins
    del work.pods[("ns", "t-a1")]
    later = time.monotonic() + CREATED_POD_TRUST_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert work.pod(KEY, "t-a1") == (None, False)  # never shown by the index: read it again


def test_a_pod_seen_deleted_stays_gone():
    work = work_with([])
    work.note_pod(KEY, "t-a1", None)
    work.note_pod(KEY, "t-a1", {"metadata": {"name": "t-a1"}})  # a create answered after the deletion
    assert work.pod(KEY, "t-a1") == (None, True)
    work.note_pod(KEY, "t-a2", {"metadata": {"name": "t-a2"}})  # the next attempt's pod
    assert work.pod(KEY, "t-a2") == ({"metadata": {"name": "t-a2"}}, True)
    work.forget(KEY)
    assert work.pod(KEY, "t-a2") == (None, False)


def test_a_pod_deletion_on_the_watch_is_noted_and_queues_the_trial():
    work = work_with([])
    memo = kopf.Memo(trial_work=work)
    labels = {"cenas.dev/search": "s", "cenas.dev/trial": "t"}
    asyncio.run(on_pod_event({"type": "DELETED"}, "ns", "t-a1", labels, memo, work.trials, work.pods))
    assert work.pod(KEY, "t-a1") == (None, True)
    assert len(work.queue) == 1


SUSPENDED = [{"type": "Running", "status": "False", "reason": "Suspended", "lastTransitionTime": "2026-12-01T00:00:00Z"},
             {"type": "Suspended", "status": "True", "reason": "Suspended", "lastTransitionTime": "2026-12-01T00:00:00Z"}]


def resuming(work: TrialWork, monkeypatch) -> list[int]:
    """The attempts start_resumed creates pods for (the API write itself is the integration tests' part)."""
    created = []
    monkeypatch.setattr(trial_handler, "_create_pod", lambda memo, key, search, trial, attempt: created.append(attempt))
    trial_handler.start_resumed(kopf.Memo(trial_work=work), KEY, search={})
    return created


def suspended_trial() -> dict:
    body = trial("t", 20, attempt=1, conditions=SUSPENDED)
    body["spec"]["suspend"] = True
    return body


def test_a_suspended_trial_about_to_resume_gets_its_next_pod_first(monkeypatch):
    work = work_with([suspended_trial()])
    work.note_pod(KEY, "t-a1", None)  # its last pod is gone
    assert resuming(work, monkeypatch) == [2]


def test_a_resumption_leaves_the_pod_to_the_look_after_the_flip_when_unsure(monkeypatch):
    work = work_with([suspended_trial()])
    assert resuming(work, monkeypatch) == []  # the last pod: not known without a read
    work.pods[("ns", "t-a1")] = [{"metadata": {"name": "t-a1", "deletionTimestamp": "2026-12-01T00:00:01Z"},
                                  "status": {"phase": "Running"}}]
    assert resuming(work, monkeypatch) == []  # still shutting down
    work.pods.clear()
    work.note_pod(KEY, "t-a1", None)
    work.note_pod(KEY, "t-a2", {"metadata": {"name": "t-a2"}, "status": {"phase": "Pending"}})
    assert resuming(work, monkeypatch) == []  # created already
    assert resuming(work_with([]), monkeypatch) == []  # no such trial


def test_a_trial_being_resumed_is_looked_at_as_resumed_until_the_flip_is_written(monkeypatch):
    work = work_with([suspended_trial()])
    work.note_pod(KEY, "t-a1", None)
    assert resuming(work, monkeypatch) == [2]
    assert KEY in work.resuming  # a look now must not stop the new pod of a trial the API shows suspended
    memo = kopf.Memo(trial_work=work)
    trial_handler.end_resume(memo, KEY, flipped=True)
    assert KEY not in work.resuming and len(work.queue) == 0


def test_a_resumption_whose_flip_failed_queues_a_look_that_stops_its_pod(monkeypatch):
    work = work_with([suspended_trial()])
    work.note_pod(KEY, "t-a1", None)
    resuming(work, monkeypatch)
    trial_handler.end_resume(kopf.Memo(trial_work=work), KEY, flipped=False)
    assert KEY not in work.resuming and len(work.queue) == 1
