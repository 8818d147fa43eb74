"""The NB201 table: the shipped copy, and clear errors on malformed input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from cenas_operator.search.table import DEFAULT_ACCURACY_COLUMN, TableError, load_table, profile_for_column
from cenas_spaces import NUM_ARCHS, network_cost, parse_arch

GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_shipped_table_covers_the_space_once(table):
    assert len(table) == NUM_ARCHS
    assert len(np.unique(table.index)) == NUM_ARCHS
    assert ((table.accuracy >= 0) & (table.accuracy <= 100)).all()
    row = table.row_of[int(table.index[table.archs.index(parse_arch(GOOD))])]
    assert table.params[row] == pytest.approx(network_cost(parse_arch(GOOD)).params / 1e6)
    assert table.encoding.shape == (NUM_ARCHS, 6)


def write(tmp_path, text: str, name: str = "t.csv"):
    p = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def rows(n: int = 10) -> list[str]:
    t = load_table()
    return [f"{t.archs[i]},{t.accuracy[i]}" for i in range(20, 20 + n)]  # GOOD is row 1: not among them


def test_reads_plain_and_gzip_with_another_column(tmp_path):
    text = "arch,cifar100_acc\n" + "\n".join(rows()) + "\n"
    for name in ("t.csv", "t.csv.gz"):
        t = load_table(write(tmp_path, text, name), "cifar100_acc")
        assert len(t) == 10
        assert t.macro.num_classes == 100
    assert profile_for_column("ImageNet16-120-test").macro.input_size == 16
    assert profile_for_column(DEFAULT_ACCURACY_COLUMN).macro.num_classes == 10


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("arch,acc\n" + "\n".join(rows()), "other", "no column 'other'"),
        ("name,acc\n" + "\n".join(rows()), "acc", "no column 'arch'"),
        ("arch,acc\n" + "\n".join(rows()) + "\n|bogus~0|+|x|,90", "acc", "line 12: bad 'arch'"),
        ("arch,acc\n" + "\n".join(rows()) + f"\n{GOOD},ninety", "acc", "must be a number"),
        ("arch,acc\n" + "\n".join(rows()) + f"\n{GOOD},190", "acc", "percentage"),
        ("arch,acc\n" + "\n".join(rows()) + f"\n{GOOD},90\n{GOOD},91", "acc", "already on line"),
        ("arch,acc\n" + "\n".join(rows(3)), "acc", "at least 8 rows"),
        ("arch,acc\n" + "\n".join(rows()) + f"\n{GOOD},90,extra", "acc", "more fields"),
        ("arch,acc\n" + "\n".join(r.rsplit(",", 1)[0] + ",50" for r in rows()), "acc", "nothing to search"),
    ],
)
def test_malformed_tables_fail_with_the_reason(tmp_path, text, column, message):
    with pytest.raises(TableError, match=message):
        load_table(write(tmp_path, text), column)


def test_unreadable_file(tmp_path):
    with pytest.raises(TableError, match="cannot read"):
        load_table(tmp_path / "missing.csv", "acc")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(TableError, match="cannot read"):
        load_table(bad, "acc")
