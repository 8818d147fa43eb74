import numpy as np

from cenas_forecaster.adaptation import MIN_DAYS, adapt, point_corrections, stacking_features
from cenas_forecaster.baselines import persist_24h
from cenas_forecaster.forecasting import daily_forecasts
from cenas_forecaster.series import HourlySeries

DAYS = 300


def synthetic(seed: int = 0):
    """Daily issues over an hourly series, and forecasts whose median is yesterday's value times noise."""
    rng = np.random.default_rng(seed)
    hours = 336 + 24 * (DAYS + 4)
    values = 200 * np.exp(0.3 * np.sin(np.arange(hours) * 2 * np.pi / 24) + rng.normal(0, 0.1, hours))
    issues = 336 + 24 * np.arange(DAYS)
    leads = issues[:, None] + np.arange(96)
    median = values[leads - 24] * np.exp(rng.normal(0, 0.05, (DAYS, 96)))
    quantiles = np.stack([median * 0.8, median, median * 1.25], axis=-1)
    return values, issues, quantiles


def realised(values, issues):
    leads = issues[:, None] + np.arange(96)
    return values[leads], np.ones(leads.shape, dtype=bool)


def test_a_forecast_uses_no_value_from_its_issue_time_on():
    values, issues, quantiles = synthetic()
    before = adapt(values, issues, quantiles, (1, 0), *realised(values, issues))
    d = DAYS - 20
    changed, later = values.copy(), quantiles.copy()
    changed[issues[d] :] *= 3  # every value from the issue time of forecast d on
    later[d + 1 :] *= 2  # and the forecasts issued after it, which could see those values
    after = adapt(changed, issues, later, (1, 0), *realised(changed, issues))
    np.testing.assert_array_equal(after[: d + 1], before[: d + 1])
    assert not np.allclose(after[d + 1], before[d + 1])


def test_the_stacking_recovers_a_linear_error_and_waits_for_enough_days():
    rng = np.random.default_rng(2)
    features = np.concatenate([np.ones((DAYS, 96, 1)), rng.normal(0, 0.2, (DAYS, 96, 2))], axis=2)
    errors = features @ np.array([0.05, 0.5, -0.3])
    out = point_corrections(features, errors, 24 * np.arange(DAYS))
    assert (out[: MIN_DAYS[0]] == 0).all()
    assert (out[: MIN_DAYS[1] + 1, 24:] == 0).all()
    np.testing.assert_allclose(out[-50:], errors[-50:], atol=0.02)  # the ridge shrinks a little


def test_unobserved_errors_are_left_out_of_the_fit():
    rng = np.random.default_rng(3)
    features = rng.normal(0, 0.2, (DAYS, 96, 1))
    errors = 0.5 * features[..., 0]
    errors[::2] = np.nan  # half the actual values were never observed
    out = point_corrections(features, errors, 24 * np.arange(DAYS), min_days=(10, 10, 10, 10))
    np.testing.assert_allclose(out[-50:], 0.5 * features[-50:, :, 0], atol=0.02)


def test_features_are_log_ratios_to_the_median_and_yesterdays_error():
    values, issues, quantiles = synthetic()
    median = quantiles[..., 1]
    f = stacking_features(values, issues, median, quantiles[..., 0])
    assert f.shape == (DAYS, 96, 7)
    np.testing.assert_allclose(f[5, 3, 1], np.log(values[issues[5] - 1] / median[5, 3]))
    np.testing.assert_allclose(f[5, 3, 3], np.log(values[issues[5] - 24 + 3] / median[5, 3]))
    np.testing.assert_allclose(f[5, 3, 5], np.log(0.8))
    np.testing.assert_allclose(f[5, 0, 6], np.log(values[issues[5] - 1] / median[4, 23]))
    assert np.isnan(f[0, :, 6]).all()  # no forecast a day earlier


class PersistencePredictor:
    """Stands in for the network: quantiles around same-hour-yesterday, from the data before each issue."""

    quantile_levels = (0.05, 0.1, 0.5, 0.9, 0.95)
    median_index = 2

    def level_index(self, level: float) -> int:
        return self.quantile_levels.index(level)

    def quantiles(self, series: HourlySeries, issues: np.ndarray) -> np.ndarray:
        median = persist_24h(series.values, issues)
        return np.stack([median * f for f in (0.8, 0.85, 1.0, 1.15, 1.25)], axis=-1)


def test_an_adapted_and_calibrated_forecast_uses_no_value_from_its_issue_time_on():
    values, issues, _ = synthetic(4)
    series = HourlySeries(0, values, np.zeros(len(values), dtype=bool))
    before = daily_forecasts(PersistencePredictor(), series, issues, 250, calibration_days=28).quantiles
    changed = values.copy()
    changed[issues[270] :] *= 3
    series = HourlySeries(0, changed, np.zeros(len(values), dtype=bool))
    after = daily_forecasts(PersistencePredictor(), series, issues, 250, calibration_days=28).quantiles
    np.testing.assert_array_equal(after[:21], before[:21])
    assert not np.allclose(after[21], before[21])
