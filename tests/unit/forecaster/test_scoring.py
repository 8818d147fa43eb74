import numpy as np
import pytest

from cenas_forecaster.scoring import Summary, block_mape, interval_coverage, issue_times
from cenas_forecaster.series import load_series, parse_time
from cenas_forecaster.traces import DATA_DIR

# DACF (e-Energy'22), Table 4: mean day-ahead MAPE (%) over 184 issue days of 2021-07-01 .. 2021-12-31.
DACF_TABLE_4 = {"CISO": 7.41, "PJM": 3.30, "ERCO": 8.05, "ISNE": 4.44, "SE": 6.47, "DE": 9.08}


@pytest.mark.parametrize("region", sorted(DACF_TABLE_4))
def test_reproduces_dacf_table_4_from_the_shipped_forecasts(region):
    path = DATA_DIR / f"reference/dacf/{region}.csv.gz"
    actual = load_series(path, "ci_direct_actual")
    forecast = load_series(path, "ci_direct_forecast_dacf")
    assert actual.start_seconds == parse_time("2021-07-01")
    days = len(actual) // 24
    per_day = block_mape(actual.values[: days * 24].reshape(days, 24), forecast.values[: days * 24].reshape(days, 24))
    summary = Summary.of(per_day)
    assert summary.issue_days == 184
    assert round(summary.mean[0], 2) == DACF_TABLE_4[region]


def test_block_mape_is_the_mean_of_absolute_percentage_errors_per_block():
    actual = np.full((2, 48), 100.0)
    forecast = actual.copy()
    forecast[0, :24] = 110.0  # 10 % off all day 1 of issue 0
    forecast[1, 24:36] = 80.0  # 20 % off half of day 2 of issue 1
    out = block_mape(actual, forecast)
    np.testing.assert_allclose(out, [[10.0, 0.0], [0.0, 10.0]])


def test_block_mape_leaves_out_filled_hours_and_empty_blocks():
    actual = np.full((1, 48), 100.0)
    forecast = np.full((1, 48), 150.0)
    forecast[0, :12] = 100.0
    observed = np.ones((1, 48), dtype=bool)
    observed[0, 12:24] = False  # the bad half of day 1 was not observed
    observed[0, 24:] = False
    out = block_mape(actual, forecast, observed)
    assert out[0, 0] == 0.0
    assert np.isnan(out[0, 1])


def test_summary_statistics_over_issue_days_ignore_missing_blocks():
    per_day = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0], [100.0, 8.0]])
    s = Summary.of(per_day)
    assert s.mean == [27.25, 6.0]
    assert s.median == [4.0, 6.0]
    assert s.p90[0] == pytest.approx(np.percentile([1, 3, 5, 100], 90))
    assert s.issue_days == 4


def test_issue_times_are_daily_midnights_inclusive():
    days = issue_times(parse_time("2021-07-01"), parse_time("2021-12-28"))
    assert len(days) == 181
    assert all(d % 86_400 == 0 for d in days)
    with pytest.raises(ValueError):
        issue_times(parse_time("2021-07-01T01:00"), parse_time("2021-07-02"))
    with pytest.raises(ValueError):
        issue_times(parse_time("2021-07-02"), parse_time("2021-07-01"))


def test_interval_coverage_counts_only_observed_points():
    actual = np.array([1.0, 2.0, 3.0, 10.0])
    observed = np.array([True, True, True, False])
    assert interval_coverage(actual, actual - 0.5, np.array([2.0, 2.0, 2.0, 2.0]), observed) == pytest.approx(2 / 3)
