"""Hourly carbon-intensity series: parse a CSV trace, average finer data to hours, repair what can be repaired.

A series is a start hour (UTC, seconds since the epoch, interval start) and one float per hour. Repairs are
documented and counted, never silent: duplicate rows are averaged, rows out of order are sorted, non-positive
or empty values are treated as missing, and missing hours are filled from the past only (`fill_from_past`;
the filled hours are flagged so scoring can leave them out). Anything else is a `TraceError` with a clear
message.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HOUR_SECONDS = 3600
TIME_COLUMN = "datetime_utc"


class TraceError(ValueError):
    """The trace cannot be used as given; the message says why and where."""


@dataclass(frozen=True)
class Repairs:
    """What was changed to turn the rows into a gap-free hourly series (counts of rows or hours)."""

    duplicate_rows: int = 0
    unsorted_rows: int = 0
    non_positive_values: int = 0
    empty_values: int = 0
    filled_hours: int = 0
    averaged_sub_hourly_rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class HourlySeries:
    """Gap-free hourly values; `filled[i]` is True where hour i was interpolated, not observed."""

    start_seconds: int
    values: np.ndarray
    filled: np.ndarray
    repairs: Repairs = field(default_factory=Repairs)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def end_seconds(self) -> int:
        """Start of the hour after the last one."""
        return self.start_seconds + len(self) * HOUR_SECONDS

    def index_of(self, seconds: int) -> int:
        """Index of the hour starting at `seconds` (which must be on the hour); may be out of range."""
        if (seconds - self.start_seconds) % HOUR_SECONDS:
            raise ValueError(f"{format_time(seconds)} is not on the hour")
        return (seconds - self.start_seconds) // HOUR_SECONDS

    def time_of(self, index: int) -> int:
        return self.start_seconds + index * HOUR_SECONDS


def format_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    """Parse an ISO-8601 timestamp; naive times are UTC. Returns whole seconds since the epoch."""
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return math.floor(parsed.timestamp())


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file (gzip-compressed when the name ends in .gz)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TraceError(f"{path}: the file is empty") from None
    return header, [row for row in reader if row]


def rows_to_points(header: list[str], rows: list[list[str]], column: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(times in seconds, values with NaN for empty cells, number of empty cells) of one column."""
    if TIME_COLUMN not in header:
        raise TraceError(f"no '{TIME_COLUMN}' column; the columns are: {', '.join(header)}")
    if column not in header or column == TIME_COLUMN:
        choices = ", ".join(h for h in header if h != TIME_COLUMN)
        raise TraceError(f"no column '{column}'; the value columns are: {choices}")
    t_col, v_col = header.index(TIME_COLUMN), header.index(column)
    times = np.empty(len(rows), dtype=np.int64)
    values = np.empty(len(rows), dtype=np.float64)
    empty = 0
    for n, row in enumerate(rows):
        line = n + 2
        if len(row) <= max(t_col, v_col):
            raise TraceError(f"line {line}: expected {len(header)} fields, found {len(row)}")
        try:
            times[n] = parse_time(row[t_col])
        except ValueError:
            raise TraceError(f"line {line}: cannot parse the time '{row[t_col]}' (want ISO 8601, UTC)") from None
        cell = row[v_col].strip()
        if cell == "" or cell.lower() in {"nan", "null", "none", "na"}:
            values[n] = np.nan
            empty += 1
            continue
        try:
            values[n] = float(cell)
        except ValueError:
            raise TraceError(f"line {line}: '{cell}' in column '{column}' is not a number") from None
        if not math.isfinite(values[n]):
            raise TraceError(f"line {line}: '{cell}' in column '{column}' is not a finite number")
    if len(times) == 0:
        raise TraceError("the trace has no rows")
    return times, values, empty


def to_hourly(times: np.ndarray, values: np.ndarray, empty_values: int = 0) -> HourlySeries:
    """Average points to hours, repair gaps and bad values, and count every repair."""
    order = np.argsort(times, kind="stable")
    unsorted = int(np.count_nonzero(order != np.arange(len(order))))
    times, values = times[order], values[order]
    duplicates = int(len(times) - len(np.unique(times)))
    non_positive = int(np.count_nonzero(values <= 0))
    values = np.where(values > 0, values, np.nan)

    hours = times // HOUR_SECONDS
    unique_hours, first = np.unique(hours, return_index=True)
    # Resolution: the most common spacing between distinct timestamps must be at most an hour.
    distinct = np.unique(times)
    if len(distinct) > 1:
        step = int(np.median(np.diff(distinct)))
        if step > HOUR_SECONDS:
            raise TraceError(f"the trace is coarser than hourly (typical step {step} s); give hourly or finer data")
    sub_hourly = int(len(distinct) - len(unique_hours))

    ok = ~np.isnan(values)
    sums = np.add.reduceat(np.where(ok, values, 0.0), first)
    counts = np.add.reduceat(ok.astype(np.int64), first)
    start_hour = int(unique_hours[0])
    n_hours = int(unique_hours[-1] - start_hour + 1)
    hourly = np.full(n_hours, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        hourly[unique_hours - start_hour] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    missing = np.isnan(hourly)
    if missing.all():
        raise TraceError("the trace has no positive values")
    filled_values = fill_from_past(hourly)
    repairs = Repairs(
        duplicate_rows=duplicates,
        unsorted_rows=unsorted,
        non_positive_values=non_positive,
        empty_values=empty_values,
        filled_hours=int(missing.sum()),
        averaged_sub_hourly_rows=sub_hourly,
    )
    return HourlySeries(start_hour * HOUR_SECONDS, filled_values, missing, repairs)


SHORT_GAP_HOURS = 3


def fill_from_past(hourly: np.ndarray) -> np.ndarray:
    """Fill NaN hours using only earlier hours, so a forecast never sees a value from after its issue time:
    a gap of up to 3 hours repeats the last value before it; a longer gap takes the (filled) value of the
    same hour the day before, or the last value where there is no day before. Hours before the first value
    take the first value."""
    out = hourly.copy()
    missing = np.isnan(out)
    if not missing.any():
        return out
    first = int(np.flatnonzero(~missing)[0])
    out[:first] = out[first]
    i = first
    n = len(out)
    while i < n:
        if not missing[i]:
            i += 1
            continue
        end = i
        while end < n and missing[end]:
            end += 1
        for j in range(i, end):
            long_gap = end - i > SHORT_GAP_HOURS
            out[j] = out[j - 24] if long_gap and j >= 24 else out[i - 1]
        i = end
    return out


def load_series(path: Path, column: str) -> HourlySeries:
    """Read one value column of a CSV trace as a repaired hourly series."""
    header, rows = read_table(path)
    times, values, empty = rows_to_points(header, rows, column)
    return to_hourly(times, values, empty)


def points_to_grid(times: np.ndarray, values: np.ndarray, start_seconds: int, end_seconds: int) -> HourlySeries:
    """Average points (NaN = missing) into the hours [start, end); hours without a positive value are flagged
    and filled with `fill_from_past`.

    Raises TraceError when no hour in the range has a value.
    """
    if start_seconds % HOUR_SECONDS or end_seconds % HOUR_SECONDS or end_seconds <= start_seconds:
        raise ValueError("the grid must be whole hours, end after start")
    n = (end_seconds - start_seconds) // HOUR_SECONDS
    slot = (np.asarray(times, dtype=np.int64) - start_seconds) // HOUR_SECONDS
    values = np.asarray(values, dtype=np.float64)
    keep = (slot >= 0) & (slot < n) & (values > 0)
    sums = np.bincount(slot[keep], weights=values[keep], minlength=n)
    counts = np.bincount(slot[keep], minlength=n)
    missing = counts == 0
    if missing.all():
        raise TraceError(f"no positive value between {format_time(start_seconds)} and {format_time(end_seconds)}")
    hourly = np.where(missing, np.nan, sums / np.maximum(counts, 1))
    return HourlySeries(start_seconds, fill_from_past(hourly), missing, Repairs(filled_hours=int(missing.sum())))
