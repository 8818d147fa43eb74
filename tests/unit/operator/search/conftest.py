"""Shared fixtures: the shipped NB201 table (loaded once) and small spaces cut from it."""

from __future__ import annotations

import numpy as np
import pytest

from cenas_operator.search.engine import Space
from cenas_operator.search.table import Table, load_table


@pytest.fixture(scope="session")
def table() -> Table:
    return load_table()


@pytest.fixture(scope="session")
def small_table(table: Table) -> Table:
    """400 cells drawn at random from the shipped table (a search space that simulates fast)."""
    rows = np.sort(np.random.default_rng(11).choice(len(table), 400, replace=False))
    return Table(tuple(table.archs[r] for r in rows), table.accuracy[rows], "small", table.macro)


@pytest.fixture(scope="session")
def small_space(small_table: Table) -> Space:
    return Space(small_table.index, small_table.encoding, small_table.params)
