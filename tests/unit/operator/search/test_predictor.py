"""The accuracy model: ridge regression of log error, penalty by leave-one-out, and its use in the search."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.search.engine import SCORED, UNSEEN, Search, SearchConfig
from cenas_operator.search.pareto import nondominated_ranks, to_max
from cenas_operator.search.predictor import PENALTIES, fit, graph_features, log_error
from cenas_operator.search.supernet import kendall_tau, predict
from cenas_spaces import Arch, encode_onehot


def one_hot_cells(n: int, seed: int) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 5, (n, 6))
    out = np.zeros((n, 30))
    out[np.repeat(np.arange(n), 6), (np.arange(6) * 5 + codes).reshape(-1)] = 1.0
    return out


def test_a_noise_free_linear_log_error_is_recovered_with_the_smallest_penalty():
    x = one_hot_cells(200, 0)
    weights = np.random.default_rng(1).normal(0, 0.3, 30)
    accuracy = 100 - np.exp(1.5 + x @ weights)
    supernet = np.random.default_rng(2).uniform(80, 95, 200)  # carries nothing
    model = fit(x[:150], supernet[:150], accuracy[:150])
    assert model.penalty == PENALTIES[0]
    np.testing.assert_allclose(model.predict(x[150:], supernet[150:]), accuracy[150:], atol=0.05)


def test_pure_noise_is_shrunk_to_the_mean_by_the_largest_penalty():
    x = one_hot_cells(40, 3)
    accuracy = 100 - np.exp(np.random.default_rng(4).normal(2.0, 0.2, 40))
    model = fit(x, accuracy + 0.0, accuracy[::-1].copy())  # features unrelated to the target
    assert model.penalty == PENALTIES[-1]
    pred = model.predict(x, accuracy)
    assert np.ptp(log_error(pred)) < np.ptp(log_error(accuracy)) / 2


def test_the_supernet_score_is_used_when_it_is_informative():
    x = one_hot_cells(120, 5)
    truth = np.random.default_rng(6).uniform(85, 95, 120)
    model = fit(x[:80], truth[:80] + np.random.default_rng(7).normal(0, 0.1, 80), truth[:80])
    pred = model.predict(x[80:], truth[80:])
    assert kendall_tau(pred, truth[80:]) > 0.9


def test_cells_without_a_score_are_estimated_from_their_operations():
    x = one_hot_cells(200, 0)
    accuracy = 100 - np.exp(1.5 + x @ np.random.default_rng(1).normal(0, 0.3, 30))
    supernet = accuracy + np.random.default_rng(2).normal(0, 0.5, 200)  # informative, so it has weight
    model = fit(x[:150], supernet[:150], accuracy[:150])
    unscored = model.predict_unscored(x[150:])
    assert kendall_tau(unscored, accuracy[150:]) > 0.8
    # the score is taken where it moves nothing: the trained cells' mean on the model's scale
    assert not np.allclose(unscored, model.predict(x[150:], supernet[150:]))
    np.testing.assert_allclose(unscored, model.predict(x[150:], np.full(50, 100 - np.exp(model.mean[-1]))))


def test_too_few_results_raise():
    with pytest.raises(ValueError, match="at least 2 results"):
        fit(one_hot_cells(1, 0), np.array([90.0]), np.array([91.0]))


def test_on_nb201_the_model_ranks_unseen_cells_far_better_than_a_weak_supernet(table):
    # 60 random trained cells, the trainer's measured supernet (tau 0.17): the estimate of 1,000 others.
    supernet = predict(table.accuracy, 0.17, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    trained = rng.choice(len(table), 60, replace=False)
    test = rng.choice(np.setdiff1d(np.arange(len(table)), trained), 1000, replace=False)

    def features(rows):
        return np.array([encode_onehot(table.archs[r]) for r in rows], dtype=float)

    model = fit(features(trained), supernet[trained], table.accuracy[trained])
    estimate = model.predict(features(test), supernet[test])
    assert kendall_tau(supernet[test], table.accuracy[test]) < 0.25
    assert kendall_tau(estimate, table.accuracy[test]) > 0.4


def scored_search(small_table, small_space, config: SearchConfig, trained: int, scored: int | None = None) -> Search:
    """A search with `scored` cells (default: all) scored by a noisy supernet and `trained` of them trained."""
    s = Search(small_space, config, seed=0)
    noise = np.random.default_rng(3).normal(0, 3.0, len(small_table))
    rows = s.propose(len(small_space) if scored is None else scored)
    s.add_predictions(rows, small_table.accuracy[rows] + noise[rows])
    for r in s.pop_queue(trained):
        s.add_result(r, float(small_table.accuracy[r]))
    return s


def test_the_search_ranks_by_the_supernet_until_enough_results_then_by_the_model(small_table, small_space):
    few = scored_search(small_table, small_space, SearchConfig(sampler="random", predictor_min_results=10), 9)
    queued = np.flatnonzero(few.status == SCORED)
    np.testing.assert_array_equal(few.estimated(queued), few.predicted[queued])
    few.add_result(few.pop_queue(1)[0], 90.0)  # the tenth result switches the model on
    queued = np.flatnonzero(few.status == SCORED)
    assert not np.allclose(few.estimated(queued), few.predicted[queued])
    model = few._accuracy_model()
    few.add_result(few.pop_queue(1)[0], 91.0)
    assert few._accuracy_model() is not model  # refitted on the new result


def test_predictor_supernet_is_ces_nas_ranking(small_table, small_space):
    s = scored_search(small_table, small_space, SearchConfig(sampler="random", predictor="supernet"), 30)
    queued = np.flatnonzero(s.status == SCORED)
    np.testing.assert_array_equal(s.estimated(queued), s.predicted[queued])


def partly_scored_search(small_table, small_space, proposal: str, trained: int) -> Search:
    config = SearchConfig(sampler="random", proposal=proposal, predictor_min_results=10)
    return scored_search(small_table, small_space, config, trained, scored=100)


def test_proposals_take_the_best_estimated_unseen_cells_once_the_model_is_fitted(small_table, small_space):
    guided = partly_scored_search(small_table, small_space, "estimate", 20)
    unseen = np.flatnonzero(guided.status == UNSEEN)
    known = guided._known_points()
    est = guided._accuracy_model().predict_unscored(guided._cell_features(unseen))
    ranks = nondominated_ranks(np.vstack([known, to_max(est, small_space.cost[unseen])]))[len(known):]
    rank_of = dict(zip(unseen.tolist(), ranks.tolist(), strict=True))
    chosen = guided.propose(20)
    worst_chosen = max(rank_of[r] for r in chosen)
    best_left = min(rank_of[r] for r in set(unseen.tolist()) - set(chosen))
    assert worst_chosen <= best_left and min(ranks) < max(ranks)
    # random proposals take others; before the model (fewer results) the two agree
    plain = partly_scored_search(small_table, small_space, "random", 20)
    assert set(plain.propose(20)) != set(chosen)
    early = [partly_scored_search(small_table, small_space, p, 5) for p in ("estimate", "random")]
    assert early[0].propose(20) == early[1].propose(20)


def test_bad_predictor_settings_raise():
    with pytest.raises(ValueError, match="predictor must be ridge or supernet"):
        SearchConfig(predictor="gp")
    with pytest.raises(ValueError, match="predictor_min_results"):
        SearchConfig(predictor_min_results=1)
    with pytest.raises(ValueError, match="predictor_features must be onehot or graph"):
        SearchConfig(predictor_features="gnn")
    with pytest.raises(ValueError, match="proposal must be random or estimate"):
        SearchConfig(proposal="ucb")


def test_graph_features_of_a_hand_worked_cell():
    # Edges (1,0) (2,0) (2,1) (3,0) (3,1) (3,2): paths 0-3 are [3], [0,4], [1,5], [0,2,5].
    cell = Arch(("nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect", "nor_conv_3x3", "avg_pool_3x3"))
    onehot = np.array([encode_onehot(cell)], dtype=float)
    g = graph_features(onehot)[0]
    np.testing.assert_array_equal(g[:30], onehot[0])
    np.testing.assert_array_equal(g[30:35], [1, 1, 1, 2, 1])  # none, skip, conv 1x1, conv 3x3, avg pool
    np.testing.assert_array_equal(g[35:39], [1, 1, 0, 1])  # path [1,5] crosses the `none` on (2,0)
    np.testing.assert_array_equal(g[39:43], [0, 2, 0, 2])  # convolutions on each live path
    assert g[43] == 2 and g[44] == 3  # the deepest live path's convolutions; live paths


def test_the_search_fits_the_graph_features_by_default_and_the_one_hot_when_asked(small_table, small_space):
    s = scored_search(small_table, small_space, SearchConfig(sampler="random"), 40)  # the default: graph, 30
    assert s._accuracy_model().mean.shape == (46,)  # 45 cell features + the supernet's score
    onehot = scored_search(small_table, small_space, SearchConfig(sampler="random", predictor_features="onehot"), 40)
    assert onehot._accuracy_model().mean.shape == (31,)
