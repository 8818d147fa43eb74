import json

import numpy as np
import pytest

from cenas_forecaster.__main__ import main
from cenas_forecaster.predictor import Predictor
from cenas_forecaster.series import format_time, load_series, parse_time
from cenas_forecaster.traces import load_shipped


@pytest.fixture(scope="module")
def trace_rows():
    """Hourly rows of a shipped trace, 2021-05-01 .. 2021-06-30, as (time text, value)."""
    s = load_shipped("PJM")
    i0 = s.index_of(parse_time("2021-05-01"))
    return [(format_time(s.time_of(i)), float(s.values[i])) for i in range(i0, i0 + 61 * 24)]


def write_csv(path, rows, column="ci"):
    path.write_text(f"datetime_utc,{column},other\n" + "".join(f"{t},{v},x\n" for t, v in rows))
    return path


def run(capsys, *argv):
    code = main(["evaluate", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_prints_the_protocol_report(tmp_path, capsys, trace_rows):
    path = write_csv(tmp_path / "t.csv", trace_rows)
    code, out, _ = run(capsys, "--trace", str(path), "--column", "ci", "--test-start", "2021-06-10",
                       "--test-end", "2021-06-19", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["issue_days"] == 10
    assert len(report["mape_by_day"]) == 4
    assert all(v > 0 for v in report["mape_by_day"])
    assert set(report["baselines"]) >= {"persist_24h", "persist_168h"}
    assert 0 <= report["interval_coverage_90"] <= 1
    # persist_24h recomputed by hand from the rows
    values = {t: v for t, v in trace_rows}
    apes = []
    for d in range(10):
        day = parse_time("2021-06-10") + d * 86_400
        apes.append(np.mean([abs(values[format_time(day + h * 3600)] - values[format_time(day - 86_400 + h * 3600)])
                             / values[format_time(day + h * 3600)] for h in range(24)]))
    assert report["baselines"]["persist_24h"][0] == pytest.approx(100 * np.mean(apes), abs=1e-3)


def test_cli_human_output_lists_model_and_baselines(tmp_path, capsys, trace_rows):
    path = write_csv(tmp_path / "t.csv", trace_rows)
    code, out, _ = run(capsys, "--trace", str(path), "--column", "ci", "--test-start", "2021-06-20",
                       "--test-end", "2021-06-21")
    assert code == 0
    assert "model" in out and "persist_168h" in out and "coverage" in out


def test_gaps_are_filled_counted_and_not_scored(tmp_path, capsys, trace_rows):
    rows = [r for n, r in enumerate(trace_rows) if not 1000 <= n < 1010]  # 10 hours missing
    path = write_csv(tmp_path / "t.csv", rows)
    code, out, err = run(capsys, "--trace", str(path), "--column", "ci", "--test-start", "2021-06-10",
                         "--test-end", "2021-06-12", "--json")
    assert code == 0
    assert json.loads(out)["repairs"]["filled_hours"] == 10
    assert "'filled_hours': 10" in err


def test_forecasts_do_not_depend_on_data_after_the_issue_time():
    s = load_shipped("ISNE")
    predictor = Predictor.load()
    issue = np.array([s.index_of(parse_time("2021-09-01"))])
    before = predictor.quantiles(s, issue)
    values = s.values.copy()
    values[issue[0]:] *= 5
    after = predictor.quantiles_of(values, s.start_seconds, issue)
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "co2"], "no column 'co2'"),
        (["--test-start", "2021-05-05"], "needs 14 days of history"),
        (["--test-end", "2021-06-29"], "needs actual values up to 2021-07-03"),
        (["--test-start", "2021-06-10T05:00"], "is not a date"),
        (["--test-start", "2021-06-12", "--test-end", "2021-06-11"], "before --test-start"),
    ],
)
def test_cli_errors_are_clear_and_exit_2(tmp_path, capsys, trace_rows, args, message):
    path = write_csv(tmp_path / "t.csv", trace_rows)
    base = {"--column": "ci", "--test-start": "2021-06-10", "--test-end": "2021-06-12"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["--trace", str(path)] + [x for kv in base.items() for x in kv] + ["--json"]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_missing_file_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "--trace", str(tmp_path / "nope.csv"), "--column", "ci", "--test-start",
                       "2021-06-10", "--test-end", "2021-06-12")
    assert code == 2
    assert "nope.csv" in err


def test_sub_hourly_trace_gives_the_same_scores_as_its_hourly_average(tmp_path, capsys, trace_rows):
    half = []
    for t, v in trace_rows:  # two half-hour rows whose mean is the hourly value
        half += [(t, v * 0.9), (format_time(parse_time(t) + 1800), v * 1.1)]
    hourly = write_csv(tmp_path / "h.csv", trace_rows)
    sub = write_csv(tmp_path / "s.csv", half)
    argv = ["--column", "ci", "--test-start", "2021-06-10", "--test-end", "2021-06-11", "--json"]
    _, out_h, _ = run(capsys, "--trace", str(hourly), *argv)
    _, out_s, _ = run(capsys, "--trace", str(sub), *argv)
    a, b = json.loads(out_h), json.loads(out_s)
    assert b["repairs"]["averaged_sub_hourly_rows"] == len(trace_rows)
    np.testing.assert_allclose(a["mape_by_day"], b["mape_by_day"], rtol=1e-6)
    assert load_series(sub, "ci").values[0] == pytest.approx(trace_rows[0][1])


def test_filled_hours_are_left_out_of_the_score(tmp_path, capsys, trace_rows):
    # hours 06-12 12:00 .. 18:00 are missing (dropped rows or empty cells): the same hours the forecasts of
    # 06-12 score in Day 1; after them the model and baselines see the same repaired history either way
    gap = range(1020, 1027)
    dropped = write_csv(tmp_path / "d.csv", [r for n, r in enumerate(trace_rows) if n not in gap])
    (tmp_path / "e.csv").write_text("datetime_utc,ci\n" + "".join(
        f"{t},{'' if n in gap else v}\n" for n, (t, v) in enumerate(trace_rows)))
    argv = ["--column", "ci", "--test-start", "2021-06-12", "--test-end", "2021-06-12", "--json"]
    reports = []
    for path in (dropped, tmp_path / "e.csv", write_csv(tmp_path / "full.csv", trace_rows)):
        code, out, _ = run(capsys, "--trace", str(path), *argv)
        assert code == 0
        reports.append(json.loads(out))
    assert reports[0]["mape_by_day"] == reports[1]["mape_by_day"]
    assert reports[0]["baselines"]["persist_24h"][0] != reports[2]["baselines"]["persist_24h"][0]
