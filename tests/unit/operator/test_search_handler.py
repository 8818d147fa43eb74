from cenas_operator.search_handler import _differs, trials_by_search


def test_status_fields_are_written_only_when_they_change():
    assert not _differs({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert _differs({"a": 1}, {"a": 2})
    assert not _differs({"a": 1}, {"a": 1, "gone": None})  # clearing an absent key is no change
    assert _differs({"a": 1, "old": 3}, {"a": 1})  # a key to drop
    assert _differs(None, {"a": 1}) and not _differs(None, {"a": None})
    assert _differs([{"type": "Ready"}], [{"type": "Ready", "status": "True"}])


def test_the_trial_index_keys_trials_by_their_search():
    body = {"metadata": {"name": "t", "labels": {"cenas.dev/search": "s"}}, "spec": {"role": "FullTraining"}}
    assert trials_by_search(namespace="ns", labels=body["metadata"]["labels"], body=body) == {("ns", "s"): body}
    assert trials_by_search(namespace="ns", labels={}, body=body) == {}
