"""LaMOO partitioning: labels by dominance number, SVM splits, UCB selection, region membership."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.search.lamoo import Tree, TreeConfig, good_labels
from cenas_operator.search.pareto import domination_counts, to_max


def separable(n: int = 240, seed: int = 0):
    """Cells with x0 < 0.4 are much more accurate at the same cost: the good region is a half-space."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6))
    cost = rng.random(n)
    acc = 80.0 + 10.0 * (x[:, 0] < 0.4) + rng.random(n)
    return x, to_max(acc, cost)


def test_good_labels_take_the_least_dominated_half():
    _, y = separable(101)
    labels = good_labels(y)
    assert labels.sum() == 51
    counts = domination_counts(y)
    assert counts[labels == 1].max() <= counts[labels == 0].min()
    assert labels[counts == 0].all()  # the front is good


def test_split_finds_the_good_half_space_and_selection_goes_there():
    x, y = separable()
    tree = Tree(x, y, ref=np.array([80.0, -1.01]), cfg=TreeConfig(cp_fraction=0.0), seed=0)
    assert not tree.root.is_leaf
    assert tree.root.good.value > tree.root.bad.value
    leaf = tree.select()
    assert leaf.path()[0].side == 1  # under the root's good child
    probe = np.random.default_rng(5).random((2000, 6))
    inside = Tree.in_region(leaf, probe)
    assert inside.any()
    # Most of the selected region lies in the truly good half-space, far more than the 40 % base rate.
    assert (probe[inside, 0] < 0.4).mean() > 0.8


def test_tree_shape_limits():
    x, y = separable(200)
    flat = Tree(x, y, np.array([80.0, -1.01]), TreeConfig(max_height=0), seed=0)
    assert flat.root.is_leaf and flat.select() is flat.root
    small = Tree(x[:10], y[:10], np.array([80.0, -1.01]), TreeConfig(leaf_size=10), seed=0)
    assert small.root.is_leaf
    deep = Tree(x, y, np.array([80.0, -1.01]), TreeConfig(max_height=2, leaf_size=10), seed=0)
    assert max(leaf.depth for leaf in deep.root.leaves()) == 2

    def internal(node):
        return [] if node.is_leaf else [node, *internal(node.good), *internal(node.bad)]

    for node in internal(deep.root):  # only nodes above leaf size and below max height split
        assert node.n > 10 and node.depth < 2 and node.svm is not None
    # Children partition their parent's samples.
    node = deep.root
    assert sorted(np.concatenate([node.good.rows, node.bad.rows]).tolist()) == sorted(node.rows.tolist())


def test_exploration_bonus_favours_the_less_visited_leaf():
    x, y = separable()
    greedy = Tree(x, y, np.array([80.0, -1.01]), TreeConfig(cp_fraction=0.0, max_height=1), seed=0)
    explore = Tree(x, y, np.array([80.0, -1.01]), TreeConfig(cp_fraction=100.0, max_height=1), seed=0)
    assert greedy.select().side == 1
    smaller = min(explore.root.leaves(), key=lambda n: n.n)
    assert explore.select() is smaller


def test_mcts_walk_and_determinism():
    x, y = separable()
    cfg = TreeConfig(node_select="mcts", cp_fraction=0.0)
    a = Tree(x, y, np.array([80.0, -1.01]), cfg, seed=3)
    b = Tree(x, y, np.array([80.0, -1.01]), cfg, seed=3)
    la, lb = a.select(), b.select()
    assert la.is_leaf and [n.side for n in la.path()] == [n.side for n in lb.path()]
    probe = np.random.default_rng(1).random((500, 6))
    assert (Tree.in_region(la, probe) == Tree.in_region(lb, probe)).all()


def test_config_errors():
    with pytest.raises(ValueError, match="kernel"):
        TreeConfig(kernel="sigmoid")
    with pytest.raises(ValueError, match="node_select"):
        TreeConfig(node_select="best")
    with pytest.raises(ValueError, match="leaf_size"):
        TreeConfig(leaf_size=1)
