"""LaMOO space partitioning (Zhao et al., ICLR 2022) as CE-NAS uses it, on encoded architectures.

A tree of regions is learned from the samples seen so far. A node with more than `leaf_size` samples and
depth below `max_height` labels its samples "good" (the half with the fewest dominating samples, i.e. the
smallest dominance number) or "bad", fits an SVM classifier on the encodings, and splits its samples by
the SVM's prediction into a good child and a bad child (no split when the SVM puts them all on one side).
A node's value is the hypervolume of its samples; UCB = value + 2 * Cp * sqrt(2 ln n_parent / n_node).
Selection: `leaf` (CE-NAS's default) takes the leaf with the best UCB, `mcts` walks down from the root
taking the child with the better UCB. The selected region is the set of encodings that every SVM on the
path classifies onto the path's side.

The tree is a pure function of (samples, config, seed): it is rebuilt rather than stored, so a search
restored from its serialised state rebuilds exactly the tree it had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .pareto import domination_counts, hypervolume
from .svm import SVC

NodeSelect = Literal["leaf", "mcts"]


@dataclass(frozen=True)
class TreeConfig:
    leaf_size: int = 10
    """A node with at most this many samples is a leaf (CE-NAS: 10)."""
    max_height: int = 3
    """Depth limit of the tree (CE-NAS: 3)."""
    kernel: str = "rbf"
    """SVM kernel: rbf (CE-NAS's README: slightly better than its poly default), poly, linear."""
    degree: int = 4
    """Degree of the poly kernel."""
    svm_c: float = 1.0
    cp_fraction: float = 0.1
    """Exploration constant Cp as a fraction of the root's hypervolume (CE-NAS's README: about 10 %)."""
    node_select: NodeSelect = "leaf"
    max_svm_samples: int = 200
    """A node fits its SVM on at most this many of its samples (a seeded, stratified subsample) to keep
    the cost of a rebuild bounded; every sample is still routed and counted."""

    def __post_init__(self) -> None:
        if self.leaf_size < 2 or self.max_height < 0 or self.max_svm_samples < 4:
            raise ValueError("leaf_size must be >= 2, max_height >= 0, max_svm_samples >= 4")
        if self.kernel not in ("rbf", "poly", "linear"):
            raise ValueError(f"kernel must be rbf, poly or linear, got {self.kernel!r}")
        if self.node_select not in ("leaf", "mcts"):
            raise ValueError(f"node_select must be leaf or mcts, got {self.node_select!r}")
        if not (self.cp_fraction >= 0 and self.svm_c > 0):
            raise ValueError("cp_fraction must be >= 0 and svm_c > 0")


@dataclass
class Node:
    rows: np.ndarray  # indices into the samples the tree was built from
    depth: int
    value: float  # hypervolume of the node's samples
    svm: SVC | None = None
    good: Node | None = None
    bad: Node | None = None
    parent: Node | None = field(default=None, repr=False)
    side: int = 1  # 1: this node is its parent's good child, 0: the bad one

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def is_leaf(self) -> bool:
        return self.good is None

    def leaves(self) -> list[Node]:
        if self.is_leaf:
            return [self]
        assert self.good is not None and self.bad is not None
        return self.good.leaves() + self.bad.leaves()

    def path(self) -> list[Node]:
        """Nodes from the root's child down to this node (empty for the root)."""
        out: list[Node] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            out.append(node)
            node = node.parent
        return out[::-1]


def good_labels(y: np.ndarray) -> np.ndarray:
    """1 for the half of the samples with the smallest dominance number (ties by sample order), else 0."""
    counts = domination_counts(y)
    order = np.argsort(counts, kind="stable")
    labels = np.zeros(len(y), dtype=np.int64)
    labels[order[: (len(y) + 1) // 2]] = 1
    return labels


def _subsample(labels: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(labels) <= limit:
        return np.arange(len(labels))
    picked = []
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        take = round(limit * len(idx) / len(labels))
        picked.append(rng.choice(idx, size=max(1, min(take, len(idx))), replace=False))
    return np.sort(np.concatenate(picked))


def _fit_svm(x: np.ndarray, labels: np.ndarray, cfg: TreeConfig) -> SVC:
    return SVC(kernel=cfg.kernel, degree=cfg.degree, C=cfg.svm_c).fit(x, labels)


class Tree:
    """A LaMOO tree over samples (x: encodings, y: objectives to maximise)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, ref: np.ndarray, cfg: TreeConfig, seed: int) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.ref = np.asarray(ref, dtype=np.float64)
        self.cfg = cfg
        # The SVM subsamples draw from a generator seeded by (seed, number of samples): deterministic
        # given the samples, independent of how many trees were built before.
        self._rng = np.random.default_rng([seed, len(self.x)])
        self.root = self._build(np.arange(len(self.x)), 0, None, 1)

    def _node(self, rows: np.ndarray, depth: int, parent: Node | None, side: int) -> Node:
        value = hypervolume(self.y[rows], self.ref) if len(rows) else 0.0
        return Node(rows=rows, depth=depth, value=value, parent=parent, side=side)

    def _build(self, rows: np.ndarray, depth: int, parent: Node | None, side: int) -> Node:
        node = self._node(rows, depth, parent, side)
        if len(rows) <= self.cfg.leaf_size or depth >= self.cfg.max_height:
            return node
        labels = good_labels(self.y[rows])
        if labels.min() == labels.max():
            return node
        fit = _subsample(labels, self.cfg.max_svm_samples, self._rng)
        svm = _fit_svm(self.x[rows[fit]], labels[fit], self.cfg)
        pred = svm.predict(self.x[rows])
        if pred.min() == pred.max():
            return node  # the SVM cannot separate them: stay a leaf
        node.svm = svm
        node.good = self._build(rows[pred == 1], depth + 1, node, 1)
        node.bad = self._build(rows[pred == 0], depth + 1, node, 0)
        return node

    @property
    def cp(self) -> float:
        return self.cfg.cp_fraction * self.root.value

    def ucb(self, node: Node) -> float:
        if node.parent is None:
            return node.value
        if node.n == 0:
            return math.inf
        return node.value + 2.0 * self.cp * math.sqrt(2.0 * math.log(node.parent.n) / node.n)

    def select(self) -> Node:
        """The region to sample from (config.node_select)."""
        if self.cfg.node_select == "leaf":
            leaves = self.root.leaves()
            scores = [self.ucb(leaf) for leaf in leaves]
            return leaves[int(np.argmax(scores))]  # first best on ties: deterministic
        node = self.root
        while not node.is_leaf:
            assert node.good is not None and node.bad is not None
            node = node.good if self.ucb(node.good) >= self.ucb(node.bad) else node.bad
        return node

    @staticmethod
    def in_region(node: Node, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the encodings `x` inside `node`'s region."""
        mask = np.ones(len(x), dtype=bool)
        for child in node.path():
            parent = child.parent
            assert parent is not None and parent.svm is not None
            idx = np.flatnonzero(mask)
            if idx.size == 0:
                break
            mask[idx] = parent.svm.predict(x[idx]) == child.side
        return mask
