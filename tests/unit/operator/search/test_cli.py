"""The benchmark CLI, run for real on a tiny table and a synthetic trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cenas_operator.search.__main__ import main
from cenas_operator.search.benchmark import METHODS, BenchmarkConfig, load_benchmark_trace, make_window

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, small_table):
    d = tmp_path_factory.mktemp("cli")
    table = d / "table.csv"
    lines = ["arch,acc_c10"] + [f"{a},{x}" for a, x in zip(small_table.archs, small_table.accuracy, strict=True)]
    table.write_text("\n".join(lines) + "\n")
    hours = np.arange(24 * 8)
    ci = 300 + 120 * np.sin(2 * np.pi * hours / 24) + 10 * np.cos(hours)
    times = np.datetime64("2021-03-01T00:00") + hours.astype("timedelta64[h]")
    trace = d / "trace.csv"
    trace.write_text("datetime_utc,ci\n" + "\n".join(f"{t},{v:.2f}" for t, v in zip(times, ci, strict=True)) + "\n")
    return table, trace


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", "cenas_operator.search", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=240, check=False)


TINY = ["--seeds", "1", "--starts", "2", "--horizon-hours", "12", "--max-gpus", "2", "--full-training-epochs", "20",
        "--budget-gpu-hours", "4"]


def test_benchmark_prints_the_json_interface(inputs, tmp_path):
    table, trace = inputs
    plot = tmp_path / "hv.png"
    p = cli("benchmark", "--table", str(table), "--accuracy-column", "acc_c10", "--trace", str(trace),
            "--column", "ci", "--start", "2021-03-04", "--end", "2021-03-08", "--json", "--plot", str(plot),
            "--predictor-features", "onehot", "--predictor-min-results", "3", "--proposal", "random", *TINY)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    setup = out["setup"]
    assert out["target_hypervolume"] == pytest.approx(setup["target_fraction"] * setup["true_front_hypervolume"])
    assert set(out["methods"]) == set(METHODS)
    for name, m in out["methods"].items():
        for key in ("carbon_to_target_grams", "hypervolume_at_budget", "gpu_hours"):
            assert key in m, (name, key)
        assert 0 <= m["hypervolume_at_budget"] <= setup["true_front_hypervolume"] + 1e-9
        g = m["carbon_to_target_grams"]
        assert g is None or g > 0
        if g is not None and m["gpu_hours"] is not None:
            # every GPU-second charged: at least the cleanest intensity of the window x GPU-hours x power
            assert g >= m["gpu_hours"] * setup["power_watts"] / 1000 * 170 - 1e-6
            assert m["carbon_to_target_grams_cenas_accounting"] <= g + 1e-6
    assert out["methods"]["oneshot"]["carbon_to_target_grams_cenas_accounting"] in (None, 0.0)
    assert len(setup["starts"]) == 2 and setup["horizon_hours"] == 12
    assert setup["search"]["predictor_features"] == "onehot" and setup["search"]["predictor_min_results"] == 3
    assert setup["search"]["proposal"] == "random"
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_text_output_and_method_subset(inputs, capsys):
    table, trace = inputs
    code = main(["benchmark", "--table", str(table), "--accuracy-column", "acc_c10", "--trace", str(trace),
                 "--column", "ci", "--start", "2021-03-04", "--end", "2021-03-08", "--methods", "cenas,random,cenas_always,cenas_ppo",
                 "--planned-trainings", "30", *TINY])
    out = capsys.readouterr().out
    assert code == 0
    assert "target hypervolume" in out and "random_over_cenas" in out and "cenas_always_over_cenas" in out
    assert "cenas_ppo_over_cenas" in out  # the shipped PPO drove a simulated search
    assert "vanilla" not in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--column": "nope"}, "no column 'nope'"),
        ({"--accuracy-column": "nope"}, "no column 'nope'"),
        ({"--start": "2021-03-01"}, "forecasts use only the past"),
        ({"--start": "2022-01-01", "--end": "2022-01-05"}, "holds 0 hours"),
        ({"--start": "March"}, "dates YYYY-MM-DD"),
        ({"--methods": "cenas,greedy"}, "methods must be among"),
        ({"--planned-trainings": "0"}, "planned_trainings must be >= 1"),
        ({"--predictor-min-results": "1"}, "predictor_min_results must be >= 2"),
    ],
)
def test_bad_input_exits_2_with_the_reason(inputs, capsys, change, message):
    table, trace = inputs
    args = {"--table": str(table), "--accuracy-column": "acc_c10", "--trace": str(trace), "--column": "ci",
            "--start": "2021-03-04", "--end": "2021-03-08"}
    args.update(change)
    flat = [x for kv in args.items() for x in kv]
    code = main(["benchmark", *flat, "--json", *TINY])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err and captured.out == ""


def test_forecast_source_reaches_the_carbon_aware_methods_only(inputs, tmp_path, capsys):
    table, _ = inputs
    hours = np.arange(24 * 20)  # the model needs 14 days of trace before its first forecast
    ci = 300 + 120 * np.sin(2 * np.pi * hours / 24) + 40 * np.sin(2 * np.pi * hours / 90)
    times = np.datetime64("2021-03-01T00:00") + hours.astype("timedelta64[h]")
    trace = tmp_path / "long.csv"
    trace.write_text("datetime_utc,ci\n" + "\n".join(f"{t},{v:.2f}" for t, v in zip(times, ci, strict=True)) + "\n")
    args = ["benchmark", "--table", str(table), "--accuracy-column", "acc_c10", "--trace", str(trace), "--column", "ci",
            "--start", "2021-03-16", "--end", "2021-03-18", "--json", "--methods", "vanilla,heuristic", *TINY]
    out = {}
    for source in ("history", "model"):
        assert main([*args, "--forecasts", source]) == 0
        out[source] = json.loads(capsys.readouterr().out)
    assert out["history"]["setup"]["forecasts"] == out["history"]["setup"]["forecasts_version"] == "history"
    assert out["model"]["setup"]["forecasts"] == "model"
    assert out["model"]["setup"]["forecasts_version"].startswith("forecaster-")
    runs = {s: r["methods"]["vanilla"]["per_run_carbon_to_target_grams"] for s, r in out.items()}
    assert runs["history"] == runs["model"]  # vanilla never reads a forecast
    windows = {s: make_window(load_benchmark_trace(trace, "ci"), "2021-03-16", "2021-03-18",
                              BenchmarkConfig(horizon_hours=12, forecasts=s)) for s in ("history", "model")}
    rows = slice(windows["model"].first, windows["model"].last)
    assert not np.isnan(windows["model"].forecasts[rows]).any()
    assert not np.allclose(windows["model"].forecasts[rows], windows["history"].forecasts[rows])

    assert main([*args[:9], "--start", "2021-03-05", "--end", "2021-03-08", "--json", *TINY, "--forecasts", "model"]) == 2
    assert "at least 14 days after the trace begins" in capsys.readouterr().err
