"""Pareto dominance and hypervolume for two objectives (pure numpy).

Convention: every function takes points as an (n, 2) array in which BOTH columns are maximised. The search
maximises accuracy and minimises a cost (params or FLOPs); `to_max` turns (accuracy, cost) into that
convention by negating the cost, so that a reference point and a hypervolume mean one thing everywhere.

`a` dominates `b` when a >= b in both objectives and a > b in at least one.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def _points(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != 2:
        raise ValueError(f"points must be an (n, 2) array, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("points must be finite")
    return y


def to_max(accuracy, cost) -> np.ndarray:
    """(n, 2) points to maximise from accuracy (maximised) and cost (minimised)."""
    return np.stack([np.asarray(accuracy, dtype=np.float64), -np.asarray(cost, dtype=np.float64)], axis=1)


def dominates(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(a >= b) and np.any(a > b))


def domination_counts(y) -> np.ndarray:
    """For each point, how many points of the set dominate it (0 on the Pareto front)."""
    y = _points(y)
    n = len(y)
    out = np.empty(n, dtype=np.int64)
    chunk = max(1, 4_000_000 // max(n, 1))  # bounded memory: chunk x n comparisons at a time
    for s in range(0, n, chunk):
        a = y[s : s + chunk, None, :]
        ge = (y[None, :, 0] >= a[:, :, 0]) & (y[None, :, 1] >= a[:, :, 1])
        gt = (y[None, :, 0] > a[:, :, 0]) | (y[None, :, 1] > a[:, :, 1])
        out[s : s + chunk] = np.count_nonzero(ge & gt, axis=1)
    return out


def pareto_mask(y) -> np.ndarray:
    """True for the non-dominated points (duplicates of a front point are all kept). O(n log n)."""
    y = _points(y)
    n = len(y)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort((-y[:, 1], -y[:, 0]))  # first objective descending, ties: second descending
    a, b = y[order, 0], y[order, 1]
    new_group = np.concatenate([[True], a[1:] != a[:-1]])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    running = np.maximum.accumulate(b)
    # Best second objective among points with a strictly larger first objective.
    before = np.where(group_start > 0, running[np.maximum(group_start - 1, 0)], -np.inf)
    mask[order] = (b > before) & (b == b[group_start])
    return mask


def nondominated_ranks(y) -> np.ndarray:
    """Front number of every point under non-dominated sorting: 0 = Pareto front, 1 = the front once 0 is
    removed, and so on (NSGA-II's ranks; CE-NAS's `sort_queue` orders its queue by it)."""
    y = _points(y)
    n = len(y)
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    # Two objectives: sweep by the first objective descending; a point's front is one more than the
    # largest front among earlier points that dominate it. Keep, per front, the best second objective seen.
    order = np.lexsort((-y[:, 1], -y[:, 0]))
    best2: list[float] = []  # best2[r] = max second objective among processed points of front r
    last: list[tuple[float, float]] = []  # last[r] = a processed point of front r with that max
    for i in order:
        a, b = y[i]
        # Front r dominates i iff it holds a point with second >= b that is not equal to (a, b);
        # best2 is non-increasing in r, so binary search for the first front that does not dominate.
        lo, hi = 0, len(best2)
        while lo < hi:
            mid = (lo + hi) // 2
            p = last[mid]
            dom = best2[mid] > b or (best2[mid] == b and p[0] > a)
            if dom:
                lo = mid + 1
            else:
                hi = mid
        r = lo
        ranks[i] = r
        if r == len(best2):
            best2.append(b)
            last.append((a, b))
        elif b > best2[r] or (b == best2[r] and a > last[r][0]):
            best2[r], last[r] = b, (a, b)
    return ranks


def candidate_fronts(known, candidates) -> Iterator[np.ndarray]:
    """Indices of `candidates` front by front of the non-dominated sorting of known + candidates, best
    first (ascending within a front; a front of known points only yields an empty array), until every
    candidate was yielded. Peeling stops where the caller stops, so the best few cost little."""
    known, cand = _points(known), _points(candidates)
    pts = np.vstack([known, cand])
    alive = np.ones(len(pts), dtype=bool)
    left = len(cand)
    while left:
        idx = np.flatnonzero(alive)
        front = idx[pareto_mask(pts[idx])]
        alive[front] = False
        top = front[front >= len(known)] - len(known)
        left -= top.size
        yield top


def hypervolume(y, ref) -> float:
    """Area dominated by the points and bounded below by `ref` (both objectives maximised). Points that do
    not strictly improve on `ref` in both objectives add nothing."""
    y = _points(y)
    ref = np.asarray(ref, dtype=np.float64)
    if ref.shape != (2,) or not np.isfinite(ref).all():
        raise ValueError(f"the reference point must be 2 finite numbers, got {ref!r}")
    y = y[(y[:, 0] > ref[0]) & (y[:, 1] > ref[1])]
    if len(y) == 0:
        return 0.0
    y = y[pareto_mask(y)]
    order = np.argsort(-y[:, 0], kind="stable")  # first objective descending => second ascending on a front
    y = y[order]
    widths = y[:, 0] - ref[0]
    heights = np.diff(np.concatenate([[ref[1]], y[:, 1]]))
    return float(np.sum(widths * np.maximum(heights, 0.0)))


def hypervolume_contributions(candidates, front, ref) -> np.ndarray:
    """For each candidate point, the hypervolume it would add to `front` on its own (0 when dominated)."""
    c = _points(candidates)
    f = _points(front) if len(front) else np.zeros((0, 2))
    base = hypervolume(f, ref) if len(f) else 0.0
    return np.array([hypervolume(np.vstack([f, p[None, :]]), ref) - base for p in c])
