"""The search state machine: proposals, the queue by dominance rank, results, and JSON round-trips."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from cenas_operator.search.engine import (
    PROPOSED,
    SCORED,
    TRAINED,
    TRAINING,
    UNSEEN,
    Search,
    SearchConfig,
    Space,
    StateError,
)


def tiny_space(costs) -> Space:
    costs = np.asarray(costs, dtype=float)
    n = len(costs)
    enc = np.random.default_rng(0).random((n, 6))
    return Space(np.arange(n, dtype=np.int64), enc, costs)


def score_all(search: Search, preds) -> None:
    rows = search.propose(len(search.space))
    search.add_predictions(rows, np.asarray(preds)[rows])


COSTS = [1.0, 2.0, 3.0, 1.5, 4.0]
PREDS = [90.0, 89.0, 95.0, 91.0, 94.0]


def pop_order(first_result: float | None = None) -> list[int]:
    s = Search(tiny_space(COSTS), SearchConfig(sampler="random"))
    score_all(s, PREDS)
    order = []
    while True:
        popped = s.pop_queue(1)
        if not popped:
            return order
        r = popped[0]
        order.append(r)
        s.add_result(r, first_result if (first_result is not None and len(order) == 1) else PREDS[r])


def test_queue_order_is_dominance_rank_then_hypervolume_gain_hand_worked():
    # Predicted points (accuracy, cost): 0 (90, 1), 1 (89, 2), 2 (95, 3), 3 (91, 1.5), 4 (94, 4).
    # Rank 0: {0, 2, 3}; 1 is dominated by 0 and 3, 4 by 2. Reference (0, 4.03).
    # Gains on an empty front: 0: 90 x 3.03 = 272.7 > 3: 91 x 2.53 = 230.2 > 2: 95 x 1.03 = 97.9 -> 0 first.
    # With 0 trained: 2 adds 95 x 1.03 + 90 x 2 - 272.7 = 5.15, 3 adds 1 x 2.53 -> 2, then 3.
    # 1 and 4 are then dominated by results (rank 1, no gain): higher prediction first -> 4, 1.
    assert pop_order() == [0, 2, 3, 4, 1]


def test_results_change_the_order_of_what_remains():
    # Cell 0 turns out at 80 % instead of 90: cell 3 (91 % at 1.5) now adds
    # 91 x 2.53 + 80 x 0.5 - 80 x 3.03 = 27.8 against 2's 95 x 1.03 + 80 x 2 - 242.4 = 15.5, so 3 goes before 2.
    assert pop_order(first_result=80.0) == [0, 3, 2, 4, 1]


def test_best_candidate_matches_the_full_ranking(small_space):
    rng = np.random.default_rng(1)
    for trial in range(20):
        s = Search(small_space, SearchConfig(sampler="random"), seed=trial)
        rows = s.propose(60)
        s.add_predictions(rows, 85 + 10 * rng.random(len(rows)))
        for r in s.pop_queue(int(rng.integers(0, 6))):
            s.add_result(r, 85 + 10 * rng.random())
        queued = np.flatnonzero(s.status == SCORED)
        assert s.best_candidate(queued) == int(s.rank_candidates(queued)[0])


def test_status_flow_and_counts(small_space):
    s = Search(small_space, seed=0)
    rows = s.propose(12)
    assert len(set(rows)) == 12 and (s.status[rows] == PROPOSED).all()
    s.add_predictions(rows[:10], np.full(10, 90.0))
    s.withdraw(rows[10:])
    assert s.n_queued == 10 and s.count(UNSEEN) == len(small_space) - 10
    popped = s.pop_queue(3)
    assert len(popped) == 3 and (s.status[popped] == TRAINING).all()
    for r in popped:
        s.add_result(r, 91.0)
    assert s.n_results == 3 and (s.status[popped] == TRAINED).all()
    assert set(s.front_rows()) <= set(popped)
    vanilla = s.propose(2, train=True)
    assert (s.status[vanilla] == TRAINING).all()
    s.abandon(vanilla[0])
    assert s.status[vanilla[0]] == UNSEEN


def test_bad_calls_raise(small_space):
    s = Search(small_space, seed=0)
    rows = s.propose(4)
    with pytest.raises(ValueError, match="must be training"):
        s.add_result(rows[0], 90.0)
    with pytest.raises(ValueError, match="one finite accuracy per row"):
        s.add_predictions(rows, [90.0])
    with pytest.raises(ValueError, match="appears twice"):
        s.add_predictions([rows[0], rows[0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="out of range"):
        s.withdraw([len(small_space)])
    with pytest.raises(ValueError, match="tree_samples"):
        SearchConfig(tree_samples="some")


def drive(search: Search, steps: int, truth: np.ndarray, noise: np.ndarray, log: list) -> None:
    """A scripted two-pool search: score a batch, train the best two, report results."""
    for _ in range(steps):
        rows = search.propose(16)
        search.add_predictions(rows, truth[rows] + noise[rows])
        popped = search.pop_queue(2)
        for r in popped:
            search.add_result(r, float(truth[r]))
        extra = search.propose(1, train=True)  # a vanilla-style proposal too
        log.append((tuple(rows), tuple(popped), tuple(extra)))
        for r in extra:
            search.add_result(r, float(truth[r]))


@pytest.mark.parametrize(
    "cfg",
    # 10 results switch the estimate (and the guided proposals) on within the scripted steps
    [SearchConfig(tree_samples="results", predictor_min_results=10),
     SearchConfig(tree_samples="all", predictor_min_results=10),
     SearchConfig(predictor_features="onehot", proposal="random", predictor_min_results=10)],
    ids=["results", "all", "earlier-engine"],
)
def test_state_round_trip_through_json_resumes_exactly(small_table, small_space, cfg):
    truth = small_table.accuracy
    noise = np.random.default_rng(2).normal(0, 1.5, len(truth))
    original = Search(small_space, cfg, seed=4)
    drive(original, 6, truth, noise, [])
    # Leave work in flight: a proposed batch and a training.
    in_flight = original.propose(5)
    training = original.pop_queue(1)
    state = json.loads(json.dumps(original.to_state()))
    restored = Search.from_state(small_space, state)
    assert restored.to_state() == original.to_state()
    assert (restored.status == original.status).all()
    # Both finish the in-flight work and go on: identical decisions.
    for s in (original, restored):
        s.add_predictions(in_flight, truth[in_flight])
        for r in training:
            s.add_result(r, float(truth[r]))
    log_a, log_b = [], []
    drive(original, 8, truth, noise, log_a)
    drive(restored, 8, truth, noise, log_b)
    assert log_a == log_b
    assert original.to_state() == restored.to_state()
    assert original.hypervolume() == restored.hypervolume() > 0


def test_a_search_restored_every_step_with_the_last_tree_decides_as_one_kept_in_memory(small_table, small_space):
    truth = small_table.accuracy
    noise = np.random.default_rng(3).normal(0, 1.5, len(truth))
    kept = Search(small_space, SearchConfig(), seed=5)
    restored = Search(small_space, SearchConfig(), seed=5)
    log_kept, log_restored, reused = [], [], 0
    for _ in range(10):
        drive(kept, 1, truth, noise, log_kept)
        fitted = restored.fitted_tree()
        restored = Search.from_state(small_space, json.loads(json.dumps(restored.to_state())))
        restored.reuse_tree(fitted)
        reused += fitted is not None and restored.tree() is fitted.tree  # not refitted
        drive(restored, 1, truth, noise, log_restored)
    assert log_restored == log_kept
    assert restored.to_state() == kept.to_state()
    assert reused >= 3


def test_a_tree_from_other_observations_is_not_reused(small_table, small_space):
    truth = small_table.accuracy
    noise = np.random.default_rng(3).normal(0, 1.5, len(truth))
    search = Search(small_space, SearchConfig(), seed=5)
    drive(search, 4, truth, noise, [])
    assert search.tree() is not None
    fitted = search.fitted_tree()
    other = Search(small_space, SearchConfig(), seed=6)  # another seed: another search
    other.obs_row, other.obs_kind, other.obs_value = list(search.obs_row), list(search.obs_kind), list(search.obs_value)
    other.tree_at = search.tree_at
    other.reuse_tree(fitted)
    assert other.tree() is not fitted.tree
    same = Search.from_state(small_space, search.to_state())
    same.reuse_tree(fitted)
    assert same.tree() is fitted.tree
    drive(same, 1, truth, noise, [])  # more observations: the next tree is new
    assert same.fitted_tree() is None or same.fitted_tree().identity != fitted.identity


def test_from_state_refuses_what_does_not_fit(small_space, table):
    s = Search(small_space, seed=0)
    s.add_predictions(s.propose(3), [90.0, 91.0, 92.0])
    state = s.to_state()
    other = Space(table.index[:500], table.encoding[:500], table.params[:500])
    with pytest.raises(StateError, match="another search space"):
        Search.from_state(other, state)
    for mutate, message in [
        (lambda d: d.update(version=99), "version"),
        (lambda d: d.pop("observations"), "malformed"),
        (lambda d: d["observations"]["row"].append(10**6) or d["observations"]["kind"].append(0)
         or d["observations"]["value"].append(1.0), "bad observation"),
        (lambda d: d.update(treeAt=10**6), "treeAt"),
        (lambda d: d["observations"]["value"].pop(), "malformed"),
    ]:
        bad = copy.deepcopy(state)
        mutate(bad)
        with pytest.raises(StateError, match=message):
            Search.from_state(small_space, bad)
    with pytest.raises(StateError, match="JSON object"):
        Search.from_state(small_space, [])


def test_lamoo_proposals_concentrate_where_results_are_good(small_table, small_space):
    """After enough results, proposals come from the selected region, which holds better cells than
    the space at large (the whole point of the partition)."""
    truth = small_table.accuracy
    s = Search(small_space, seed=0)
    for _ in range(60):
        for r in s.propose(1, train=True):
            s.add_result(r, float(truth[r]))
    later = []
    for _ in range(40):
        rows = s.propose(1, train=True)
        later += rows
        for r in rows:
            s.add_result(r, float(truth[r]))
    unseen_mean = truth[s.status == UNSEEN].mean()
    assert truth[later].mean() > unseen_mean


def test_operator_space_is_every_cell_in_index_order(table):
    space = Space.nb201("params")
    assert len(space) == len(table)
    assert (space.index == np.arange(len(table))).all()
    rows = table.index  # the table's cells by index: the same costs and encodings
    assert np.allclose(space.cost[rows], table.params) and np.allclose(space.encoding[rows], table.encoding)
    assert space.arch(int(rows[5])) == table.archs[5]
    with pytest.raises(ValueError, match="cost metric"):
        Space.nb201("latency")


def test_the_operator_side_imports_no_torch_forecaster_plotting_sklearn_nor_scipy_even_after_a_split():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, cenas_operator.search.engine, cenas_operator.search.allocation\n"
        "from cenas_operator.search.lamoo import Tree, TreeConfig\n"
        "rng = np.random.default_rng(0)\n"
        "tree = Tree(rng.integers(0, 5, (40, 6)) / 5, rng.random((40, 2)), np.zeros(2), TreeConfig(), seed=1)\n"
        "assert tree.root.svm is not None\n"
        "print(sorted(m for m in ('torch', 'cenas_forecaster', 'matplotlib', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
