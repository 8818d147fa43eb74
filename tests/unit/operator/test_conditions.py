import datetime as dt

from cenas_operator.conditions import find, is_true, remove_condition, set_condition

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)


def test_set_adds_a_condition_with_transition_time_and_generation():
    conds = set_condition(None, "Ready", True, "Running", "2 trials running", generation=3, now=T0)
    assert conds == [{
        "type": "Ready", "status": "True", "reason": "Running", "message": "2 trials running",
        "lastTransitionTime": "2026-11-01T12:00:00Z", "observedGeneration": 3,
    }]
    assert is_true(conds, "Ready")


def test_same_status_keeps_transition_time_but_updates_reason_and_message():
    conds = set_condition(None, "Suspended", True, "CarbonWait", "intensity 420 g/kWh", generation=1, now=T0)
    conds = set_condition(conds, "Suspended", True, "UserSuspended", "spec.suspend is true", generation=2, now=T1)
    [cond] = conds
    assert cond["lastTransitionTime"] == "2026-11-01T12:00:00Z"
    assert (cond["reason"], cond["observedGeneration"]) == ("UserSuspended", 2)


def test_a_flip_moves_transition_time_and_keeps_list_order():
    conds = set_condition(None, "Ready", True, "Running", "", generation=1, now=T0)
    conds = set_condition(conds, "Progressing", True, "Training", "", generation=1, now=T0)
    conds = set_condition(conds, "Ready", False, "BudgetExhausted", "", generation=1, now=T1)
    assert [c["type"] for c in conds] == ["Ready", "Progressing"]
    assert find(conds, "Ready")["lastTransitionTime"] == "2026-11-01T12:05:00Z"
    assert not is_true(conds, "Ready")


def test_input_is_not_mutated_and_remove_drops_only_that_type():
    original = set_condition(None, "Ready", True, "Running", "", generation=1, now=T0)
    snapshot = [dict(c) for c in original]
    set_condition(original, "Ready", False, "Stopped", "", generation=2, now=T1)
    assert original == snapshot
    both = set_condition(original, "Complete", True, "Done", "", generation=2, now=T1)
    assert [c["type"] for c in remove_condition(both, "Ready")] == ["Complete"]


def test_a_precise_transition_time_has_microseconds_and_is_kept_while_the_status_holds():
    at = T0 + dt.timedelta(seconds=1, microseconds=250)
    conds = set_condition(None, "Suspended", True, "Suspending", "", generation=1, now=at, precise=True)
    assert find(conds, "Suspended")["lastTransitionTime"] == "2026-11-01T12:00:01.000250Z"
    conds = set_condition(conds, "Suspended", True, "Suspended", "", generation=1, now=T1)
    assert find(conds, "Suspended")["lastTransitionTime"] == "2026-11-01T12:00:01.000250Z"
