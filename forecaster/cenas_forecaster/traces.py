"""The real traces shipped inside the package (see data/PROVENANCE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .series import HourlySeries, load_series

DATA_DIR = Path(__file__).parent / "data"
CARBONCAST_REGIONS = ("CISO", "PJM", "ERCO", "ISNE", "FPL", "BPAT", "SE", "DE", "NL", "PL")
ELECTRICITYMAPS_ZONES = ("US-CAL-CISO", "US-MIDA-PJM", "US-TEX-ERCO", "DE-LU", "GB")


@dataclass(frozen=True)
class ShippedTrace:
    location: str
    path: Path
    column: str
    dataset: str


def shipped_traces() -> dict[str, ShippedTrace]:
    """Every shipped trace by location name: CarbonCast regions (2020-2021) and Electricity Maps zones (2021-2022)."""
    out = {
        r: ShippedTrace(r, DATA_DIR / "traces/carboncast" / f"{r}.csv.gz", "ci_direct", "carboncast")
        for r in CARBONCAST_REGIONS
    }
    out |= {
        z: ShippedTrace(z, DATA_DIR / "traces/electricitymaps" / f"{z}.csv.gz", "ci_direct", "electricitymaps")
        for z in ELECTRICITYMAPS_ZONES
    }
    return out


@cache
def load_shipped(location: str) -> HourlySeries:
    trace = shipped_traces()[location]
    return load_series(trace.path, trace.column)
