"""Params and FLOPs of NB201 networks against the published NAS-Bench-201 values."""

import pytest

from cenas_spaces import ArchError, Macro, all_archs, network_cost, parse_arch

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NO_WEIGHTS = "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|"
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
FIRST = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.mark.parametrize(
    ("arch", "params_mb", "mflops", "tol"),
    [
        # NAS-Bench-201 (ICLR 2020), CIFAR-10: the extremes of the space (published to 2 decimals)
        # and the best cell, then the API's cost info of the benchmark's first cell (to 6 digits).
        (ALL_CONV3, 1.53, 220.11, 0.01),
        (NO_WEIGHTS, 0.07, 7.78, 0.01),
        (BEST_CIFAR10, 1.07, 153.27, 0.01),
        (FIRST, 0.129306, 15.64737, 1e-6),
    ],
)
def test_matches_published_nb201_costs(arch, params_mb, mflops, tol):
    cost = network_cost(parse_arch(arch))
    assert cost.params_millions == pytest.approx(params_mb, abs=tol)
    assert cost.flops_millions == pytest.approx(mflops, abs=tol)


def test_range_over_the_whole_space():
    costs = [network_cost(a) for a in all_archs()]
    assert min(c.params for c in costs) == network_cost(parse_arch(NO_WEIGHTS)).params
    assert max(c.params for c in costs) == network_cost(parse_arch(ALL_CONV3)).params
    assert max(c.flops for c in costs) == network_cost(parse_arch(ALL_CONV3)).flops


def test_each_conv_edge_adds_its_weights_in_every_cell():
    base = parse_arch(NO_WEIGHTS)
    one = parse_arch(NO_WEIGHTS.replace("skip_connect~0|+", "nor_conv_1x1~0|+", 1))
    m = Macro(channels=8, cells_per_stage=2, num_classes=10, input_channels=1, input_size=8)
    delta = network_cost(one, m).params - network_cost(base, m).params
    # conv C*C + BN 2C, per cell, for C = 8, 16, 32
    assert delta == 2 * sum(c * c + 2 * c for c in (8, 16, 32))


def test_classifier_and_input_shape_change_the_cost():
    arch = parse_arch(BEST_CIFAR10)
    c10 = network_cost(arch)
    c100 = network_cost(arch, Macro(num_classes=100))
    assert c100.params - c10.params == 90 * 64 + 90
    small = network_cost(arch, Macro(input_size=16))
    assert small.params == c10.params
    assert small.flops * 4 == pytest.approx(c10.flops, rel=1e-3)


def test_macro_validation():
    with pytest.raises(ArchError, match="divisible by 4"):
        Macro(input_size=30)
    with pytest.raises(ArchError, match="positive integer"):
        Macro(channels=0)
