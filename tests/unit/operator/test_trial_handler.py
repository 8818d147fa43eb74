import asyncio

from cenas_operator.trial_handler import (
    Key,
    TrialWork,
    _current,
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
