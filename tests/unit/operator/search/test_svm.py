import numpy as np
import pytest
from sklearn.svm import SVC

from cenas_operator.search import svm


def _problem(seed: int, n: int, d: int, encoded: bool):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, (n, d)).astype(float) if encoded else rng.normal(size=(n, d))
    w = rng.normal(size=d)
    labels = ((x @ w + rng.normal(size=n)) > np.median(x @ w)).astype(int)
    probe = np.concatenate([x, rng.normal(size=(100, d)) * x.std() + x.mean()])
    return x, labels, probe


@pytest.mark.parametrize("kernel", ["rbf", "poly", "linear"])
@pytest.mark.parametrize("seed", range(4))
def test_predictions_and_decision_values_match_scikit_learns_svc(kernel, seed):
    # libsvm (inside SVC) solves the same dual to the same KKT tolerance (1e-3), which bounds the decision
    # values' difference only up to the kernel's scale: 0.012 was seen with a linear kernel on 30 features.
    x, labels, probe = _problem(seed, n=30 + 40 * seed, d=(6, 12, 30, 8)[seed], encoded=seed % 2 == 0)
    reference = SVC(kernel=kernel, degree=4, gamma="scale", C=1.0).fit(x, labels)
    ours = svm.fit(x, labels, kernel=kernel, degree=4, c=1.0)
    assert np.array_equal(ours.predict(probe), reference.predict(probe))
    np.testing.assert_allclose(ours.decision_function(probe), reference.decision_function(probe), atol=0.02)


def test_separable_classes_are_split_and_one_class_is_refused():
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [1.0, 1.0], [0.9, 1.1], [1.1, 0.9]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    model = svm.fit(x, labels)
    assert model.predict(x).tolist() == labels.tolist()
    assert model.predict(np.array([[0.05, 0.05], [1.05, 1.0]])).tolist() == [0, 1]
    with pytest.raises(ValueError, match="both classes"):
        svm.fit(x, np.ones(6, dtype=int))
