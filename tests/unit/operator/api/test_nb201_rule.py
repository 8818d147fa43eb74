"""The CRD's NB201 rule accepts exactly the canonical cell strings of cenas_spaces."""

import re

import pytest

from cenas_operator.api import NB201_CELL_PATTERN
from cenas_spaces import all_archs, format_arch

CELL = re.compile(NB201_CELL_PATTERN)


def test_every_nb201_cell_matches():
    cells = [format_arch(arch) for arch in all_archs()]
    assert len(cells) == 15625
    assert all(CELL.match(cell) for cell in cells)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|",  # two nodes
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|conv_5x5~2|",  # unknown op
        "|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",  # input out of order
        "nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",  # missing leading |
        " |none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # not canonical: surrounding space
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",  # trailing node
    ],
)
def test_invalid_cells_do_not_match(text):
    assert not CELL.match(text)


def test_crd_rules_use_the_pattern(schemas):
    rules = [r["rule"] for r in schemas["nastrials"]["properties"]["spec"]["x-kubernetes-validations"]]
    matching = [r for r in rules if "matches(" in r]
    assert len(matching) == 2
    assert all(f".matches('{NB201_CELL_PATTERN}')" in r for r in matching)
