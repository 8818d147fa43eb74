import numpy as np

from cenas_operator.policy import baselines

from .test_features import make_input


def test_greedy_runs_in_the_cleanest_intervals_and_splits_the_marginal_one():
    med = np.array([300, 100, 500, 200, 400, 600] + [10.0] * 90)
    # 6 GPU-hours on 4 GPUs over 6 intervals: 1.5 intervals -> the cleanest (100) full, 200 half
    shifted = [np.roll(med[:6], -k).tolist() + [10.0] * 90 for k in range(6)]
    proposals = baselines.greedy_forecast(
        make_input(np.array(shifted), remaining=6.0, steps_left=6 - np.arange(6) * 0)
    )
    # lead 0 of row k is med[k]
    np.testing.assert_array_equal(proposals, [0, 4, 0, 2, 0, 0])


def test_threshold_runs_below_the_window_median():
    rows = np.array([[100.0] + [200.0] * 95, [300.0] + [200.0] * 95])
    np.testing.assert_array_equal(baselines.threshold(make_input(rows, steps_left=10)), [4, 0])


def test_wait_awhile_starts_at_the_cleanest_contiguous_window_and_never_stops():
    med = np.array([500, 400, 100, 100, 100, 900, 900, 900, 900, 900] + [1.0] * 86)
    # 12 GPU-hours on 4 GPUs + 0.1 h restore: 3.1 intervals; the cleanest run starts at interval 2
    starts = [
        baselines.wait_awhile(make_input(med[k:].tolist() + [1.0] * k, remaining=12.0, steps_left=10 - k))[0]
        for k in range(3)
    ]
    assert starts == [0, 0, 4]
    running = make_input(np.full(96, 900.0), remaining=4.0, steps_left=10, gpus=4)
    assert baselines.wait_awhile(running)[0] == 4


def test_carbon_agnostic_runs_everything():
    assert baselines.carbon_agnostic(make_input(np.full((3, 96), 300.0)))[0] == 4
