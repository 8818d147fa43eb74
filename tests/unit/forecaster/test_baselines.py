import numpy as np
import pytest

from cenas_forecaster.baselines import BASELINES, mean_7d, persist_24h, persist_168h


def weekly_series(weeks: int = 4) -> np.ndarray:
    hours = np.arange(weeks * 168)
    return 200 + 50 * np.sin(2 * np.pi * hours / 24) + 10 * (hours // 24 % 7)


def test_persist_24h_repeats_yesterday_for_every_day_of_the_horizon():
    values = weekly_series()
    out = persist_24h(values, np.array([336]))
    assert out.shape == (1, 96)
    for day in range(4):
        np.testing.assert_array_equal(out[0, 24 * day : 24 * day + 24], values[312:336])


def test_persist_168h_is_exact_on_a_weekly_periodic_series():
    values = weekly_series()
    issue = np.array([336, 400])
    out = persist_168h(values, issue)
    np.testing.assert_allclose(out, values[issue[:, None] + np.arange(96)])


def test_mean_7d_averages_the_same_hour_of_the_last_seven_days():
    values = np.arange(400, dtype=float) + 1
    out = mean_7d(values, np.array([200]))
    expected = np.mean([values[200 - 24 * j + 5] for j in range(1, 8)])
    assert out[0, 5] == pytest.approx(expected)
    assert out[0, 29] == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_use_only_the_past(name):
    values = weekly_series()
    issue = np.array([400])
    before = BASELINES[name](values, issue)
    changed = values.copy()
    changed[400:] *= 3
    np.testing.assert_array_equal(BASELINES[name](changed, issue), before)


def test_baselines_refuse_too_short_a_history():
    with pytest.raises(ValueError, match="168 hours"):
        persist_168h(np.ones(300), np.array([100]))
