import gzip

import numpy as np
import pytest

from cenas_forecaster.series import TraceError, fill_from_past, load_series, parse_time, points_to_grid


def write(tmp_path, text, name="trace.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_an_hourly_column(tmp_path):
    path = write(tmp_path, "datetime_utc,ci,other\n2021-01-01 00:00,100,1\n2021-01-01 01:00,110,2\n")
    s = load_series(path, "ci")
    assert s.start_seconds == parse_time("2021-01-01T00:00:00Z")
    np.testing.assert_array_equal(s.values, [100, 110])
    assert not s.filled.any()
    assert s.repairs.filled_hours == 0


def test_reads_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"datetime_utc,ci\n2021-01-01T00:00:00Z,5\n2021-01-01T01:00:00Z,7\n"))
    np.testing.assert_array_equal(load_series(path, "ci").values, [5, 7])


def test_averages_sub_hourly_rows_to_hours(tmp_path):
    rows = "".join(f"2021-01-01T{h:02d}:{m:02d}:00Z,{v}\n" for h, m, v in
                   [(0, 0, 100), (0, 30, 200), (1, 0, 300), (1, 30, 500)])
    s = load_series(write(tmp_path, "datetime_utc,ci\n" + rows), "ci")
    np.testing.assert_array_equal(s.values, [150, 400])
    assert s.repairs.averaged_sub_hourly_rows == 2


def test_short_gaps_repeat_the_last_value_and_are_counted(tmp_path):
    text = "datetime_utc,ci\n2021-01-01 00:00,100\n2021-01-01 03:00,400\n2021-01-01 04:00,\n2021-01-01 05:00,600\n"
    s = load_series(write(tmp_path, text), "ci")
    np.testing.assert_allclose(s.values, [100, 100, 100, 400, 400, 600])
    np.testing.assert_array_equal(s.filled, [False, True, True, False, True, False])
    assert s.repairs.filled_hours == 3
    assert s.repairs.empty_values == 1


def test_long_gaps_repeat_the_day_before_and_never_use_later_values():
    hourly = 100 + np.arange(60, dtype=float)
    hourly[30:40] = np.nan
    filled = fill_from_past(hourly)
    np.testing.assert_array_equal(filled[30:40], hourly[6:16])
    changed = hourly.copy()
    changed[40:] = 1e6
    np.testing.assert_array_equal(fill_from_past(changed)[:40], filled[:40])
    lead = np.array([np.nan, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(fill_from_past(lead), [5, 5, 5, 5])


def test_duplicates_and_unsorted_rows_are_repaired_and_counted(tmp_path):
    text = "datetime_utc,ci\n2021-01-01 01:00,300\n2021-01-01 00:00,100\n2021-01-01 00:00,200\n"
    s = load_series(write(tmp_path, text), "ci")
    np.testing.assert_allclose(s.values, [150, 300])
    assert s.repairs.duplicate_rows == 1
    assert s.repairs.unsorted_rows > 0


def test_non_positive_values_are_missing_never_zero(tmp_path):
    text = "datetime_utc,ci\n2021-01-01 00:00,100\n2021-01-01 01:00,0\n2021-01-01 02:00,-5\n2021-01-01 03:00,400\n"
    s = load_series(write(tmp_path, text), "ci")
    assert (s.values > 0).all()
    np.testing.assert_allclose(s.values, [100, 100, 100, 400])
    assert s.repairs.non_positive_values == 2
    assert s.filled.sum() == 2


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("datetime_utc,ci\n2021-01-01 00:00,1\n", "co2", "no column 'co2'; the value columns are: ci"),
        ("time,ci\n2021-01-01 00:00,1\n", "ci", "no 'datetime_utc' column"),
        ("datetime_utc,ci\nyesterday,1\n", "ci", "line 2: cannot parse the time"),
        ("datetime_utc,ci\n2021-01-01 00:00,abc\n", "ci", "line 2: 'abc'"),
        ("datetime_utc,ci\n2021-01-01 00:00,inf\n", "ci", "not a finite number"),
        ("datetime_utc,ci\n2021-01-01 00:00,0\n2021-01-01 01:00,-1\n", "ci", "no positive values"),
        ("datetime_utc,ci\n", "ci", "no rows"),
        ("", "ci", "empty"),
        ("datetime_utc,ci\n2021-01-01 00:00,1\n2021-01-01 02:00,1\n2021-01-01 04:00,1\n", "ci", "coarser than hourly"),
    ],
)
def test_bad_traces_are_clear_errors(tmp_path, text, column, message):
    with pytest.raises(TraceError, match=message):
        load_series(write(tmp_path, text), column)


def test_points_to_grid_flags_hours_without_data_and_carries_edges():
    t0 = parse_time("2021-01-01")
    times = np.array([t0 + 3600, t0 + 3600 + 1800, t0 + 7200])
    grid = points_to_grid(times, np.array([10.0, 20.0, np.nan]), t0, t0 + 4 * 3600)
    np.testing.assert_allclose(grid.values, [15, 15, 15, 15])  # the first value backwards, the last forwards
    np.testing.assert_array_equal(grid.filled, [True, False, True, True])
    with pytest.raises(TraceError):
        points_to_grid(times, np.array([np.nan, 0.0, -1.0]), t0, t0 + 4 * 3600)
