import asyncio

import numpy as np
import pytest

from cenas_forecaster.series import parse_time
from cenas_forecaster.sources import (
    ElectricityMapsSource,
    ReplaySource,
    SourceUnavailable,
    UKCarbonIntensitySource,
    WattTimeSource,
)
from cenas_forecaster.traces import load_shipped

START = parse_time("2021-07-01")
FAST = {"retries": 2, "backoff_seconds": 0.001, "timeout_seconds": 5}


def expected(upstream, start, hours):
    s = upstream.series
    i = s.index_of(start)
    return s.values[i : i + hours]


def fetch(source, start, end):
    async def go():
        try:
            return await source.hourly(start, end)
        finally:
            await source.aclose()

    return asyncio.run(go())


def test_electricitymaps_reads_past_range_in_10_day_chunks(upstream):
    src = ElectricityMapsSource("gb", "GB", upstream.em_key, base_url=upstream.url, **FAST)
    hours = 25 * 24
    got = fetch(src, START, START + hours * 3600)
    np.testing.assert_allclose(got.values, expected(upstream, START, hours))
    assert not got.filled.any()
    assert len(upstream.requests) == 3
    assert all("zone=GB" in r for r in upstream.requests)


def test_electricitymaps_rejected_key_is_unavailable_without_retrying(upstream):
    src = ElectricityMapsSource("gb", "GB", "wrong", base_url=upstream.url, **FAST)
    with pytest.raises(SourceUnavailable, match="HTTP 401"):
        fetch(src, START, START + 24 * 3600)
    assert len(upstream.requests) == 1


def test_server_errors_are_retried_with_backoff(upstream):
    upstream.faults.extend([503, 500])
    src = ElectricityMapsSource("gb", "GB", upstream.em_key, base_url=upstream.url, **FAST)
    got = fetch(src, START, START + 24 * 3600)
    np.testing.assert_allclose(got.values, expected(upstream, START, 24))
    assert len(upstream.requests) == 3


def test_retries_run_out_into_unavailable(upstream):
    upstream.faults.extend([500, 502, 503, 504])
    src = ElectricityMapsSource("gb", "GB", upstream.em_key, base_url=upstream.url, **FAST)
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        fetch(src, START, START + 24 * 3600)


def test_unreachable_upstream_is_unavailable():
    src = UKCarbonIntensitySource("gb", base_url="http://127.0.0.1:9", **FAST)
    with pytest.raises(SourceUnavailable, match="ConnectError"):
        fetch(src, START, START + 3600)


def test_watttime_logs_in_averages_5_minute_moer_and_converts_units(upstream):
    src = WattTimeSource("caiso", "CAISO_NORTH", upstream.wt_user, upstream.wt_password, base_url=upstream.url,
                         **FAST)
    got = fetch(src, START, START + 48 * 3600)
    np.testing.assert_allclose(got.values, expected(upstream, START, 48), rtol=1e-3)
    assert upstream.logins == 1


def test_watttime_renews_a_rejected_token(upstream):
    src = WattTimeSource("caiso", "CAISO_NORTH", upstream.wt_user, upstream.wt_password, base_url=upstream.url,
                         **FAST)
    src.token = "expired"
    got = fetch(src, START, START + 24 * 3600)
    assert len(got) == 24
    assert upstream.logins == 1


def test_watttime_bad_credentials_are_unavailable(upstream):
    src = WattTimeSource("caiso", "CAISO_NORTH", "someone", "wrong", base_url=upstream.url, **FAST)
    with pytest.raises(SourceUnavailable, match="HTTP 403"):
        fetch(src, START, START + 24 * 3600)


def test_uk_averages_half_hours_and_treats_null_actuals_as_missing(upstream):
    upstream.null_after = START + 20 * 3600
    src = UKCarbonIntensitySource("gb", base_url=upstream.url, **FAST)
    got = fetch(src, START, START + 24 * 3600)
    np.testing.assert_allclose(got.values[:20], np.round(expected(upstream, START, 20)))
    np.testing.assert_array_equal(got.filled, [False] * 20 + [True] * 4)
    assert (got.values > 0).all()
    assert "/intensity/2021-07-01T00:00Z/2021-07-02T00:00Z" in upstream.requests[0]


def test_uk_all_missing_is_unavailable_not_zero(upstream):
    upstream.null_after = START
    src = UKCarbonIntensitySource("gb", base_url=upstream.url, **FAST)
    with pytest.raises(SourceUnavailable, match="no positive value"):
        fetch(src, START, START + 24 * 3600)


def test_replay_maps_the_wall_clock_onto_the_trace_with_offset_and_speed():
    series = load_shipped("CISO")
    src = ReplaySource("CISO", series, start_seconds=START, wall_anchor_seconds=1_000_000.0, speed=60.0)
    assert src.source_now(1_000_000.0) == START
    assert src.source_now(1_000_060.0) == START + 3600  # one wall minute = one trace hour
    assert src.served_time(START + 7200) == pytest.approx(1_000_120.0)
    assert src.served_seconds_per_hour == 60.0
    got = asyncio.run(src.hourly(START - 3600 * 5, START))
    i = series.index_of(START)
    np.testing.assert_array_equal(got.values, series.values[i - 5 : i])


def test_replay_loops_over_whole_weeks_or_runs_dry():
    series = load_shipped("CISO")
    after_end = series.end_seconds + 10 * 3600
    looped = ReplaySource("CISO", series, start_seconds=START, wall_anchor_seconds=0.0, loop=True)
    got = asyncio.run(looped.hourly(after_end, after_end + 3600))
    i = (after_end - series.start_seconds) // 3600 % looped.period_hours
    assert looped.period_hours % 168 == 0
    assert got.values[0] == series.values[i]
    dry = ReplaySource("CISO", series, start_seconds=START, wall_anchor_seconds=0.0, loop=False)
    with pytest.raises(SourceUnavailable):
        asyncio.run(dry.hourly(after_end, after_end + 3600))


@pytest.mark.parametrize("body", [{"data": "oops"}, {"data": [1, "x", None]}, [], {"data": [{"datetime": "soon"}]}])
def test_malformed_answers_are_unavailable_not_a_crash(upstream, body):
    upstream.malformed = body
    sources = [
        ElectricityMapsSource("gb", "GB", upstream.em_key, base_url=upstream.url, **FAST),
        UKCarbonIntensitySource("gb", base_url=upstream.url, **FAST),
        WattTimeSource("caiso", "CAISO_NORTH", upstream.wt_user, upstream.wt_password, base_url=upstream.url,
                       **FAST),
    ]
    for src in sources:
        with pytest.raises(SourceUnavailable):
            fetch(src, START, START + 24 * 3600)
