"""The interface every source implements, and what a failing one raises."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..series import HourlySeries


class SourceUnavailable(Exception):
    """The source could not give data now (upstream down, rejected credentials, no data): answer 503."""


class Source(ABC):
    """Hourly observations for one location on the source's own clock.

    Live sources run on the wall clock. The replay source runs on the trace's clock (offset and sped up);
    `served_time` maps its times back to the wall clock that responses are given in.
    """

    kind: str
    location: str
    description: str = ""

    @property
    def served_seconds_per_hour(self) -> float:
        """Wall-clock seconds that one hour of the source's clock lasts."""
        return 3600.0

    def source_now(self, wall_seconds: float) -> float:
        return wall_seconds

    def served_time(self, source_seconds: float) -> float:
        return source_seconds

    @abstractmethod
    async def hourly(self, start_seconds: int, end_seconds: int) -> HourlySeries:
        """Observed hourly values for [start, end) (source clock); hours with no observation are flagged
        `filled`. Raises SourceUnavailable when nothing can be had."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
