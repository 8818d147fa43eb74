"""bench/dashboard/promql_eval.py: the PromQL subset of the dashboard on hand-made series, and every
query of the shipped dashboard on a few recorded `make demo` scrapes (tests/unit/bench/data)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = Path(__file__).parent / "data" / "metrics-sample.jsonl"
DASHBOARD = ROOT / "charts" / "cenas" / "dashboards" / "cenas-overview.json"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


pe = _load("cenas_bench_promql_eval", ROOT / "bench" / "dashboard" / "promql_eval.py")


def exposition(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def recording(scrapes: list[tuple[float, str]]):
    return pe.load_recording(json.dumps({"time": t, "exposition": [text]}) for t, text in scrapes)


def vector(value) -> dict:
    """{frozen label dict without job: value}, for comparisons."""
    assert isinstance(value, dict), value
    return {tuple(p for p in labels if p[0] != "job"): v for labels, v in value.items()}


COUNTER = "# TYPE c counter\n"


@pytest.fixture
def counter_with_reset():
    # c{a="x"}: 0, 10, 20, then the process restarts: 5, 15 (scrapes every 10 s)
    values = [0, 10, 20, 5, 15]
    return recording([(1000 + 10 * i, exposition(COUNTER.strip(), f'c_total{{a="x"}} {v}'))
                      for i, v in enumerate(values)])


def test_rate_and_increase_count_a_counter_reset(counter_with_reset):
    # samples in (1000, 1040]: 10, 20, 5, 15 -> 15 - 10 + 20 (reset) = 25 over 30 s, extrapolated to the
    # window's edges: start 10 s away (< 1.1 x 10 s average step), end on the last sample -> x 40/30
    increase = pe.evaluate("increase(c_total[40s])", counter_with_reset, 1040)
    assert vector(increase) == {(("a", "x"),): pytest.approx(25 * 40 / 30)}
    rate = pe.evaluate("rate(c_total[40s])", counter_with_reset, 1040)
    assert vector(rate) == {(("a", "x"),): pytest.approx(25 / 30)}
    # without the reset the same window would have said 15 - 10 = 5: the reset is counted
    assert pe.extrapolated_delta([(0, 10), (10, 20), (20, 5)], -10, 20, True, False) > 0


def test_rate_needs_two_samples_and_drops_the_metric_name(counter_with_reset):
    assert pe.evaluate("rate(c_total[5s])", counter_with_reset, 1040) == {}
    (labels,) = pe.evaluate("rate(c_total[1m])", counter_with_reset, 1040)
    assert "__name__" not in dict(labels)


def test_increase_over_the_whole_range_extrapolates_to_zero_at_the_start():
    # a counter first seen at 4 (it started between scrapes): extrapolation stops where it was 0
    rec = recording([(100 + 10 * i, exposition(COUNTER.strip(), f"c_total {v}"))
                     for i, v in enumerate([4, 8, 12, 16])])
    # samples 100..130, window (40, 130]: the start is 60 s away, but the counter was 0 about
    # 30 s x 4 / 12 = 10 s before the first sample (within 1.1 x the 10 s step): 12 x (30 + 10) / 30 = 16
    assert vector(pe.evaluate("increase(c_total[90s])", rec, 130)) == {(): pytest.approx(16.0)}
    # a counter that does not start near 0 is extrapolated by half a step: 12 x (30 + 5) / 30 = 14
    assert pe.extrapolated_delta([(100, 40), (110, 44), (120, 48), (130, 52)], 40, 130, True, False) == (
        pytest.approx(14.0))
    variables = pe.grafana_variables(rec)
    expr = pe.substitute('sum(increase(c_total{x=~"$namespace"}[$__range]))', variables)
    assert expr == 'sum(increase(c_total{x=~".*"}[31000ms]))'
    # window (99, 130]: every sample; 1 s to the start, within the threshold -> (16 - 4) x 31 / 30
    assert pe.evaluate(expr, rec, 130) == {(): pytest.approx(12 * 31 / 30)}


def test_sum_and_max_by_labels_and_vector_arithmetic():
    text = exposition(
        "# TYPE g gauge",
        'g{ns="a",s="1"} 1', 'g{ns="a",s="2"} 2', 'g{ns="b",s="1"} 4',
        "# TYPE h gauge",
        'h{ns="a",s="1"} 2', 'h{ns="a",s="2"} 8', 'h{ns="c",s="1"} 1',
    )
    rec = recording([(0, text)])
    assert vector(pe.evaluate("sum by (ns) (g)", rec, 0)) == {(("ns", "a"),): 3.0, (("ns", "b"),): 4.0}
    assert pe.evaluate("sum(g)", rec, 0) == {(): 7.0}
    assert vector(pe.evaluate('max by (s) (g{ns=~"a|b"})', rec, 0)) == {(("s", "1"),): 4.0,
                                                                         (("s", "2"),): 2.0}
    assert vector(pe.evaluate('g{ns!="a"}', rec, 0)) == {(("__name__", "g"), ("ns", "b"), ("s", "1")): 4.0}
    # one-to-one matching on every label but the name; unmatched series drop out
    assert vector(pe.evaluate("1 - g / h", rec, 0)) == {(("ns", "a"), ("s", "1")): 0.5,
                                                        (("ns", "a"), ("s", "2")): 0.75}
    assert pe.evaluate("sum(g) * 3600 - time()", rec, 10) == {(): 7 * 3600 - 10}
    assert pe.evaluate("-(2 ^ 3) % 5", rec, 0) == -3.0
    assert math.isnan(vector(pe.evaluate("sum(g) * 0 / 0", rec, 0))[()])


def test_selectors_honour_staleness_and_lookback():
    rec = recording([(0, exposition("# TYPE g gauge", "g 1", "k 1")), (10, exposition("# TYPE k gauge", "k 2"))])
    assert vector(pe.evaluate("g", rec, 5)) == {(("__name__", "g"),): 1.0}
    assert pe.evaluate("g", rec, 10) == {}  # gone from the scrape at 10: stale
    assert vector(pe.evaluate("k", rec, 200)) == {(("__name__", "k"),): 2.0}
    assert pe.evaluate("k", rec, 10 + 301) == {}  # past the 5 minute lookback


def test_histogram_quantile():
    buckets = {"0.1": 10, "0.5": 30, "1.0": 40, "+Inf": 40}
    text = exposition("# TYPE d histogram",
                      *(f'd_bucket{{le="{le}",route="r"}} {n}' for le, n in buckets.items()),
                      'd_count{route="r"} 40', 'd_sum{route="r"} 9')
    rec = recording([(0, text)])
    # rank 0.95 x 40 = 38, in the (0.5, 1.0] bucket holding 10: 0.5 + 0.5 x (38 - 30) / 10
    assert vector(pe.evaluate("histogram_quantile(0.95, sum by (le) (d_bucket))", rec, 0)) == {
        (): pytest.approx(0.9)}
    assert vector(pe.evaluate("histogram_quantile(0.25, d_bucket)", rec, 0)) == {
        (("route", "r"),): pytest.approx(0.1 + 0.4 * (10 - 10) / 20)}
    # in the +Inf bucket: the highest finite bound; no observations: NaN
    assert pe.bucket_quantile(1.0, [(0.5, 1), (math.inf, 2)]) == 0.5
    assert math.isnan(pe.bucket_quantile(0.5, [(0.5, 0), (math.inf, 0)]))


@pytest.mark.parametrize("expr", [
    "topk(3, g)",
    "abs(g)",
    "g > 1",
    "g offset 5m",
    "g and h",
    "g / on(ns) group_left h",
    "rate(g[1m:10s])",
])
def test_unsupported_promql_raises_naming_the_expression(expr):
    rec = recording([(0, exposition("# TYPE g gauge", 'g{ns="a"} 1', "# TYPE h gauge", 'h{ns="a"} 1'))])
    with pytest.raises(pe.UnsupportedPromQL, match="unsupported PromQL in") as err:
        pe.evaluate(expr, rec, 0)
    assert expr.split("(")[0].split()[0] in str(err.value)
    with pytest.raises(pe.UnsupportedPromQL, match=r"\$__nope"):
        pe.substitute("rate(g[$__nope])", {})


@pytest.fixture(scope="module")
def sample():
    with SAMPLE.open() as lines:
        return pe.load_recording(lines)


def test_the_sample_is_a_small_recording(sample):
    assert SAMPLE.stat().st_size < 200_000
    assert len(sample.times) >= 5
    assert {dict(labels)["job"] for labels in sample.series} == set(pe.DEFAULT_JOBS)


def test_every_dashboard_query_evaluates_on_recorded_metrics(sample):
    dashboard = json.loads(DASHBOARD.read_text())
    variables = pe.grafana_variables(sample)
    targets = pe.dashboard_targets(dashboard)
    assert len(targets) >= 15
    empty = []
    for _panel, target in targets:
        expr = pe.substitute(target["expr"], variables)
        series = pe.evaluate_range(expr, sample)
        if not series:
            empty.append(target["expr"])
    # the forecaster's upstream failure counter has no series until a source read fails
    assert empty == ["sum by (location, source) (rate(cenas_forecaster_source_failures_total[$__rate_interval]))"]
