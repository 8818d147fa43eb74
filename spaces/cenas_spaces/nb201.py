"""The NAS-Bench-201 cell space: arch strings, validation and encodings (pure, no torch).

A cell is a DAG over 4 nodes; node ``i`` sums one operation applied to each earlier node ``j < i``,
so there are 6 edges, each carrying one of 5 operations: 5**6 = 15,625 cells. The arch string lists
the edges node by node, ``|op~j|`` for each input ``j``, nodes separated by ``+``::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

``Arch`` keeps the operation names in that edge order (EDGES); everything else is derived from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# NB201's operation order; the index of an op is its code in every encoding below.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# (to_node, from_node) in arch-string order.
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(1, NUM_NODES) for j in range(i))
NUM_ARCHS = len(OPS) ** len(EDGES)


class ArchError(ValueError):
    """An architecture that is not a valid NB201 cell; the message says what must change."""


@dataclass(frozen=True, order=True)
class Arch:
    """One NB201 cell: the operation name on each edge, in EDGES order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != len(EDGES):
            raise ArchError(f"an NB201 cell must have {len(EDGES)} edges, got {len(self.ops)}")
        for (to, frm), op in zip(EDGES, self.ops, strict=True):
            if op not in OPS:
                raise ArchError(f"operation {op!r} on edge {frm}->{to} must be one of {', '.join(OPS)}")

    def __str__(self) -> str:
        return format_arch(self)

    @property
    def codes(self) -> tuple[int, ...]:
        """Operation indices into OPS, one per edge."""
        return tuple(OPS.index(op) for op in self.ops)

    def op(self, to_node: int, from_node: int) -> str:
        return self.ops[EDGES.index((to_node, from_node))]


def parse_arch(text: str) -> Arch:
    """Parse and validate an NB201 arch string; raises ArchError with the first problem found."""
    if not isinstance(text, str):
        raise ArchError(f"an arch string must be a str, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise ArchError("arch string must not be empty")
    nodes = s.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchError(
            f"arch string must have {NUM_NODES - 1} nodes separated by '+', got {len(nodes)} in {text!r}"
        )
    ops: list[str] = []
    for node, part in enumerate(nodes, start=1):
        if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
            raise ArchError(f"node {node} must be written '|op~j|...|' (start and end with '|'), got {part!r}")
        items = part[1:-1].split("|")
        if len(items) != node:
            raise ArchError(f"node {node} must have {node} inputs, got {len(items)} in {part!r}")
        for expected_input, item in enumerate(items):
            op, sep, frm = item.partition("~")
            if not sep or not frm.isdigit():
                raise ArchError(f"edge {item!r} of node {node} must be written 'op~j' with an integer j")
            if int(frm) != expected_input:
                raise ArchError(
                    f"edge {item!r} of node {node} must read from node {expected_input} (inputs in order 0..{node - 1})"
                )
            if op not in OPS:
                raise ArchError(f"operation {op!r} on edge {frm}->{node} must be one of {', '.join(OPS)}")
            ops.append(op)
    return Arch(tuple(ops))


def format_arch(arch: Arch) -> str:
    """The canonical arch string of a cell."""
    parts = []
    for node in range(1, NUM_NODES):
        items = [f"{arch.op(node, j)}~{j}" for j in range(node)]
        parts.append("|" + "|".join(items) + "|")
    return "+".join(parts)


def as_arch(value: Arch | str | Sequence[str]) -> Arch:
    """Accept an Arch, an arch string, or a sequence of 6 op names."""
    if isinstance(value, Arch):
        return value
    if isinstance(value, str):
        return parse_arch(value)
    return Arch(tuple(value))


def from_codes(codes: Sequence[int]) -> Arch:
    """The cell whose edges carry OPS[code]."""
    if len(codes) != len(EDGES):
        raise ArchError(f"an NB201 cell must have {len(EDGES)} op codes, got {len(codes)}")
    for c in codes:
        if not (isinstance(c, int) and 0 <= c < len(OPS)):
            raise ArchError(f"op code {c!r} must be an integer in 0..{len(OPS) - 1}")
    return Arch(tuple(OPS[c] for c in codes))


def to_index(arch: Arch) -> int:
    """cenas' index of a cell in 0..15624 (mixed radix over EDGES; NOT the NATS-Bench API index)."""
    index = 0
    for code in arch.codes:
        index = index * len(OPS) + code
    return index


def from_index(index: int) -> Arch:
    """Inverse of to_index."""
    if not (isinstance(index, int) and 0 <= index < NUM_ARCHS):
        raise ArchError(f"an NB201 index must be an integer in 0..{NUM_ARCHS - 1}, got {index!r}")
    codes = []
    for _ in EDGES:
        index, code = divmod(index, len(OPS))
        codes.append(code)
    return from_codes(codes[::-1])


def all_archs() -> Iterator[Arch]:
    """Every cell of the space, in to_index order."""
    for codes in itertools.product(range(len(OPS)), repeat=len(EDGES)):
        yield from_codes(codes)


def encode_unit(arch: Arch) -> tuple[float, ...]:
    """CE-NAS / LaMOO encoding: one float per edge in [0, 1), op code / 5 (none 0.0 ... avg_pool 0.8)."""
    return tuple(code / len(OPS) for code in arch.codes)


def decode_unit(vector: Sequence[float]) -> Arch:
    """Inverse of encode_unit for any point of [0, 1]^6: each coordinate falls into one of 5 bins."""
    if len(vector) != len(EDGES):
        raise ArchError(f"an NB201 encoding must have {len(EDGES)} values, got {len(vector)}")
    codes = []
    for x in vector:
        if not 0.0 <= float(x) <= 1.0:
            raise ArchError(f"encoded value {x!r} must be in [0, 1]")
        codes.append(min(int(float(x) * len(OPS) + 1e-9), len(OPS) - 1))
    return from_codes(codes)


def encode_onehot(arch: Arch) -> tuple[int, ...]:
    """30 binary features: for each edge, a one-hot over OPS."""
    return tuple(int(code == k) for code in arch.codes for k in range(len(OPS)))


def is_degenerate(arch: Arch) -> bool:
    """True when no path of non-'none' edges joins the cell input (node 0) to its output (node 3).

    Such a cell outputs zeros whatever its input: the network cannot learn beyond chance.
    """
    reachable = {0}
    for to in range(1, NUM_NODES):
        if any(arch.op(to, j) != "none" and j in reachable for j in range(to)):
            reachable.add(to)
    return NUM_NODES - 1 not in reachable
