import numpy as np
import pytest
import torch

from cenas_forecaster.features import (
    CONTEXT_HOURS,
    calendar_features,
    denormalise,
    make_windows,
    normalised_targets,
)
from cenas_forecaster.model import ForecastTransformer, ModelConfig, pinball_loss
from cenas_forecaster.series import parse_time

T0 = parse_time("2021-03-01")  # a Monday


def series(n=800, seed=0):
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return 300 + 80 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 5, n)


def test_windows_use_only_the_past_and_are_normalised():
    values = series()
    issue = np.array([CONTEXT_HOURS, 500])
    w = make_windows(values, T0, issue)
    assert w.past.shape == (2, 14, 24)
    np.testing.assert_allclose(w.past.reshape(2, -1).mean(axis=1), 0, atol=1e-5)
    changed = values.copy()
    changed[500:] = 1.0
    np.testing.assert_array_equal(make_windows(changed, T0, issue).past, w.past)


def test_targets_round_trip_through_denormalise():
    values = series()
    issue = np.array([400, 401])
    w = make_windows(values, T0, issue)
    z = normalised_targets(values, issue, w.scale)
    np.testing.assert_allclose(denormalise(z.astype(np.float64), w.scale), values[issue[:, None] + np.arange(96)],
                               rtol=1e-5)


def test_windows_refuse_issue_times_without_14_days_of_history():
    with pytest.raises(ValueError, match="336 hours"):
        make_windows(series(), T0, np.array([100]))


def test_calendar_marks_weekdays_and_future_tokens():
    cal = calendar_features(np.array([T0 + 14 * 86_400]))  # issued on a Monday
    assert cal.shape == (1, 18, 12)
    assert cal[0, 0, :7].argmax() == 0  # the first past day is a Monday too (14 days before)
    assert cal[0, 15, :7].argmax() == 1  # the second future day is a Tuesday
    np.testing.assert_array_equal(cal[0, :, 11], [0] * 14 + [1] * 4)


def test_quantiles_never_cross_and_have_the_right_shape():
    torch.manual_seed(0)
    model = ForecastTransformer(ModelConfig(d_model=16, heads=2, layers=1, feedforward=32)).eval()
    w = make_windows(series(), T0, np.array([400, 500, 600]))
    out = model(torch.from_numpy(w.past), torch.from_numpy(w.calendar)).detach().numpy()
    assert out.shape == (3, 96, 7)
    assert (np.diff(out, axis=-1) > 0).all()


def test_model_rejects_quantiles_without_a_median():
    with pytest.raises(ValueError):
        ForecastTransformer(ModelConfig(quantiles=(0.1, 0.9)))


def test_pinball_loss_penalises_under_and_over_prediction_asymmetrically():
    q = torch.tensor([0.1, 0.9])
    target = torch.zeros(1, 1)
    under = pinball_loss(torch.full((1, 1, 2), -1.0), target, q)  # predicted below the target
    over = pinball_loss(torch.full((1, 1, 2), 1.0), target, q)
    assert under.item() == pytest.approx((0.1 + 0.9) / 2)
    assert over.item() == pytest.approx((0.9 + 0.1) / 2)
    assert pinball_loss(torch.tensor([[[-1.0, 1.0]]]), target, q).item() == pytest.approx(0.1)
