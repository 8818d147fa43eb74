"""Tabular NB201 benchmark: the true full-training accuracy of every cell, with params and FLOPs.

A table is a CSV (optionally gzip-compressed) with an `arch` column of NB201 arch strings and one numeric
accuracy column in percent. It may hold a subset of the 15,625 cells; the simulated search space is then
the cells it holds. Params and FLOPs come from `cenas_spaces` (never from the file).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from cenas_spaces import Arch, ArchError, Macro, encode_unit, network_cost, parse_arch, to_index

ARCH_COLUMN = "arch"
DEFAULT_TABLE = "nb201_cifar10_test_accuracy.csv.gz"
DEFAULT_ACCURACY_COLUMN = "cifar10_test_accuracy_200ep"
MIN_ROWS = 8
COST_METRICS = ("params", "flops")


class TableError(ValueError):
    """The table cannot drive the simulation; the message names the file, row and column."""


@dataclass(frozen=True)
class Table:
    """One row per cell, in file order. Costs in millions (params M, FLOPs M per image)."""

    archs: tuple[Arch, ...]
    accuracy: np.ndarray  # (n,) percent
    source: str = "table"
    macro: Macro = field(default_factory=Macro)

    def __len__(self) -> int:
        return len(self.archs)

    @cached_property
    def index(self) -> np.ndarray:
        """cenas_spaces' index of every row (0..15624)."""
        return np.array([to_index(a) for a in self.archs], dtype=np.int64)

    @cached_property
    def row_of(self) -> dict[int, int]:
        return {int(i): r for r, i in enumerate(self.index)}

    @cached_property
    def _costs(self) -> tuple[np.ndarray, np.ndarray]:
        costs = [network_cost(a, self.macro) for a in self.archs]
        return (
            np.array([c.params_millions for c in costs]),
            np.array([c.flops_millions for c in costs]),
        )

    @property
    def params(self) -> np.ndarray:
        return self._costs[0]

    @property
    def flops(self) -> np.ndarray:
        return self._costs[1]

    def cost(self, metric: str) -> np.ndarray:
        if metric not in COST_METRICS:
            raise ValueError(f"cost metric must be one of {', '.join(COST_METRICS)}, got {metric!r}")
        return self.params if metric == "params" else self.flops

    @cached_property
    def encoding(self) -> np.ndarray:
        """(n, 6) CE-NAS / LaMOO unit encoding of every row."""
        return np.array([encode_unit(a) for a in self.archs], dtype=np.float64)


@dataclass(frozen=True)
class DatasetProfile:
    """What the accuracy column's dataset means for the network and the cost model."""

    name: str
    macro: Macro
    train_images: int
    validation_images: int


PROFILES = {
    "cifar10": DatasetProfile("cifar10", Macro(num_classes=10, input_size=32), 50_000, 10_000),
    "cifar100": DatasetProfile("cifar100", Macro(num_classes=100, input_size=32), 50_000, 10_000),
    "imagenet16": DatasetProfile("ImageNet16-120", Macro(num_classes=120, input_size=16), 151_700, 6_000),
}


def profile_for_column(column: str) -> DatasetProfile:
    """The dataset an accuracy column names (NB201's cifar10, cifar100, ImageNet16-120); CIFAR-10 otherwise."""
    c = column.lower().replace("-", "").replace("_", "")
    if "imagenet16" in c:
        return PROFILES["imagenet16"]
    if "cifar100" in c:
        return PROFILES["cifar100"]
    return PROFILES["cifar10"]


def parse_rows(
    rows: list[dict[str, str]], header: list[str], accuracy_column: str, source: str, macro: Macro | None = None
) -> Table:
    for needed in (ARCH_COLUMN, accuracy_column):
        if needed not in header:
            raise TableError(f"{source}: no column {needed!r} (columns: {', '.join(header) or 'none'})")
    if len(rows) < MIN_ROWS:
        raise TableError(f"{source}: needs at least {MIN_ROWS} rows, got {len(rows)}")
    archs: list[Arch] = []
    acc = np.empty(len(rows))
    seen: dict[Arch, int] = {}
    for k, row in enumerate(rows):
        line = k + 2  # 1-based, after the header
        try:
            arch = parse_arch(row.get(ARCH_COLUMN) or "")
        except ArchError as err:
            raise TableError(f"{source}, line {line}: bad {ARCH_COLUMN!r}: {err}") from err
        if arch in seen:
            raise TableError(f"{source}, line {line}: cell {arch} already on line {seen[arch]}")
        seen[arch] = line
        raw = (row.get(accuracy_column) or "").strip()
        try:
            value = float(raw)
        except ValueError:
            raise TableError(f"{source}, line {line}: {accuracy_column!r} must be a number, got {raw!r}") from None
        if not (np.isfinite(value) and 0.0 <= value <= 100.0):
            raise TableError(f"{source}, line {line}: {accuracy_column!r} must be a percentage in 0..100, got {raw}")
        archs.append(arch)
        acc[k] = value
    if np.ptp(acc) == 0:
        raise TableError(f"{source}: every accuracy in {accuracy_column!r} is {acc[0]}: nothing to search")
    return Table(tuple(archs), acc, source, macro or profile_for_column(accuracy_column).macro)


def load_table(path: str | Path | None = None, accuracy_column: str = DEFAULT_ACCURACY_COLUMN) -> Table:
    """Read a table; with no path, the shipped NB201 CIFAR-10 table (see data/PROVENANCE.md)."""
    if path is None:
        ref = resources.files("cenas_operator.search") / "data" / DEFAULT_TABLE
        with resources.as_file(ref) as p:
            return load_table(p, accuracy_column)
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as err:
        raise TableError(f"{path}: cannot read the table: {err}") from err
    if any(None in row for row in rows):
        bad = next(k for k, row in enumerate(rows) if None in row)
        raise TableError(f"{path}, line {bad + 2}: more fields than the header has")
    return parse_rows(rows, header, accuracy_column, str(path))
