import numpy as np
import pytest

from cenas_operator.api import TrialRole
from cenas_operator.search import Search, SearchConfig, Space
from cenas_operator.search_plan import (
    ACTIVE,
    FAILED,
    SUCCEEDED,
    SUSPENDED,
    TrialView,
    arch_of,
    assign,
    completion_reason,
    failing,
    ingest,
    remaining_gpu_hours,
    results,
    row_of,
    trial_counts,
    view,
)
from cenas_operator.search_state import SUPERNET_DONE, SUPERNET_FAILED, SUPERNET_PENDING, SearchState
from cenas_spaces import encode_unit, from_index, network_cost

N = 300


@pytest.fixture(scope="module")
def space() -> Space:
    """The first N NB201 cells (row == cenas_spaces index, as in Space.nb201)."""
    archs = [from_index(i) for i in range(N)]
    return Space(np.arange(N), np.array([encode_unit(a) for a in archs]),
                 np.array([network_cost(a).params_millions for a in archs]))


def names(role, index):
    return f"s-{role.value}-{index}"


def trial(name, role, phase, holding=False, **kw):
    return TrialView(name=name, role=role.value, phase=phase, holding=holding, gpus=1,
                     suspend=phase == SUSPENDED, **kw)


def test_view_reads_phase_and_results():
    body = {"metadata": {"name": "t"}, "spec": {"role": "FullTraining", "gpus": 2, "suspend": False},
            "status": {"conditions": [{"type": "Running", "status": "True"},
                                      {"type": "Complete", "status": "True"}],
                       "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:01:30Z",
                       "energyJoules": 5.0, "result": {"accuracyPercent": 91.0}}}
    v = view(body)
    assert (v.phase, v.holding, v.gpus, v.accuracy, v.energy_joules) == (SUCCEEDED, False, 2, 91.0, 5.0)
    assert v.finished_at - 1767225600.0 == 90.0
    body["status"]["conditions"] = [{"type": "Running", "status": "True"}]
    body["spec"]["suspend"] = True
    assert view(body).phase == SUSPENDED and view(body).holding  # still shutting down: holds its GPUs


def test_first_pass_registers_the_supernet_only(space):
    state, engine = SearchState(), Search(space, SearchConfig(), seed=1)
    plan = assign(state, engine, {}, target_gpus=2, gpus_per_trial=1, max_full_trainings=4, names=names)
    assert plan.registered == ("s-SupernetTraining-0",) and plan.create == plan.registered
    assert plan.sampling_gpus == 1 and plan.evaluation_gpus == 0  # nothing is queued for full training yet


def test_scores_queue_candidates_and_full_trainings_follow(space):
    state, engine = SearchState(supernet=SUPERNET_DONE), Search(space, SearchConfig(), seed=1)
    plan = assign(state, engine, {}, target_gpus=3, gpus_per_trial=1, max_full_trainings=2, names=names)
    score = plan.registered[0]
    rows = state.trials[score].rows
    assert state.trials[score].role == TrialRole.CANDIDATE_SCORING.value and len(rows) == 32
    scores = {arch_of(r): float(50 + i) for i, r in enumerate(rows[:-1])}  # the last one is not scored
    views = {score: trial(score, TrialRole.CANDIDATE_SCORING, SUCCEEDED, scores=scores)}
    events = ingest(state, engine, views)
    assert engine.n_queued == 31 and engine.n_unseen == N - 31 and state.trials[score].consumed
    assert events[0][0] == "CandidatesScored"
    plan = assign(state, engine, views, target_gpus=3, gpus_per_trial=1, max_full_trainings=2, names=names)
    fulls = [n for n in plan.registered if state.trials[n].role == TrialRole.FULL_TRAINING.value]
    assert len(fulls) == 2  # capped by maxFullTrainings, although 3 GPUs are allowed
    assert plan.evaluation_gpus == 2 and plan.sampling_gpus == 0  # 31 queued: no scoring wanted
    ingest(state, engine, {**views, fulls[0]: trial(fulls[0], TrialRole.FULL_TRAINING, SUCCEEDED, accuracy=93.0)})
    assert engine.n_results == 1


def test_suspended_trials_resume_before_new_ones_start(space):
    state, engine = SearchState(supernet=SUPERNET_FAILED), Search(space, SearchConfig(), seed=1)
    plan = assign(state, engine, {}, target_gpus=2, gpus_per_trial=1, max_full_trainings=None, names=names)
    a, b = plan.registered
    views = {a: trial(a, TrialRole.FULL_TRAINING, ACTIVE, holding=True),
             b: trial(b, TrialRole.FULL_TRAINING, ACTIVE, holding=True)}
    plan = assign(state, engine, views, target_gpus=1, gpus_per_trial=1, max_full_trainings=None, names=names)
    assert plan.set_suspend == {b: True} and plan.registered == ()  # the newer one gives way
    views[b] = trial(b, TrialRole.FULL_TRAINING, SUSPENDED)
    plan = assign(state, engine, views, target_gpus=2, gpus_per_trial=1, max_full_trainings=None, names=names)
    assert plan.set_suspend == {b: False} and plan.registered == ()
    plan = assign(state, engine, views, target_gpus=0, gpus_per_trial=1, max_full_trainings=None, names=names)
    assert plan.set_suspend == {a: True} and plan.running == ()


def test_registered_trials_missing_from_the_api_are_created_not_replanned(space):
    state, engine = SearchState(), Search(space, SearchConfig(), seed=1)
    first = assign(state, engine, {}, target_gpus=1, gpus_per_trial=1, max_full_trainings=1, names=names)
    again = assign(state, engine, {}, target_gpus=1, gpus_per_trial=1, max_full_trainings=1, names=names)
    assert again.registered == () and again.create == first.create


def test_gpus_per_trial_divides_the_target(space):
    state, engine = SearchState(supernet=SUPERNET_FAILED), Search(space, SearchConfig(), seed=1)
    plan = assign(state, engine, {}, target_gpus=5, gpus_per_trial=2, max_full_trainings=None, names=names)
    assert len(plan.registered) == 2 and plan.evaluation_gpus == 4


def test_failed_trainings_go_back_and_failed_scoring_withdraws(space):
    state, engine = SearchState(supernet=SUPERNET_FAILED), Search(space, SearchConfig(), seed=1)
    (name,) = assign(state, engine, {}, target_gpus=1, gpus_per_trial=1, max_full_trainings=None,
                     names=names).registered
    ingest(state, engine, {name: trial(name, TrialRole.FULL_TRAINING, FAILED)})
    assert engine.n_results == 0 and engine.n_unseen == N  # vanilla: back to unseen
    state2, engine2 = SearchState(supernet=SUPERNET_DONE), Search(space, SearchConfig(), seed=1)
    (score,) = assign(state2, engine2, {}, target_gpus=1, gpus_per_trial=1, max_full_trainings=None,
                      names=names).registered
    ingest(state2, engine2, {score: trial(score, TrialRole.CANDIDATE_SCORING, FAILED)})
    assert engine2.n_unseen == N and state2.trials[score].consumed


def test_supernet_outcome_moves_the_search_on():
    for phase, expected in ((SUCCEEDED, SUPERNET_DONE), (FAILED, SUPERNET_FAILED)):
        state = SearchState()
        state.register("sn", TrialRole.SUPERNET_TRAINING.value, [])
        ingest(state, None, {"sn": trial("sn", TrialRole.SUPERNET_TRAINING, phase)})
        assert state.supernet == expected


def test_results_best_front_and_hypervolume(space):
    state, engine = SearchState(supernet=SUPERNET_FAILED), Search(space, SearchConfig(), seed=1)
    plan = assign(state, engine, {}, target_gpus=3, gpus_per_trial=1, max_full_trainings=None, names=names)
    views = {}
    for i, name in enumerate(plan.registered):
        views[name] = trial(name, TrialRole.FULL_TRAINING, SUCCEEDED, accuracy=80.0 + i)
    ingest(state, engine, views)
    out = results(state, engine)
    best = max(views, key=lambda n: views[n].accuracy)
    assert out["best"]["trial"] == best and out["best"]["accuracyPercent"] == 82.0
    assert out["best"]["architecture"] == arch_of(state.trials[best].rows[0])
    assert row_of(out["best"]["architecture"]) == state.trials[best].rows[0]
    assert 1 <= len(out["paretoFront"]) <= 3 and 0 < out["hypervolume"] < 1
    assert results(SearchState(), Search(space)) == {}


def test_completion_reasons(space):
    engine, state = Search(space), SearchState()
    common = dict(engine=engine, views={}, state=state, now=100.0, budget_exhausted=False)
    assert completion_reason(**common, deadline=None, max_full_trainings=None, budget_grams=None) is None
    assert completion_reason(**common, deadline=50.0, max_full_trainings=None, budget_grams=None) == "DeadlineReached"
    state.ledger = state.ledger.__class__(emitted_grams=10.0)
    assert completion_reason(**common, deadline=None, max_full_trainings=None, budget_grams=10) == (
        "CarbonBudgetReached")
    assert completion_reason(**common, deadline=None, max_full_trainings=None, budget_grams=11) is None


def test_trial_counts_and_remaining_work(space):
    views = {"a": trial("a", TrialRole.FULL_TRAINING, ACTIVE, holding=True),
             "b": trial("b", TrialRole.FULL_TRAINING, ACTIVE),
             "c": trial("c", TrialRole.FULL_TRAINING, SUSPENDED),
             "d": trial("d", TrialRole.FULL_TRAINING, SUCCEEDED, energy_joules=400 * 3600.0)}
    assert trial_counts(views) == {"pending": 1, "running": 1, "suspended": 1, "succeeded": 1, "failed": 0}
    engine = Search(space)
    common = dict(full_epochs=100, supernet_epochs=50, gpus_per_trial=1, time_scale=1.0,
                  default_full_trainings=10, gpu_hours_per_epoch=0.01, power_watts=400.0)
    # Measured: one full training drew 1 GPU-hour of energy (over 2 h, suspended for one); 3 to go (none in
    # the engine yet) and the supernet.
    assert remaining_gpu_hours(SearchState(supernet=SUPERNET_PENDING), engine, views, max_full_trainings=3,
                               **common) == pytest.approx(3 * 1.0 + 50 * 0.01)
    assert remaining_gpu_hours(SearchState(supernet=SUPERNET_DONE), engine, {}, max_full_trainings=None,
                               **common) == pytest.approx(10 * 100 * 0.01)


def test_a_search_fails_when_its_last_trials_all_failed():
    def done(name, phase, at):
        return trial(name, TrialRole.FULL_TRAINING, phase, finished_at=at)

    views = {"a": done("a", SUCCEEDED, 1.0), "b": done("b", FAILED, 2.0), "c": done("c", FAILED, 3.0)}
    assert not failing(views, 3)
    views["d"] = done("d", FAILED, 4.0)
    assert failing(views, 3)
    views["e"] = done("e", SUCCEEDED, 5.0)
    assert not failing(views, 3)
