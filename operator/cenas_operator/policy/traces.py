"""Carbon-intensity traces for the simulator and the benchmark: load, validate, resample.

A trace is a regular series of intensities in gCO2eq/kWh; each timestamp marks the START of its interval
(UTC). The simulator needs it regular and strictly positive: a gap or a non-positive value is an error,
never silently filled, because the emissions of the interval would be wrong.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIME_COLUMN = "datetime_utc"


class TraceError(ValueError):
    """The trace cannot drive the simulator (format, gaps, non-positive values)."""


@dataclass(frozen=True)
class Trace:
    start: np.datetime64  # start of the first interval, minute resolution, UTC
    step_minutes: int
    intensity: np.ndarray  # (n,) gCO2eq/kWh, float64, > 0

    def __len__(self) -> int:
        return len(self.intensity)

    @property
    def step_hours(self) -> float:
        return self.step_minutes / 60.0

    def index_of(self, when: np.datetime64) -> int:
        """Index of the interval that starts at `when` (which must lie on the grid)."""
        offset = int((np.datetime64(when, "m") - self.start) / np.timedelta64(1, "m"))
        if offset % self.step_minutes:
            raise TraceError(f"{when} is not on the trace's {self.step_minutes}-minute grid")
        return offset // self.step_minutes

    def time_of(self, index: int) -> np.datetime64:
        return self.start + np.timedelta64(index * self.step_minutes, "m")


def parse_times(raw: list[str]) -> np.ndarray:
    """ISO timestamps ('2021-07-01 00:00', '2021-07-01T00:00:00Z', ...) to datetime64[m]."""
    cleaned = [s.strip().replace(" ", "T").removesuffix("Z").removesuffix("+00:00") for s in raw]
    try:
        return np.array(cleaned, dtype="datetime64[m]")
    except ValueError as err:
        raise TraceError(f"unparseable {TIME_COLUMN}: {err}") from err


def validate(times: np.ndarray, values: np.ndarray, source: str = "trace") -> Trace:
    """A Trace from timestamps and values, or a TraceError saying exactly what is wrong."""
    if len(times) < 2:
        raise TraceError(f"{source}: needs at least 2 rows, got {len(times)}")
    steps = np.diff(times).astype("timedelta64[m]").astype(np.int64)
    step = int(steps[0])
    if step <= 0 or 60 % step:
        raise TraceError(f"{source}: the step must divide one hour (hourly or finer), got {step} minutes")
    bad = np.flatnonzero(steps != step)
    if bad.size:
        i = int(bad[0])
        raise TraceError(
            f"{source}: gap or irregular step after {times[i]} (next row {times[i + 1]}, "
            f"expected every {step} minutes); {bad.size} irregular step(s) in all"
        )
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        i = int(bad[0])
        raise TraceError(
            f"{source}: intensity must be positive and finite, got {values[i]!r} at {times[i]} "
            f"({bad.size} bad value(s) in all)"
        )
    return Trace(times[0], step, values.astype(np.float64))


def load_trace(path: str | Path, column: str) -> Trace:
    """Read a CSV (optionally .gz) with a `datetime_utc` column and the intensity column `column`."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            for needed in (TIME_COLUMN, column):
                if needed not in header:
                    raise TraceError(f"{path}: no column {needed!r} (columns: {', '.join(header)})")
            rows = [(row[TIME_COLUMN], row[column]) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise TraceError(f"{path}: cannot read the trace: {err}") from err
    times = parse_times([t for t, _ in rows]) if rows else np.array([], dtype="datetime64[m]")
    values = np.array([float(v) if v.strip() else np.nan for _, v in rows])
    return validate(times, values, str(path))


def resample(trace: Trace, step_minutes: int) -> Trace:
    """Mean intensity per coarser interval. With constant power inside an interval, energy x mean intensity
    is exactly the interval's emissions; a trailing partial interval is dropped."""
    if step_minutes % trace.step_minutes:
        raise TraceError(
            f"a {step_minutes}-minute decision interval is not a multiple of the trace's {trace.step_minutes} minutes"
        )
    k = step_minutes // trace.step_minutes
    offset = (
        -int((trace.start - trace.start.astype("datetime64[h]")) / np.timedelta64(1, "m"))
    ) % step_minutes
    skip = offset // trace.step_minutes if offset % trace.step_minutes == 0 else 0
    n = (len(trace) - skip) // k
    if n < 2:
        raise TraceError(f"the trace is too short for {step_minutes}-minute intervals")
    values = trace.intensity[skip : skip + n * k].reshape(n, k).mean(axis=1)
    return Trace(trace.time_of(skip), step_minutes, values)
