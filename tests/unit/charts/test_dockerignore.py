"""The root .dockerignore keeps the build context to what the root Dockerfile copies."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _copied_sources() -> set[str]:
    sources = set()
    for line in (REPO / "Dockerfile").read_text().splitlines():
        match = re.match(r"^COPY\s+(?!--from)(?:--\S+\s+)*(.+)\s+\S+$", line.strip())
        if match:
            sources.update(match[1].split())
    return sources


def test_everything_is_excluded_first_then_only_the_copied_packages_come_back() -> None:
    patterns = _patterns()
    assert patterns[0] == "**"
    included = {p[1:] for p in patterns if p.startswith("!")}
    assert _copied_sources() == {"spaces/", "operator/", "forecaster/"}
    assert included == _copied_sources()


def test_build_leftovers_stay_out_even_inside_the_packages() -> None:
    patterns = _patterns()
    last_include = max(i for i, p in enumerate(patterns) if p.startswith("!"))
    after = set(patterns[last_include + 1:])  # later patterns win in .dockerignore
    assert {"**/__pycache__/", "**/*.egg-info/", "**/build/"} <= after
