"""Pareto dominance and hypervolume against brute force and hand-worked cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cenas_operator.search.pareto import (
    candidate_fronts,
    domination_counts,
    hypervolume,
    hypervolume_contributions,
    nondominated_ranks,
    pareto_mask,
    to_max,
)


def brute_counts(y: np.ndarray) -> np.ndarray:
    return np.array([sum(bool(np.all(b >= a) and np.any(b > a)) for b in y) for a in y])


def brute_ranks(y: np.ndarray) -> np.ndarray:
    ranks = np.full(len(y), -1)
    left = set(range(len(y)))
    r = 0
    while left:
        front = {i for i in left if not any(np.all(y[j] >= y[i]) and np.any(y[j] > y[i]) for j in left)}
        for i in front:
            ranks[i] = r
        left -= front
        r += 1
    return ranks


def brute_hypervolume(y: np.ndarray, ref: np.ndarray) -> float:
    """Exact area of the union of boxes [ref, y_i], on the grid of all coordinates (compressed)."""
    y = y[(y[:, 0] > ref[0]) & (y[:, 1] > ref[1])]
    if len(y) == 0:
        return 0.0
    xs = np.unique(np.concatenate([[ref[0]], y[:, 0]]))
    ys = np.unique(np.concatenate([[ref[1]], y[:, 1]]))
    area = 0.0
    for (x0, x1), (y0, y1) in itertools.product(itertools.pairwise(xs), itertools.pairwise(ys)):
        if np.any((y[:, 0] >= x1) & (y[:, 1] >= y1)):
            area += (x1 - x0) * (y1 - y0)
    return area


def random_sets():
    rng = np.random.default_rng(0)
    for k in range(60):
        n = int(rng.integers(1, 40))
        if k % 2:  # integer grid: many ties and duplicates
            yield rng.integers(0, 6, size=(n, 2)).astype(float)
        else:
            yield rng.normal(size=(n, 2))


def test_hand_worked_staircase():
    y = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    assert hypervolume(y, [0, 0]) == pytest.approx(3 * 1 + 2 * 1 + 1 * 1)
    # A dominated point adds nothing; a point beyond the reference adds nothing.
    assert hypervolume(np.vstack([y, [[1.0, 1.0]], [[5.0, -1.0]]]), [0, 0]) == pytest.approx(6.0)
    assert hypervolume(np.array([[2.0, 2.0]]), [2.0, 0.0]) == 0.0


def test_hand_worked_accuracy_and_cost():
    # (accuracy %, params M): reference (90, 1.0) with cost minimised.
    y = to_max([94.0, 92.0, 91.0], [0.8, 0.3, 0.9])
    # 91 @ 0.9 is dominated by 92 @ 0.3. Area = (94-90)*(1.0-0.8) + (92-90)*(0.8-0.3).
    assert hypervolume(y, [90.0, -1.0]) == pytest.approx(4 * 0.2 + 2 * 0.5)


@pytest.mark.parametrize("y", list(random_sets()))
def test_against_brute_force(y):
    ref = y.min(axis=0) - 0.5
    assert hypervolume(y, ref) == pytest.approx(brute_hypervolume(y, ref), abs=1e-9)
    assert domination_counts(y).tolist() == brute_counts(y).tolist()
    assert pareto_mask(y).tolist() == (brute_counts(y) == 0).tolist()
    assert nondominated_ranks(y).tolist() == brute_ranks(y).tolist()


def test_contributions_are_the_hypervolume_added():
    front = np.array([[3.0, 1.0], [1.0, 3.0]])
    cand = np.array([[2.0, 2.0], [0.5, 0.5], [4.0, 0.5]])
    got = hypervolume_contributions(cand, front, [0, 0])
    base = hypervolume(front, [0, 0])
    want = [hypervolume(np.vstack([front, c]), [0, 0]) - base for c in cand]
    assert got.tolist() == pytest.approx(want)
    assert got[1] == 0.0 and got[0] == pytest.approx(1.0)


def test_empty_and_bad_input():
    assert hypervolume(np.zeros((0, 2)), [0, 0]) == 0.0
    assert pareto_mask(np.zeros((0, 2))).size == 0
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        hypervolume(np.zeros((3, 3)), [0, 0])
    with pytest.raises(ValueError, match="finite"):
        pareto_mask(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="reference"):
        hypervolume(np.ones((1, 2)), [0, 0, 0])


def test_candidate_fronts_peel_known_and_candidates_together_hand_worked():
    known = np.array([[3.0, 3.0]])
    cand = np.array([[1.0, 1.0], [4.0, 0.0], [2.0, 2.0], [0.0, 4.0]])
    fronts = [f.tolist() for f in candidate_fronts(known, cand)]
    # front 0: the known (3,3), (4,0) and (0,4); front 1: (2,2); front 2: (1,1)
    assert fronts == [[1, 3], [2], [0]]
    assert [f.tolist() for f in candidate_fronts(np.array([[5.0, 5.0]]), cand[:1])] == [[], [0]]
