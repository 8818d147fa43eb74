"""A binary C-SVC that partitions exactly as scikit-learn's `SVC` does, in numpy: LaMOO's splits without
importing scikit-learn and SciPy (about 65 MB of an operator's memory).

The solver is libsvm's (Chang & Lin; the version scikit-learn bundles): SMO with second-order working set
selection (Fan, Chen & Lin 2005), shrinking every min(l, 1000) iterations, the kernel matrix stored as
32-bit floats, samples grouped by class with the lower label as the positive class. Every floating-point
operation is the one libsvm does, in the same order, so that the model and its predictions are the same
to the bit (tests/unit/operator/search/test_svm.py compares them with scikit-learn's):

- libsvm's dense dot products go through BLAS, which on x86-64 computes a short dot product as a chain of
  fused multiply-adds. numpy has no FMA, so a chain is evaluated exactly with rational arithmetic, once
  per distinct partial sum: inputs take a few distinct values (LaMOO encodes NB201 cells as op code / 5),
  so the partial sums form a small automaton (`_Chain`) whose transitions are tabulated as they are met.
- exp is libm's (math.exp), applied to each distinct kernel argument; sums run sequentially, as in C.

Inputs with more than MAX_ALPHABET distinct values fall back to numpy's dot products: still a correct
SVM, no longer bit-identical with libsvm."""

from __future__ import annotations

import math
import threading
from fractions import Fraction

import numpy as np

TAU = 1e-12  # libsvm's stand-in for a non-positive curvature
MAX_ALPHABET = 64  # more distinct input values than this: numpy arithmetic (see the module docstring)
PREDICT_CHUNK = 4096  # rows per block when predicting: bounds the (rows x support vectors) temporaries


def _fma(a: float, b: float, c: float) -> float:
    """a * b + c rounded once (Fraction -> float rounds correctly)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


class _Chain:
    """The partial sums of s <- fma(left[k], right[k], s) from s = 0 over a small operand alphabet: a
    tabulated automaton (state = one distinct partial sum), filled as transitions are first needed."""

    def __init__(self, left: np.ndarray, right: np.ndarray):
        self.left, self.right = left.tolist(), right.tolist()  # the operands of each symbol
        self.values: list[float] = [0.0]
        self._ids = {0.0: 0}
        self._next = np.full((16, len(self.left)), -1, dtype=np.int32)
        self._lock = threading.Lock()  # search passes run in threads; tables are shared

    def step(self, states: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        out = self._next[states, symbols]
        missing = out < 0
        if missing.any():
            with self._lock:
                for s, k in set(zip(states[missing].tolist(), symbols[missing].tolist(), strict=True)):
                    if self._next[s, k] < 0:
                        self._next[s, k] = self._state(_fma(self.left[k], self.right[k], self.values[s]))
            out = self._next[states, symbols]
        return out

    def _state(self, value: float) -> int:
        index = self._ids.get(value)
        if index is None:
            index = self._ids[value] = len(self.values)
            self.values.append(value)
            if index >= len(self._next):
                grown = np.full((2 * len(self._next), self._next.shape[1]), -1, dtype=np.int32)
                grown[: len(self._next)] = self._next
                self._next = grown
        return index


class _Alphabet:
    """The distinct input values and the two chains libsvm's kernels need: products of values (dot
    products) and squares of their differences (the RBF kernel at prediction)."""

    def __init__(self, symbols: np.ndarray):
        self.symbols = symbols
        a, b = np.meshgrid(symbols, symbols, indexing="ij")
        self.dot = _Chain(a.ravel(), b.ravel())
        diff = (a - b).ravel()
        self.square_diff = _Chain(diff, diff)

    def codes(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.symbols, x)

    def chain(self, chain: _Chain, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(len(left), len(right)) chain states over the rows' codes; rows of `left` that share a prefix
        share its partial sums."""
        n_symbols = len(self.symbols)
        states = np.zeros((1, len(right)), dtype=np.int32)
        group = np.zeros(len(left), dtype=np.int64)
        for e in range(left.shape[1]):
            keys, group = np.unique(group * n_symbols + left[:, e], return_inverse=True)
            parent, code = keys // n_symbols, keys % n_symbols
            states = chain.step(states[parent], code[:, None] * n_symbols + right[None, :, e])
        return states[group]


_ALPHABETS: dict[tuple[float, ...], _Alphabet] = {}
_ALPHABETS_LOCK = threading.Lock()


def _alphabet(*arrays: np.ndarray) -> _Alphabet | None:
    symbols = np.unique(np.concatenate([a.ravel() for a in arrays]))
    if len(symbols) > MAX_ALPHABET or not np.isfinite(symbols).all():
        return None
    key = tuple(symbols.tolist())
    with _ALPHABETS_LOCK:
        if key not in _ALPHABETS:
            _ALPHABETS[key] = _Alphabet(symbols)
        return _ALPHABETS[key]


def _powi(base: float, times: int) -> float:
    """libsvm's integer power (square and multiply)."""
    result, square = 1.0, base
    while times > 0:
        if times % 2 == 1:
            result *= square
        square *= square
        times //= 2
    return result


def _map_values(values: np.ndarray, fn) -> np.ndarray:
    """fn (a Python float function) on each distinct value: libm's results, computed once per value."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([fn(v) for v in distinct.tolist()], dtype=np.float64)[inverse].reshape(values.shape)


class SVC:
    """Binary C-SVC with scikit-learn's defaults (tol 1e-3, shrinking, coef0 0, gamma "scale")."""

    def __init__(self, kernel: str = "rbf", degree: int = 3, C: float = 1.0, tol: float = 1e-3):
        if kernel not in ("rbf", "poly", "linear"):
            raise ValueError(f"kernel must be rbf, poly or linear, got {kernel!r}")
        if not C > 0 or not tol > 0 or degree < 0:
            raise ValueError("C and tol must be positive and degree non-negative")
        self.kernel, self.degree, self.C, self.tol = kernel, int(degree), float(C), float(tol)

    # ---- kernels ------------------------------------------------------------------------------------------
    def _dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """BLAS's dot products of every row of a with every row of b."""
        alphabet = _alphabet(a, b)
        if alphabet is None:
            return a @ b.T
        states = alphabet.chain(alphabet.dot, alphabet.codes(a), alphabet.codes(b))
        return np.asarray(alphabet.dot.values)[states]

    def _from_dots(self, dots: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return dots
        gamma, degree = self.gamma_, self.degree
        return _map_values(dots, lambda d: _powi(gamma * d + 0.0, degree))

    def _train_kernel(self, x: np.ndarray) -> np.ndarray:
        dots = self._dots(x, x)
        if self.kernel != "rbf":
            return self._from_dots(dots)
        squares = np.diag(dots).copy()
        gamma = self.gamma_
        return _map_values((squares[:, None] + squares[None, :]) - 2 * dots, lambda v: math.exp(-gamma * v))

    def _predict_kernel(self, x: np.ndarray) -> np.ndarray:
        sv = self.support_vectors_
        if self.kernel != "rbf":
            return self._from_dots(self._dots(x, sv))
        gamma = self.gamma_
        alphabet = _alphabet(x, sv)
        if alphabet is None:
            squares = ((x[:, None, :] - sv[None, :, :]) ** 2).sum(axis=2)
            return np.exp(-gamma * squares)
        states = alphabet.chain(alphabet.square_diff, alphabet.codes(x), alphabet.codes(sv))
        exps = np.array([math.exp(-gamma * v) for v in alphabet.square_diff.values])
        return exps[states]

    # ---- fit ----------------------------------------------------------------------------------------------
    def fit(self, x: np.ndarray, labels: np.ndarray) -> SVC:
        x = np.ascontiguousarray(x, dtype=np.float64)
        labels = np.asarray(labels)
        classes = np.unique(labels)
        if x.ndim != 2 or len(x) != len(labels) or len(classes) != 2:
            raise ValueError("fit needs an (n, d) array and labels of exactly two classes")
        variance = x.var()
        self.gamma_ = 1.0 / (x.shape[1] * variance) if variance != 0 else 1.0
        self.classes_ = classes
        # libsvm groups the samples by class (stable), the lower label first, and solves with it as +1.
        order = np.argsort(labels != classes[0], kind="stable")
        xs, y = x[order], np.where(labels[order] == classes[0], 1, -1).astype(np.int8)
        kernel = self._train_kernel(xs)
        q = (y[:, None] * y[None, :] * kernel).astype(np.float32)
        alpha, self.rho_ = _solve(q, np.diag(kernel).copy(), y, self.C, self.tol)
        coef = alpha * y
        support = np.flatnonzero(np.abs(coef) > 0)
        self.support_vectors_, self.dual_coef_ = xs[support], coef[support]
        self.support_ = order[support]
        return self

    # ---- predict ------------------------------------------------------------------------------------------
    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """libsvm's decision values (positive: classes_[0]); scikit-learn's decision_function negates them."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty(len(x))
        for start in range(0, len(x), PREDICT_CHUNK):
            kernel = self._predict_kernel(x[start:start + PREDICT_CHUNK])
            total = np.zeros(len(kernel))
            for k, c in enumerate(self.dual_coef_.tolist()):  # in order, as libsvm sums
                total = total + c * kernel[:, k]
            out[start:start + PREDICT_CHUNK] = total - self.rho_
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.decision_function(x) > 0, self.classes_[0], self.classes_[1])


# ---- libsvm's solver ----------------------------------------------------------------------------------------
LOWER, UPPER, FREE = 0, 1, 2


def _solve(q_full: np.ndarray, qd_full: np.ndarray, y_full: np.ndarray, c: float, eps: float
           ) -> tuple[np.ndarray, float]:
    """min 0.5 a'Qa - e'a s.t. y'a = 0, 0 <= a <= C, as libsvm's Solver::Solve (C-SVC, alpha from 0).
    Returns alpha (in the input order) and rho. Arrays are kept in libsvm's working order (shrinking swaps
    samples to the back); `order` maps positions back to samples."""
    n = len(y_full)
    order = np.arange(n)
    y = y_full.astype(np.float64)
    q, qd = q_full.astype(np.float64), qd_full.copy()
    alpha, status = np.zeros(n), np.full(n, LOWER)
    grad, grad_bar = np.full(n, -1.0), np.zeros(n)  # the linear term is -1 for every sample (C-SVC)
    active, unshrink = n, False

    def reorder(perm: np.ndarray) -> None:
        nonlocal q, qd, y, alpha, status, grad, grad_bar, order
        q, qd, y, alpha, status = q[np.ix_(perm, perm)], qd[perm], y[perm], alpha[perm], status[perm]
        grad, grad_bar, order = grad[perm], grad_bar[perm], order[perm]

    def set_status(i: int) -> None:
        status[i] = UPPER if alpha[i] >= c else LOWER if alpha[i] <= 0 else FREE

    def reconstruct_gradient() -> None:
        if active == n:
            return
        grad[active:] = grad_bar[active:] - 1.0
        for j in np.flatnonzero(status[:active] == FREE):  # ascending, as libsvm adds
            grad[active:] += alpha[j] * q[active:, j]

    def select() -> tuple[int, int] | None:
        ya, sa, ga = y[:active], status[:active], grad[:active]
        up = np.where(ya > 0, sa != UPPER, sa != LOWER)
        if not up.any():
            return None
        score = np.where(ya > 0, -ga, ga)
        gmax = score[up].max()
        i = int(np.flatnonzero(up & (score == gmax))[-1])  # the last of equals (libsvm scans with >=)
        low = np.where(ya > 0, sa != LOWER, sa != UPPER)
        if not low.any():
            return None
        score2 = np.where(ya > 0, ga, -ga)
        gmax2 = score2[low].max()
        grad_diff = gmax + score2
        candidates = low & (grad_diff > 0)
        if gmax + gmax2 < eps or not candidates.any():
            return None
        quad = (qd[i] + qd[:active]) - np.where(ya > 0, 2.0 * y[i], -2.0 * y[i]) * q[i, :active]
        obj = np.where(quad > 0, -(grad_diff * grad_diff) / np.where(quad > 0, quad, 1.0),
                       -(grad_diff * grad_diff) / TAU)
        best = obj[candidates].min()
        j = int(np.flatnonzero(candidates & (obj == best))[-1])
        return i, j

    def be_shrunk(i: int, gmax1: float, gmax2: float) -> bool:
        if status[i] == UPPER:
            return -grad[i] > (gmax1 if y[i] > 0 else gmax2)
        if status[i] == LOWER:
            return grad[i] > (gmax2 if y[i] > 0 else gmax1)
        return False

    def shrink() -> None:
        nonlocal active, unshrink
        ya, sa, ga = y[:active], status[:active], grad[:active]
        pos = ya > 0
        # the most violating -y*G over I_up and y*G over I_low (libsvm's Gmax1, Gmax2)
        gmax1 = max(np.max(-ga[pos & (sa != UPPER)], initial=-np.inf),
                    np.max(ga[~pos & (sa != LOWER)], initial=-np.inf))
        gmax2 = max(np.max(ga[pos & (sa != LOWER)], initial=-np.inf),
                    np.max(-ga[~pos & (sa != UPPER)], initial=-np.inf))
        if not unshrink and gmax1 + gmax2 <= eps * 10:
            unshrink = True
            reconstruct_gradient()
            active = n
        perm = np.arange(n)
        i = 0
        while i < active:
            if be_shrunk(perm[i], gmax1, gmax2):
                active -= 1
                while active > i:
                    if not be_shrunk(perm[active], gmax1, gmax2):
                        perm[i], perm[active] = perm[active], perm[i]
                        break
                    active -= 1
            i += 1
        if (perm != np.arange(n)).any():
            reorder(perm)

    counter = min(n, 1000) + 1
    while True:
        counter -= 1
        if counter == 0:
            counter = min(n, 1000)
            shrink()
        pair = select()
        if pair is None:
            reconstruct_gradient()
            active = n
            pair = select()
            if pair is None:
                break
            counter = 1  # shrink at the next iteration
        i, j = pair
        qi, qj = q[i], q[j]
        old_i, old_j = float(alpha[i]), float(alpha[j])
        ai, aj = old_i, old_j
        if y[i] != y[j]:
            quad = qd[i] + qd[j] + 2 * qi[j]
            delta = (-grad[i] - grad[j]) / (quad if quad > 0 else TAU)
            diff = ai - aj
            ai += delta
            aj += delta
            if diff > 0:
                if aj < 0:
                    aj, ai = 0.0, diff
            elif ai < 0:
                ai, aj = 0.0, -diff
            if diff > 0:  # C_i - C_j == 0: one C for both classes
                if ai > c:
                    ai, aj = c, c - diff
            elif aj > c:
                aj, ai = c, c + diff
        else:
            quad = qd[i] + qd[j] - 2 * qi[j]
            delta = (grad[i] - grad[j]) / (quad if quad > 0 else TAU)
            total = ai + aj
            ai -= delta
            aj += delta
            if total > c:
                if ai > c:
                    ai, aj = c, total - c
            elif aj < 0:
                aj, ai = 0.0, total
            if total > c:
                if aj > c:
                    aj, ai = c, total - c
            elif ai < 0:
                ai, aj = 0.0, total
        alpha[i], alpha[j] = ai, aj
        grad[:active] += qi[:active] * (ai - old_i) + qj[:active] * (aj - old_j)
        was_upper_i, was_upper_j = status[i] == UPPER, status[j] == UPPER
        set_status(i)
        set_status(j)
        if was_upper_i != (status[i] == UPPER):
            grad_bar += (-c if was_upper_i else c) * qi
        if was_upper_j != (status[j] == UPPER):
            grad_bar += (-c if was_upper_j else c) * qj

    # rho: the mean of y*G over free variables, else the middle of the feasible interval
    yg = y[:active] * grad[:active]
    free = status[:active] == FREE
    if free.any():
        total = 0.0
        for v in yg[free].tolist():  # in order, as libsvm sums
            total += v
        rho = total / int(free.sum())
    else:
        upper_side = np.where(status[:active] == UPPER, y[:active] < 0, y[:active] > 0)
        ub = np.min(yg[~free & upper_side], initial=np.inf)
        lb = np.max(yg[~free & ~upper_side], initial=-np.inf)
        rho = (ub + lb) / 2
    out = np.empty(n)
    out[order] = alpha
    return out, float(rho)
