"""The supernet-prediction model (rank correlation as set, marginal kept) and the cost model."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.search.costs import CostModel
from cenas_operator.search.supernet import kendall_tau, normal_scores, predict, rho_for_tau


@pytest.mark.parametrize("tau", [0.25, 0.5, 0.8])
def test_predictions_have_the_set_rank_correlation_and_the_table_marginal(table, tau):
    pred = predict(table.accuracy, tau, np.random.default_rng(3))
    sample = np.random.default_rng(4).choice(len(pred), 1500, replace=False)
    measured = kendall_tau(table.accuracy[sample], pred[sample])
    assert abs(measured - tau) < 0.05
    # Same scale as full training: the predictions' quantiles are the table's.
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    assert np.quantile(pred, q) == pytest.approx(np.quantile(table.accuracy, q), abs=0.3)


def test_predictions_are_one_supernet_per_seed():
    acc = np.linspace(80, 95, 300)
    a = predict(acc, 0.5, np.random.default_rng(1))
    b = predict(acc, 0.5, np.random.default_rng(1))
    c = predict(acc, 0.5, np.random.default_rng(2))
    assert (a == b).all() and not (a == c).all()


def test_rank_helpers():
    assert rho_for_tau(0.0) == 0.0
    assert rho_for_tau(0.5) == pytest.approx(np.sin(np.pi / 4))
    with pytest.raises(ValueError, match="tau"):
        rho_for_tau(1.0)
    z = normal_scores(np.array([3.0, 1.0, 3.0, 2.0]))
    assert z[0] == z[2] and z[1] < z[3] < z[0]
    x = np.arange(10.0)
    assert kendall_tau(x, x) == pytest.approx(1.0) and kendall_tau(x, -x) == pytest.approx(-1.0)


def test_cost_model(table):
    c = CostModel()
    f = np.array([10.0, 50.0, 200.0])
    e = c.epoch_seconds(f)
    assert (np.diff(e) > 0).all()
    assert (e[2] - e[1]) / (e[1] - e[0]) == pytest.approx(150 / 40)  # affine in FLOPs
    assert c.full_training_seconds(f) == pytest.approx(c.full_training_epochs * e)
    # Calibration anchors (docs/SEARCH.md): mean epoch over the space about 18.3 s on 50,000 images.
    assert c.epoch_seconds(table.flops).mean() == pytest.approx(18.3, abs=0.3)
    # Scoring a candidate is over two orders of magnitude cheaper than training it.
    assert (c.score_seconds(table.flops) * 100 < c.full_training_seconds(table.flops)).all()
    assert c.supernet_speedup(1) == 1.0 and c.supernet_speedup(3) == pytest.approx(2.8)
    with pytest.raises(ValueError, match="must be finite"):
        CostModel(epoch_overhead_seconds=-1.0)
    with pytest.raises(ValueError, match="efficiency"):
        CostModel(supernet_parallel_efficiency=0.0)
