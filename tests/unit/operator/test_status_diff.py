from cenas_operator.status_diff import changed, differs


def test_fields_are_written_only_when_they_change():
    assert not differs({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert differs({"a": 1}, {"a": 2})
    assert not differs({"a": 1}, {"a": 1, "gone": None})  # clearing an absent key is no change
    assert differs({"a": 1, "old": 3}, {"a": 1})  # a key to drop
    assert differs(None, {"a": 1}) and not differs(None, {"a": None})
    assert differs([{"type": "Ready"}], [{"type": "Ready", "status": "True"}])


def test_changed_keeps_only_the_differing_fields():
    status = {"attempt": 1, "conditions": [{"type": "Running", "status": "True"}]}
    assert changed(status, {"attempt": 1, "conditions": [{"type": "Running", "status": "True"}]}) == {}
    assert changed(status, {"attempt": 2, "podName": "p"}) == {"attempt": 2, "podName": "p"}
    assert changed(None, {"attempt": 1}) == {"attempt": 1}
