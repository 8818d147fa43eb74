"""The benchmark and train CLIs, run for real on small inputs."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cenas_operator.policy.__main__ import main
from cenas_operator.policy.runtime import DEFAULT_WEIGHTS, PolicyRuntime

from .conftest import diurnal, write_csv

POLICIES = ("ppo", "oracle", "carbon_agnostic", "threshold", "wait_awhile", "greedy_forecast")
FIELDS = {"emissions_grams", "ratio_to_oracle", "savings_vs_agnostic", "deadline_misses", "suspensions"}


@pytest.fixture(scope="module")
def trace_csv(tmp_path_factory):
    times = np.datetime64("2021-06-20T00:00") + np.arange(24 * 26) * np.timedelta64(1, "h")
    return write_csv(
        tmp_path_factory.mktemp("trace") / "small.csv",
        times,
        diurnal(len(times), seed=11, noise=8.0).round(2),
    )


def test_benchmark_cli_prints_the_issue_json(trace_csv):
    cmd = [
        sys.executable,
        "-m",
        "cenas_operator.policy",
        "benchmark",
        "--trace",
        str(trace_csv),
        "--column",
        "ci_direct",
        "--start",
        "2021-07-01",
        "--end",
        "2021-07-14",
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout)
    assert set(result) == {"policies"}
    assert tuple(result["policies"]) == POLICIES
    rows = result["policies"]
    for row in rows.values():
        assert set(row) == FIELDS
    assert rows["oracle"]["ratio_to_oracle"] == 1.0
    assert rows["carbon_agnostic"]["savings_vs_agnostic"] == 0.0
    for name in POLICIES:
        assert rows[name]["emissions_grams"] >= rows["oracle"]["emissions_grams"]
        assert rows[name]["deadline_misses"] == 0
        saved = 1 - rows[name]["emissions_grams"] / rows["carbon_agnostic"]["emissions_grams"]
        assert rows[name]["savings_vs_agnostic"] == pytest.approx(saved, abs=1e-4)
    assert rows["carbon_agnostic"]["suspensions"] == 0 and rows["wait_awhile"]["suspensions"] == 0
    # a clear daily cycle: shifting work in time must pay
    assert rows["greedy_forecast"]["savings_vs_agnostic"] > 0.05


def test_benchmark_by_slack_adds_tables(trace_csv, capsys):
    argv = [
        "benchmark",
        "--trace",
        str(trace_csv),
        "--column",
        "ci_direct",
        "--start",
        "2021-07-01",
        "--end",
        "2021-07-14",
    ]
    assert main([*argv, "--json", "--by-slack", "--starts", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["by_slack"]) == {"1.25", "1.5", "2", "3", "4"}
    assert result["suite"]["workloads"] == 2 * 3 * 5
    tight, loose = result["by_slack"]["1.25"], result["by_slack"]["4"]
    assert loose["oracle"]["savings_vs_agnostic"] > tight["oracle"]["savings_vs_agnostic"]
    total = sum(result["by_slack"][s]["ppo"]["emissions_grams"] for s in result["by_slack"])
    assert total == pytest.approx(result["policies"]["ppo"]["emissions_grams"], rel=1e-6)
    assert main([*argv, "--starts", "2"]) == 0  # the human table
    assert "greedy_forecast" in capsys.readouterr().out


def bench(path, *extra, start="2021-07-01", end="2021-07-14"):
    return main(
        [
            "benchmark",
            "--trace",
            str(path),
            "--column",
            "ci_direct",
            "--start",
            start,
            "--end",
            end,
            "--json",
            *extra,
        ]
    )


def test_bad_traces_are_clear_errors(tmp_path, capsys):
    times = np.datetime64("2021-06-20T00:00") + np.arange(24 * 26) * np.timedelta64(1, "h")
    values = diurnal(len(times))
    gap = write_csv(tmp_path / "gap.csv", np.delete(times, 100), np.delete(values, 100))
    negative = write_csv(tmp_path / "neg.csv", times, np.where(np.arange(len(times)) == 50, -1.0, values))
    for path, message in ((gap, "gap or irregular step"), (negative, "must be positive")):
        assert bench(path) == 2
        assert message in capsys.readouterr().err
    good = write_csv(tmp_path / "good.csv", times, values)
    assert bench(good, start="2021-07-01", end="2021-07-03") == 2
    assert "window is too short" in capsys.readouterr().err
    assert bench(good, start="2022-01-01", end="2022-01-03") == 2
    assert "does not cover" in capsys.readouterr().err


def test_mismatched_weights_are_refused(tmp_path, capsys, trace_csv):
    shipped = PolicyRuntime.load().meta
    with np.load(DEFAULT_WEIGHTS) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["meta"] = np.array(json.dumps({**shipped, "features_version": "cenas-policy-features/v0"}))
    np.savez(tmp_path / "old.npz", **arrays)
    assert bench(trace_csv, "--weights", str(tmp_path / "old.npz")) == 2
    assert "trained on features 'cenas-policy-features/v0'" in capsys.readouterr().err


def test_train_cli_smoke(tmp_path):
    """The real training CLI with a tiny budget: it trains, selects and exports weights the runtime loads."""
    out = tmp_path / "w.npz"
    cmd = [
        sys.executable,
        "-m",
        "cenas_operator.policy",
        "train",
        "--regions",
        "SE",
        "--total-timesteps",
        "256",
        "--num-envs",
        "8",
        "--num-steps",
        "16",
        "--eval-every",
        "1",
        "--output",
        str(out),
        "--run-dir",
        str(tmp_path / "runs"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runtime = PolicyRuntime.load(out)
    assert runtime.meta["args"]["num_envs"] == 8 and runtime.meta["args"]["regions"] == ["SE"]
    assert runtime.meta["selection_iteration"] in (1, 2)
    assert runtime.meta["selection_score"] >= 1.0  # emissions over a lower bound of them
    logged = [
        json.loads(line)["tag"]
        for line in next((tmp_path / "runs").iterdir()).joinpath("scalars.jsonl").open()
    ]
    assert {"losses/value_loss", "losses/entropy", "charts/SPS", "charts/selection_score"} <= set(logged)


def test_benchmark_accepts_a_finer_trace(tmp_path, capsys):
    """A 15-minute trace is averaged to hourly decisions: the same suite, the same oracle accounting."""
    hourly = diurnal(24 * 30, seed=2, noise=8.0)  # the model's forecasts need 14 days before the window
    quarter = np.repeat(hourly, 4) * np.tile([0.9, 1.1, 0.95, 1.05], len(hourly))  # hourly means unchanged
    times = np.datetime64("2021-06-11T00:00") + np.arange(len(quarter)) * np.timedelta64(15, "m")
    fine = write_csv(tmp_path / "fine.csv", times, quarter.round(4))
    coarse = write_csv(tmp_path / "coarse.csv", times[::4], hourly.round(4))
    results = []
    for path in (fine, coarse):
        assert bench(path, "--starts", "1", "--by-slack", start="2021-07-01", end="2021-07-10") == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0]["suite"]["interval_minutes"] == 60
    for name in POLICIES:
        a, b = (r["policies"][name]["emissions_grams"] for r in results)
        assert a == pytest.approx(b, rel=1e-6)


def test_forecast_sources_are_recorded_and_a_bad_one_is_a_clear_error(trace_csv, capsys):
    suites = {}
    for source in ("model", "history"):
        assert bench(trace_csv, "--by-slack", "--starts", "1", "--forecasts", source) == 0
        suites[source] = json.loads(capsys.readouterr().out)["suite"]
    assert suites["model"]["forecasts"] == "model" and suites["model"]["forecasts_version"].startswith(
        "forecaster-"
    )
    assert suites["history"]["forecasts"] == suites["history"]["forecasts_version"] == "history"
    assert suites["model"]["first_arrival"] >= "2021-07-04"  # 14 days after the trace's first hour
    with pytest.raises(SystemExit) as exit_:
        bench(trace_csv, "--forecasts", "persistence")
    assert exit_.value.code == 2
    assert "invalid choice: 'persistence' (choose from 'model', 'history')" in capsys.readouterr().err
