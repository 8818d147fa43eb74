"""Parameters and FLOPs of an NB201 network, from the architecture alone (pure, no torch).

The macro skeleton is NB201's: a 3x3 conv stem (no bias) + BN, three stages of ``cells_per_stage``
cells with ``channels``, 2x``channels`` and 4x``channels`` channels, a ResNet basic block with stride 2
between stages (3x3 conv, 3x3 conv, shortcut = 2x2 avg-pool + 1x1 conv), BN + ReLU, global average
pooling and a linear classifier. Cell ops: ``nor_conv_kxk`` = ReLU -> conv (no bias) -> BN (affine);
``skip_connect`` and ``avg_pool_3x3`` carry no weights (stride 1, same channels); ``none`` outputs zeros.

Conventions follow NAS-Bench-201's tables, so the numbers are comparable with its published values:
``params`` counts every learnable tensor element (convs, BN affine, linear weight and bias); ``flops``
counts multiply-accumulates of convolutions and the linear layer (plus one add per bias element) for one
image, and nothing for BN, ReLU, pooling or the additions inside the cell.
With the defaults (CIFAR-10 shape) the all-``nor_conv_3x3`` cell gives 1,531,546 params and
220,119,690 FLOPs, the weight-free cells 73,306 params and 7,783,050 FLOPs: NB201's 1.53 MB / 220.11 M
and 0.07 MB / 7.78 M extremes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cenas_spaces.nb201 import EDGES, Arch, ArchError

_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


@dataclass(frozen=True)
class Macro:
    """The network skeleton around the cell (NB201's CIFAR-10 defaults)."""

    channels: int = 16
    """Channels of the first stage (doubled at each of the 2 reductions)."""
    cells_per_stage: int = 5
    """Cells in each of the 3 stages (NB201: 5, so 15 cells)."""
    num_classes: int = 10
    input_channels: int = 3
    input_size: int = 32
    """Height = width of the input image; must be divisible by 4 (two stride-2 reductions)."""

    def __post_init__(self) -> None:
        for name in ("channels", "cells_per_stage", "num_classes", "input_channels", "input_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ArchError(f"{name} must be a positive integer, got {value!r}")
        if self.input_size % 4:
            raise ArchError(f"input_size must be divisible by 4, got {self.input_size}")

    @property
    def stage_channels(self) -> tuple[int, int, int]:
        return (self.channels, 2 * self.channels, 4 * self.channels)

    @property
    def stage_sizes(self) -> tuple[int, int, int]:
        return (self.input_size, self.input_size // 2, self.input_size // 4)


@dataclass(frozen=True)
class Cost:
    params: int
    flops: int

    @property
    def params_millions(self) -> float:
        return self.params / 1e6

    @property
    def flops_millions(self) -> float:
        return self.flops / 1e6


def _conv(c_in: int, c_out: int, k: int, out_size: int) -> Cost:
    weights = k * k * c_in * c_out
    return Cost(params=weights, flops=weights * out_size * out_size)


def _bn(c: int) -> Cost:
    return Cost(params=2 * c, flops=0)


def _add(*costs: Cost) -> Cost:
    return Cost(params=sum(c.params for c in costs), flops=sum(c.flops for c in costs))


def cell_cost(arch: Arch, channels: int, size: int) -> Cost:
    """One cell with `channels` channels on a `size` x `size` feature map."""
    costs = []
    for op in arch.ops:
        k = _KERNEL.get(op)
        if k is not None:
            costs.append(_add(_conv(channels, channels, k, size), _bn(channels)))
    assert len(arch.ops) == len(EDGES)
    return _add(*costs)


def _reduction(c_in: int, c_out: int, out_size: int) -> Cost:
    return _add(
        _conv(c_in, c_out, 3, out_size),
        _bn(c_out),
        _conv(c_out, c_out, 3, out_size),
        _bn(c_out),
        _conv(c_in, c_out, 1, out_size),
    )


def network_cost(arch: Arch, macro: Macro | None = None) -> Cost:
    """Params and FLOPs (per image) of the whole NB201 network built around `arch`."""
    m = macro or Macro()
    (c1, c2, c3), (s1, s2, s3) = m.stage_channels, m.stage_sizes
    cell = [cell_cost(arch, c, s) for c, s in zip((c1, c2, c3), (s1, s2, s3), strict=True)]
    classifier = Cost(params=c3 * m.num_classes + m.num_classes, flops=c3 * m.num_classes + m.num_classes)
    return _add(
        _conv(m.input_channels, c1, 3, s1),
        _bn(c1),
        *([cell[0]] * m.cells_per_stage),
        _reduction(c1, c2, s2),
        *([cell[1]] * m.cells_per_stage),
        _reduction(c2, c3, s3),
        *([cell[2]] * m.cells_per_stage),
        _bn(c3),
        classifier,
    )
