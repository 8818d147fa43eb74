import json

import pytest

from cenas_operator.ledger import Ledger
from cenas_operator.search_state import SUPERNET_DONE, SearchState, SearchStateError, state_configmap_name


def test_state_round_trips_through_json():
    state = SearchState(engine={"version": 1}, supernet=SUPERNET_DONE, start=12.5, intensities=[200.0, 180.5],
                        ledger=Ledger(3.0, 4.0, {"a": 4.0}, {"a": 3.0}), counterfactual_charged=7.0,
                        worst_intensity=400.0)
    state.register("s-full-00000", "FullTraining", [42])
    state.register("s-full-00001", "FullTraining", [43])
    back = SearchState.from_json(state.to_json())
    assert back == state
    assert back.trials["s-full-00001"].index == 1 and back.next_index == {"FullTraining": 2}


def test_registering_numbers_trials_per_role():
    state = SearchState()
    assert state.register("x", "SupernetTraining", []).index == 0
    assert state.register("y", "CandidateScoring", [1, 2]).index == 0
    assert state.register("z", "CandidateScoring", [3]).index == 1


@pytest.mark.parametrize("text", ["", "{}", json.dumps({"format": 99}), json.dumps({"format": 1, "engine": None})])
def test_unreadable_state_is_a_clear_error(text):
    with pytest.raises(SearchStateError):
        SearchState.from_json(text)


def test_configmap_name_is_derived_from_the_search():
    assert state_configmap_name("cifar") == "cifar-state"


def test_the_plan_changes_with_registrations_not_with_the_bookkeeping():
    state = SearchState(engine={"version": 1}, start=1.0)
    plan = state.plan_json()
    state.ledger = Ledger(5.0, 6.0, {"a": 6.0}, {"a": 5.0})
    state.intensities.append(250.0)
    state.counterfactual_charged, state.worst_intensity = 9.0, 400.0
    assert state.plan_json() == plan
    state.register("s-full-00000", "FullTraining", [42])
    assert state.plan_json() != plan
