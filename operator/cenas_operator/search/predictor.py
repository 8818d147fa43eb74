"""The accuracy estimate the evaluation pool ranks candidates by: the supernet's score, corrected by the
full-training results the search already has.

A weak supernet (the trainer measures Kendall tau 0.17) orders candidates little better than chance, but
every full training returns a true accuracy. A ridge regression fitted on the trained cells learns what
the cell says about accuracy (the operation per edge, and with `graph_features` the cell graph's live
paths and depth) and how much the supernet's score is worth, and it predicts every scored candidate from
both; `AccuracyModel.predict_unscored` estimates a cell from its features alone, which guides what the
supernet scores next. On the NB201 table, with a tau-0.17 supernet, the one-hot model ranks random
unseen cells at Kendall tau 0.24-0.28 after 10 random results and 0.41-0.57 after 50-100 (docs/SEARCH.md,
"The accuracy estimate").

- Target: log(100 - accuracy), the log of the error in percent. Accuracy has a long tail of broken cells
  (about 10 %); on the raw scale their squared errors decide the fit, while the ranking that matters is
  among the good cells, which the log of the error spreads apart.
- Features are standardised, and the ridge penalty is chosen by exact leave-one-out error over a fixed
  grid, so there is nothing to tune per dataset.
- Everything is a pure function of (encodings, supernet scores, results): a search restored from its
  observation log fits the same model and makes the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PENALTIES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
N_OPS, N_EDGES = 5, 6  # cenas_spaces.OPS (none, skip, conv 1x1, conv 3x3, avg pool) on EDGES
# The cell's input-output paths as edge indices of cenas_spaces.EDGES ((1,0) (2,0) (2,1) (3,0) (3,1) (3,2)).
PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))
ERROR_CEILING = 100.0  # accuracy in percent


def log_error(accuracy: np.ndarray) -> np.ndarray:
    """The regression's scale: log of the error in percent (floored so 100 % stays finite)."""
    return np.log(np.maximum(ERROR_CEILING - np.asarray(accuracy, dtype=np.float64), 1e-3))


@dataclass(frozen=True)
class AccuracyModel:
    mean: np.ndarray  # feature means
    scale: np.ndarray  # feature standard deviations (1 where constant)
    weights: np.ndarray
    intercept: float
    penalty: float

    def predict(self, cell_features: np.ndarray, supernet_accuracy: np.ndarray) -> np.ndarray:
        """Estimated accuracy (percent) of cells from their features and supernet scores."""
        x = (_features(cell_features, supernet_accuracy) - self.mean) / self.scale
        return ERROR_CEILING - np.exp(x @ self.weights + self.intercept)

    def predict_unscored(self, cell_features: np.ndarray) -> np.ndarray:
        """Estimated accuracy of cells the supernet has not scored: their score is taken at the trained
        cells' mean, so it moves no estimate."""
        typical = ERROR_CEILING - np.exp(self.mean[-1])
        return self.predict(cell_features, np.full(len(cell_features), typical))


def graph_features(onehot: np.ndarray) -> np.ndarray:
    """(n, 30) one-hot cells -> (n, 45): the one-hot plus what the cell's graph says about its depth (an
    additive model of the edges cannot): the count of each operation, which of the 4 input-output paths
    are live (no `none` on them), the convolutions on each live path, the deepest live path's, and the
    number of live paths."""
    oh = np.asarray(onehot, dtype=np.float64).reshape(-1, N_EDGES, N_OPS)
    live = 1.0 - oh[:, :, 0]
    conv = oh[:, :, 2] + oh[:, :, 3]
    path_live = np.column_stack([live[:, list(p)].prod(axis=1) for p in PATHS])
    path_convs = np.column_stack([path_live[:, i] * conv[:, list(p)].sum(axis=1) for i, p in enumerate(PATHS)])
    return np.column_stack([oh.reshape(len(oh), -1), oh.sum(axis=1), path_live, path_convs,
                            path_convs.max(axis=1), path_live.sum(axis=1)])


def _features(cell_features: np.ndarray, supernet_accuracy: np.ndarray) -> np.ndarray:
    return np.column_stack([cell_features, log_error(supernet_accuracy)])


def fit(cell_features: np.ndarray, supernet_accuracy: np.ndarray, accuracy: np.ndarray) -> AccuracyModel:
    """Ridge regression of log error on the features, the penalty with the least leave-one-out error."""
    x = _features(cell_features, supernet_accuracy)
    y = log_error(accuracy)
    if len(y) < 2:
        raise ValueError("the accuracy model needs at least 2 results")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    xs = (x - mean) / scale
    y_mean = float(y.mean())
    yc = y - y_mean
    u, s, vt = np.linalg.svd(xs, full_matrices=False)
    uty = u.T @ yc

    def leave_one_out_error(penalty: float) -> float:
        shrink = s**2 / (s**2 + penalty)
        fitted = u @ (shrink * uty)
        leverage = np.minimum((u**2) @ shrink + 1.0 / len(y), 1.0 - 1e-9)  # + the intercept's
        return float(np.mean(((yc - fitted) / (1.0 - leverage)) ** 2))

    penalty = min(PENALTIES, key=leave_one_out_error)  # the smallest of equals
    weights = vt.T @ ((s / (s**2 + penalty)) * uty)
    return AccuracyModel(mean, scale, weights, y_mean, penalty)
