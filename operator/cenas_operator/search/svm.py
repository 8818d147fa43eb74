"""A two-class kernel SVM (C-SVC) in numpy, for the LaMOO tree's splits.

It solves the same dual problem as libsvm (and so scikit-learn's SVC) with the same method: SMO with
second-order working-set selection (Fan, Chen and Lin, JMLR 2005), stopping tolerance 1e-3, and the same
bias. The solution agrees with SVC's to that tolerance; predictions can differ only for points within about
that distance of the boundary. A split fits at most a few hundred samples, so the kernel matrix is held
whole. Written here because scikit-learn (with scipy) is 70 MB of an operator's memory for this one model.

    min_a  1/2 a'Qa - sum(a)   s.t.  y'a = 0,  0 <= a <= C,   Q_ij = y_i y_j K(x_i, x_j),  y in {-1, +1}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-3  # libsvm's and scikit-learn's default stopping tolerance
TAU = 1e-12  # libsvm's floor for a non-positive curvature
MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class Kernel:
    name: str  # rbf, poly or linear
    gamma: float
    degree: int = 3

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        dot = a @ b.T
        if self.name == "linear":
            return dot
        if self.name == "poly":
            return (self.gamma * dot) ** self.degree  # coef0 = 0, as SVC's default
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * dot
        return np.exp(-self.gamma * np.maximum(sq, 0.0))


def scale_gamma(x: np.ndarray) -> float:
    """SVC's gamma="scale": 1 / (features x variance of all values)."""
    var = float(x.var())
    return 1.0 / (x.shape[1] * var) if var > 0 else 1.0


@dataclass(frozen=True)
class SVM:
    """A fitted classifier: label 1 where the decision value is positive, else 0."""

    kernel: Kernel
    support: np.ndarray  # support vectors
    coef: np.ndarray  # y_i a_i of each
    rho: float

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return self.kernel(np.asarray(x, dtype=np.float64), self.support) @ self.coef - self.rho

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(np.int64)


def fit(x: np.ndarray, labels: np.ndarray, *, kernel: str = "rbf", degree: int = 3, c: float = 1.0) -> SVM:
    """Fit on encodings `x` and 0/1 `labels` (both classes present)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.where(np.asarray(labels) == 1, 1.0, -1.0)
    if y.min() == y.max():
        raise ValueError("an SVM needs samples of both classes")
    k = Kernel(kernel, scale_gamma(x), degree)
    q = k(x, x) * y[:, None] * y[None, :]
    alpha = _smo(q, y, c)
    grad = q @ alpha - 1.0
    rho = _rho(grad, y, alpha, c)
    sv = alpha > 0
    return SVM(k, x[sv], (y * alpha)[sv], rho)


def _smo(q: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    n = len(y)
    alpha = np.zeros(n)
    grad = -np.ones(n)
    diag = np.diag(q).copy()
    pos = y > 0
    for _ in range(MAX_ITERATIONS):
        # i: the most violating index that may move up; j: the partner with the best second-order gain.
        up = np.where(pos, alpha < c, alpha > 0)
        low = np.where(pos, alpha > 0, alpha < c)
        minus_yg = -y * grad
        if not up.any() or not low.any():
            break
        i = int(np.flatnonzero(up)[np.argmax(minus_yg[up])])
        g_max = minus_yg[i]
        g_max2 = np.max(-minus_yg[low])
        if g_max + g_max2 < TOLERANCE:
            break
        grad_diff = g_max - minus_yg  # = g_max + y_t G_t
        quad = diag[i] + diag - 2.0 * y[i] * y * q[i]
        quad = np.where(quad > 0, quad, TAU)
        gain = np.where(low & (grad_diff > 0), -(grad_diff**2) / quad, np.inf)
        j = int(np.argmin(gain))
        if not np.isfinite(gain[j]):
            break
        old_i, old_j = alpha[i], alpha[j]
        _update_pair(alpha, grad, q, y, diag, i, j, c)
        grad += q[i] * (alpha[i] - old_i) + q[j] * (alpha[j] - old_j)
    return alpha


def _update_pair(alpha, grad, q, y, diag, i: int, j: int, c: float) -> None:
    """libsvm's analytic two-variable step, clipped to the box."""
    if y[i] != y[j]:
        quad = diag[i] + diag[j] + 2.0 * q[i, j]
        delta = (-grad[i] - grad[j]) / (quad if quad > 0 else TAU)
        diff = alpha[i] - alpha[j]
        alpha[i] += delta
        alpha[j] += delta
        if diff > 0:
            if alpha[j] < 0:
                alpha[j], alpha[i] = 0.0, diff
        elif alpha[i] < 0:
            alpha[i], alpha[j] = 0.0, -diff
        if diff > 0:
            if alpha[i] > c:
                alpha[i], alpha[j] = c, c - diff
        elif alpha[j] > c:
            alpha[j], alpha[i] = c, c + diff
    else:
        quad = diag[i] + diag[j] - 2.0 * q[i, j]
        delta = (grad[i] - grad[j]) / (quad if quad > 0 else TAU)
        total = alpha[i] + alpha[j]
        alpha[i] -= delta
        alpha[j] += delta
        if total > c:
            if alpha[i] > c:
                alpha[i], alpha[j] = c, total - c
        elif alpha[j] < 0:
            alpha[j], alpha[i] = 0.0, total
        if total > c:
            if alpha[j] > c:
                alpha[j], alpha[i] = c, total - c
        elif alpha[i] < 0:
            alpha[i], alpha[j] = 0.0, total


def _rho(grad: np.ndarray, y: np.ndarray, alpha: np.ndarray, c: float) -> float:
    """libsvm's bias: the mean of y G over free vectors, else the middle of the feasible interval."""
    yg = y * grad
    at_upper, at_lower = alpha >= c, alpha <= 0
    free = ~(at_upper | at_lower)
    if free.any():
        return float(yg[free].mean())
    ub_mask = (at_upper & (y < 0)) | (at_lower & (y > 0))
    lb_mask = (at_upper & (y > 0)) | (at_lower & (y < 0))
    ub = yg[ub_mask].min() if ub_mask.any() else np.inf
    lb = yg[lb_mask].max() if lb_mask.any() else -np.inf
    return float((ub + lb) / 2)
