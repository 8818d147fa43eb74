"""The numpy C-SVC against scikit-learn's (the solver it reproduces), and on its own terms."""

import numpy as np
import pytest
from sklearn.svm import SVC as SklearnSVC

from cenas_operator.search.lamoo import good_labels
from cenas_operator.search.svm import SVC, _fma

# NB201 cells as LaMOO encodes them (op code / 5), the inputs the tree splits
CELLS = np.array(np.meshgrid(*[np.arange(5)] * 6, indexing="ij")).reshape(6, -1).T / 5


def _problems(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(11, 120))
        x = CELLS[rng.choice(len(CELLS), n, replace=False)]
        if k % 3 == 2:  # a cell observed twice, labels possibly conflicting: libsvm's tie-breaking matters
            x = np.concatenate([x, x[rng.choice(n, n // 4, replace=False)]])
            n = len(x)
        if k % 2:  # LaMOO's labels: the less dominated half of random objectives
            labels = good_labels(np.stack([x @ rng.normal(size=6) + 0.1 * rng.normal(size=n), -x.sum(1)], 1))
        else:
            labels = good_labels(rng.random((n, 2)))
        yield x, labels


@pytest.mark.parametrize(("kernel", "degree"), [("rbf", 3), ("poly", 4), ("linear", 3)])
def test_the_model_and_its_decisions_are_scikit_learns_to_the_bit(kernel, degree):
    probe = CELLS[::11]
    for x, labels in _problems(seed=len(kernel), count=4):
        ours = SVC(kernel=kernel, degree=degree).fit(x, labels)
        theirs = SklearnSVC(kernel=kernel, degree=degree, gamma="scale", C=1.0).fit(x, labels)
        assert ours.gamma_ == theirs._gamma
        assert np.array_equal(ours.support_, theirs.support_)
        assert np.array_equal(-ours.dual_coef_, theirs.dual_coef_.ravel())  # libsvm's sign is flipped there
        assert ours.rho_ == theirs.intercept_[0]  # -(-rho): both signs flipped for two classes
        assert np.array_equal(-ours.decision_function(probe), theirs.decision_function(probe))
        assert np.array_equal(ours.predict(probe), theirs.predict(probe))


def test_the_solution_meets_the_optimality_conditions():
    x, labels = list(_problems(seed=11, count=2))[1]  # structured labels: some multipliers strictly inside
    model = SVC(C=0.5).fit(x, labels)
    y = np.where(labels == model.classes_[0], 1.0, -1.0)
    alpha = np.zeros(len(x))
    alpha[model.support_] = np.abs(model.dual_coef_)
    assert (alpha >= 0).all() and (alpha <= 0.5).all()
    assert abs(float(alpha @ y)) < 1e-9
    margin = y * model.decision_function(x)  # y f(x): >= 1 at alpha 0, <= 1 at C, = 1 in between (to tol)
    assert (margin[alpha == 0] >= 1 - 1e-2).all()
    assert (margin[alpha == 0.5] <= 1 + 1e-2).all()
    free = (alpha > 0) & (alpha < 0.5)
    assert free.any() and np.allclose(margin[free], 1, atol=1e-2)


def test_inputs_of_many_distinct_values_still_separate():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(120, 3))  # hundreds of distinct values: numpy's dot products, not the FMA chain
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = SVC(kernel="linear").fit(x, labels)
    assert (model.predict(x) == labels).mean() > 0.95
    assert (SVC().fit(x, labels).predict(x) == labels).mean() > 0.9


def test_fused_multiply_add_rounds_once():
    assert _fma(0.1, 10.0, -1.0) == 5.551115123125783e-17  # 0.1 * 10 - 1 rounded twice is 0.0
    assert 0.1 * 10.0 - 1.0 == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="two classes"):
        SVC().fit(CELLS[:10], np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="kernel"):
        SVC(kernel="sigmoid")
    with pytest.raises(ValueError, match="positive"):
        SVC(C=0)
