"""Where observed intensity comes from: the shipped trace replay (default) or a live API adapter."""

from .base import Source, SourceUnavailable
from .electricitymaps import ElectricityMapsSource
from .replay import ReplaySource
from .uk import UKCarbonIntensitySource
from .watttime import WattTimeSource

__all__ = [
    "ElectricityMapsSource",
    "ReplaySource",
    "Source",
    "SourceUnavailable",
    "UKCarbonIntensitySource",
    "WattTimeSource",
]
