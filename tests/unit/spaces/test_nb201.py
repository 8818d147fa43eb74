"""NB201 arch strings, validation, encodings and the degenerate-cell rule."""

import random

import pytest

from cenas_spaces import (
    EDGES,
    NUM_ARCHS,
    OPS,
    Arch,
    ArchError,
    all_archs,
    decode_unit,
    encode_onehot,
    encode_unit,
    format_arch,
    from_codes,
    from_index,
    is_degenerate,
    parse_arch,
    to_index,
)

GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

# Benchmark facts (NATS-Bench topology space, CIFAR-10 test accuracy after 200 epochs, %), from
# shared/data/nas/nb201_cifar10_test_accuracy.csv: cells the degenerate rule must call dead are exactly
# those stuck at chance (10 %).
NB201_ACCURACY = {
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|": 85.8633,
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|": 94.3733,
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|": 10.0,
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|": 10.0,
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|": None,
}


def test_parse_and_format_round_trip():
    arch = parse_arch(GOOD)
    assert arch.ops == (
        "nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect",
    )
    assert format_arch(arch) == GOOD
    assert str(arch) == GOOD
    assert arch.op(2, 1) == "avg_pool_3x3"
    assert parse_arch(f"  {GOOD}\n") == arch


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "must not be empty"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 nodes"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|none~0|none~1|none~2|", "node 2 must have 2 inputs"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'conv_5x5'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read from node 0"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "'op~j'"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "start and end with '|'"),
        ("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "integer j"),
    ],
)
def test_invalid_arch_strings_are_rejected_with_a_reason(text, fragment):
    with pytest.raises(ArchError, match="must") as err:
        parse_arch(text)
    assert fragment in str(err.value)


def test_arch_rejects_wrong_ops_directly():
    with pytest.raises(ArchError):
        Arch(("none",) * 5)
    with pytest.raises(ArchError):
        Arch(("none",) * 5 + ("conv",))
    with pytest.raises(ArchError):
        from_codes([0, 1, 2, 3, 4, 5])


def test_index_is_a_bijection_over_the_whole_space():
    archs = list(all_archs())
    assert len(archs) == NUM_ARCHS == 5**6
    assert len({a.ops for a in archs}) == NUM_ARCHS
    for i, arch in enumerate(archs):
        assert to_index(arch) == i
    for i in random.Random(0).sample(range(NUM_ARCHS), 200):
        assert to_index(from_index(i)) == i
    with pytest.raises(ArchError):
        from_index(NUM_ARCHS)


def test_unit_encoding_matches_ce_nas_and_decodes_back():
    arch = parse_arch(GOOD)
    assert encode_unit(arch) == (0.6, 0.6, 0.8, 0.2, 0.6, 0.2)
    for a in random.Random(1).sample(list(all_archs()), 300):
        assert decode_unit(encode_unit(a)) == a
    # any point of the cube decodes: each coordinate falls into its fifth of [0, 1]
    assert decode_unit([0.0, 0.19, 0.21, 0.59, 0.99, 1.0]).codes == (0, 0, 1, 2, 4, 4)
    with pytest.raises(ArchError):
        decode_unit([0.5] * 5)
    with pytest.raises(ArchError):
        decode_unit([1.5] * 6)


def test_onehot_has_one_bit_per_edge():
    vec = encode_onehot(parse_arch(GOOD))
    assert len(vec) == len(EDGES) * len(OPS)
    assert sum(vec) == len(EDGES)
    assert [vec[e * len(OPS):(e + 1) * len(OPS)].index(1) for e in range(len(EDGES))] == list(
        parse_arch(GOOD).codes
    )


def test_degenerate_cells_are_exactly_the_ones_at_chance_accuracy():
    for text, accuracy in NB201_ACCURACY.items():
        if accuracy is not None:
            assert is_degenerate(parse_arch(text)) == (accuracy == 10.0), text
    # a path 0 -> 1 -> 2 -> 3 through non-'none' edges keeps the cell alive
    assert not is_degenerate(parse_arch(next(t for t, a in NB201_ACCURACY.items() if a is None)))


def test_degenerate_count_over_the_space():
    # Count by brute force over paths, independently of is_degenerate's forward pass.
    def alive(arch):
        ok = arch.op(3, 0) != "none"
        ok |= arch.op(1, 0) != "none" and arch.op(3, 1) != "none"
        ok |= arch.op(2, 0) != "none" and arch.op(3, 2) != "none"
        ok |= arch.op(1, 0) != "none" and arch.op(2, 1) != "none" and arch.op(3, 2) != "none"
        return ok

    archs = list(all_archs())
    assert sum(is_degenerate(a) for a in archs) == sum(not alive(a) for a in archs)
