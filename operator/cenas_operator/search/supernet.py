"""The simulated supernet: what one-shot (weight-sharing) scoring predicts for each cell.

Model (a Gaussian copula, documented in docs/SEARCH.md): map the true accuracies to normal scores
z = Phi^-1(rank / (n + 1)) (ties share their mean rank), draw one independent normal e per cell for the
whole search (a supernet is trained once; re-scoring a cell returns the same prediction), and predict

    z_hat = rho * z + sqrt(1 - rho^2) * e,      predicted accuracy = the table's accuracy quantile at Phi(z_hat).

The prediction therefore has exactly the table's marginal distribution (same scale as full training, so
predicted and true objectives can share one Pareto front) and a population Kendall rank correlation with
the truth of tau = (2 / pi) * arcsin(rho); `rho_for_tau` inverts that.

DEFAULT_TAU is what the trainer measures: Kendall tau-b 0.17 between the supernet's scores and full-training
test accuracy, 30 NB201 cells on scikit-learn's digits, mean of 2 training seeds
(bench/trainer/results/supernet_ranking.json, docs/BENCHMARKS.md "Supernet ranking"). On the digits the
ground truth itself only repeats at tau 0.27 between two seeds, so the number is a pessimistic proxy for a
CIFAR-10 supernet; the benchmark takes --supernet-tau and docs/BENCHMARKS.md reports a higher value too.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

DEFAULT_TAU = 0.17


def rho_for_tau(tau: float) -> float:
    """Gaussian-copula correlation whose Kendall tau is `tau` (in [0, 1))."""
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"supernet Kendall tau must be in [0, 1), got {tau}")
    return math.sin(math.pi * tau / 2.0)


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Phi^-1 of the mid-ranks / (n + 1): ties get the same score."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1)
    # Mid-ranks for ties.
    uniq, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    mid = (sums / counts)[inverse]
    return ndtri(mid / (n + 1))


def predict(accuracy: np.ndarray, tau: float, rng: np.random.Generator) -> np.ndarray:
    """One supernet's predicted accuracy for every row of the table (see module docstring)."""
    accuracy = np.asarray(accuracy, dtype=np.float64)
    rho = rho_for_tau(tau)
    z = normal_scores(accuracy)
    z_hat = rho * z + math.sqrt(1.0 - rho * rho) * rng.standard_normal(len(accuracy))
    u = ndtr(z_hat)
    return np.quantile(accuracy, u, method="linear")


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two samples (O(n^2); meant for a few thousand points)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    dx, dy = dx[iu], dy[iu]
    s = float(np.sum(dx * dy))
    nx, ny = float(np.count_nonzero(dx)), float(np.count_nonzero(dy))
    if nx == 0 or ny == 0:
        return 0.0
    return s / math.sqrt(nx * ny)
