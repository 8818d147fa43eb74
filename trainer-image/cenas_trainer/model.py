"""NB201 networks in torch: one fixed cell (full training) or the weight-sharing supernet.

The skeleton and its parameter count are those of cenas_spaces.nb201_cost (a test checks the two agree
for every op). The supernet keeps all 5 ops on every edge and runs one path per forward pass
(single-path one-shot); its BN layers use batch statistics only, as NB201's own search cells do, so a
sub-network inherits no running statistics from the other paths it shares weights with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cenas_spaces import EDGES, NUM_NODES, OPS, Arch, Macro


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, track_stats: bool):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=track_stats),
        )


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, track_stats: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, track_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, track_stats)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {name!r}")


class Cell(nn.Module):
    """A fixed cell: node i = sum of op(i, j)(node j) over j < i; the output is the last node."""

    def __init__(self, arch: Arch, channels: int, track_stats: bool = True):
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels, track_stats) for op in arch.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        e = 0
        for i in range(1, NUM_NODES):
            total = None
            for j in range(i):
                y = self.edges[e](nodes[j])
                total = y if total is None else total + y
                e += 1
            nodes.append(total)
        return nodes[-1]


class SuperCell(nn.Module):
    """Every op on every edge; forward(x, codes) runs the ops that `codes` names (one per edge)."""

    def __init__(self, channels: int):
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleList(make_op(op, channels, track_stats=False) for op in OPS) for _ in EDGES
        )

    def forward(self, x: torch.Tensor, codes: Sequence[int]) -> torch.Tensor:
        nodes = [x]
        e = 0
        for i in range(1, NUM_NODES):
            total = None
            for j in range(i):
                y = self.edges[e][codes[e]](nodes[j])
                total = y if total is None else total + y
                e += 1
            nodes.append(total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NB201's stage transition: a ResNet basic block with stride 2."""

    def __init__(self, c_in: int, c_out: int, track_stats: bool):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, track_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, track_stats)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class _Skeleton(nn.Module):
    def __init__(self, macro: Macro, make_cell, track_stats: bool):
        super().__init__()
        c1, c2, c3 = macro.stage_channels
        self.stem = nn.Sequential(
            nn.Conv2d(macro.input_channels, c1, 3, padding=1, bias=False),
            nn.BatchNorm2d(c1, track_running_stats=track_stats),
        )
        layers: list[nn.Module] = []
        for stage, c in enumerate((c1, c2, c3)):
            if stage:
                layers.append(ResidualReduction(c // 2, c, track_stats))
            layers.extend(make_cell(c) for _ in range(macro.cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(c3, track_running_stats=track_stats), nn.ReLU(inplace=False)
        )
        self.classifier = nn.Linear(c3, macro.num_classes)

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class NB201Network(_Skeleton):
    """The NB201 network of one cell (what `train` trains)."""

    def __init__(self, arch: Arch, macro: Macro):
        super().__init__(macro, lambda c: Cell(arch, c), track_stats=True)
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self._finish(x)


class NB201SuperNet(_Skeleton):
    """The weight-sharing supernet over all 15,625 cells (what `supernet` trains and `score` reads)."""

    def __init__(self, macro: Macro):
        super().__init__(macro, SuperCell, track_stats=False)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        codes = arch.codes
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, codes) if isinstance(layer, SuperCell) else layer(x)
        return self._finish(x)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
