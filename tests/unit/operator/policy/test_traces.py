import gzip

import numpy as np
import pytest

from cenas_operator.policy.traces import TraceError, load_trace, resample

from .conftest import write_csv

TIMES = np.arange(
    np.datetime64("2021-01-01T00:00"), np.datetime64("2021-01-02T00:00"), np.timedelta64(1, "h")
)


def test_loads_hourly_csv_and_gzip(tmp_path):
    values = np.linspace(100, 200, len(TIMES))
    plain = write_csv(tmp_path / "t.csv", TIMES, values)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        trace = load_trace(path, "ci_direct")
        assert trace.step_minutes == 60
        assert trace.start == TIMES[0]
        np.testing.assert_allclose(trace.intensity, values)


def test_gap_is_an_error_naming_the_place(tmp_path):
    times = np.delete(TIMES, 5)
    path = write_csv(tmp_path / "gap.csv", times, np.full(len(times), 100.0))
    with pytest.raises(TraceError, match="gap or irregular step after 2021-01-01T04:00"):
        load_trace(path, "ci_direct")


@pytest.mark.parametrize("bad", ["0", "-3.5", "", "nan"])
def test_non_positive_or_missing_values_are_errors(tmp_path, bad):
    values = ["100"] * len(TIMES)
    values[7] = bad
    path = write_csv(tmp_path / "bad.csv", TIMES, values)
    with pytest.raises(TraceError, match="must be positive and finite"):
        load_trace(path, "ci_direct")


def test_missing_column_and_unreadable_file(tmp_path):
    path = write_csv(tmp_path / "t.csv", TIMES, np.full(len(TIMES), 100.0))
    with pytest.raises(TraceError, match="no column 'ci_lca'"):
        load_trace(path, "ci_lca")
    with pytest.raises(TraceError, match="cannot read"):
        load_trace(tmp_path / "absent.csv", "ci_direct")


def test_step_must_divide_an_hour(tmp_path):
    times = TIMES[0] + np.arange(10) * np.timedelta64(90, "m")
    path = write_csv(tmp_path / "t.csv", times, np.full(10, 100.0))
    with pytest.raises(TraceError, match="hourly or finer"):
        load_trace(path, "ci_direct")


def test_finer_trace_resamples_to_hourly_means_on_the_hour(tmp_path):
    times = np.datetime64("2021-01-01T00:45") + np.arange(4 * 10) * np.timedelta64(15, "m")
    values = np.arange(1, 41, dtype=float)
    trace = load_trace(write_csv(tmp_path / "q.csv", times, values), "ci_direct")
    assert trace.step_minutes == 15
    hourly = resample(trace, 60)
    assert hourly.start == np.datetime64("2021-01-01T01:00")  # the partial 00:45 quarter is dropped
    np.testing.assert_allclose(hourly.intensity, values[1:37].reshape(9, 4).mean(axis=1))
