"""A small PromQL evaluator over recorded scrapes, for exactly the subset the cenas dashboard uses.

Input is what `make demo` records (`.demo/metrics.jsonl`): one JSON object per line,
``{"time": <unix s>, "exposition": [<operator /metrics text>, <forecaster /metrics text>]}``.
`load_recording` turns it into series the way Prometheus would store them (one scrape job per
exposition, a series that disappears from a scrape gets a staleness marker), and `evaluate` /
`evaluate_range` run an expression over them.

Supported, with Prometheus's semantics: vector selectors with =, !=, =~, !~ matchers (5 min lookback,
staleness); rate and increase over a range (counter resets, Prometheus's extrapolation, left-open
window); sum / max / min / avg / count by or without labels; arithmetic between scalars and vectors
and one-to-one vector matching (on / ignoring); unary minus; time(); histogram_quantile.
Anything else raises `UnsupportedPromQL` naming the expression, so a panel never silently draws
nothing. Grafana's variables are replaced first by `substitute`.

All functions are pure: no I/O, no global state.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import promql_parser
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs, __name__ included for raw series
Vector = dict[Labels, float]
Value = Vector | float  # an instant vector or a scalar

LOOKBACK_SECONDS = 300.0  # Prometheus's default --query.lookback-delta
STALE = None  # staleness marker, stored as the sample value
DEFAULT_JOBS = ("cenas-operator", "cenas-forecaster")


class UnsupportedPromQL(ValueError):
    """The expression uses PromQL outside the subset this evaluator implements."""

    def __init__(self, expr: str, what: str) -> None:
        super().__init__(f"unsupported PromQL in {expr!r}: {what}")
        self.expr = expr
        self.what = what


@dataclass(frozen=True)
class Recording:
    """Series of a recording: labels -> time-ordered samples (value None marks the series stale)."""

    series: Mapping[Labels, list[tuple[float, float | None]]]
    times: tuple[float, ...]  # scrape times, ascending
    _index: dict[str, list[Labels]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for labels in self.series:
            self._index.setdefault(dict(labels)["__name__"], []).append(labels)

    def named(self, name: str) -> list[Labels]:
        return self._index.get(name, [])

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    @property
    def scrape_interval(self) -> float:
        """Median time between scrapes."""
        if len(self.times) < 2:
            return 15.0
        return statistics.median(b - a for a, b in zip(self.times, self.times[1:], strict=False))


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


def parse_exposition(text: str) -> dict[Labels, float]:
    """One /metrics text (Prometheus text format) -> {labels with __name__: value}."""
    samples: dict[Labels, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[labels_of({**sample.labels, "__name__": sample.name})] = float(sample.value)
    return samples


def load_recording(lines: Iterable[str], jobs: tuple[str, ...] = DEFAULT_JOBS) -> Recording:
    """Lines of metrics.jsonl -> Recording. Exposition i becomes scrape job `jobs[i]` (label `job`)."""
    scrapes: list[tuple[float, list[str]]] = []
    for line in lines:
        if line.strip():
            record = json.loads(line)
            scrapes.append((float(record["time"]), list(record["exposition"])))
    scrapes.sort(key=lambda scrape: scrape[0])
    series: dict[Labels, list[tuple[float, float | None]]] = {}
    present: list[set[Labels]] = [set() for _ in jobs]
    for t, expositions in scrapes:
        for i, job in enumerate(jobs):
            text = expositions[i] if i < len(expositions) else ""
            seen: set[Labels] = set()
            for labels, value in parse_exposition(text or "").items():
                labels = labels_of({**dict(labels), "job": job})
                series.setdefault(labels, []).append((t, value))
                seen.add(labels)
            for gone in present[i] - seen:  # dropped from this scrape: stale from now on
                series[gone].append((t, STALE))
            present[i] = seen
    return Recording(series=series, times=tuple(t for t, _ in scrapes))


# --- Grafana variables -------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def promql_duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def grafana_variables(recording: Recording, **overrides: str) -> dict[str, str]:
    """Values for Grafana's macros over a recording: $__rate_interval = 4 x the scrape interval,
    $__range = the recording's length (plus one second, so the first scrape is inside the
    left-open window), every other variable `.*` (the dashboard's "All")."""
    step = recording.scrape_interval
    variables = {
        "__rate_interval": promql_duration(4 * step),
        "__interval": promql_duration(step),
        "__range": promql_duration(math.ceil(recording.end - recording.start) + 1),
        "__range_s": str(math.ceil(recording.end - recording.start) + 1),
    }
    variables.update(overrides)
    return variables


def substitute(expr: str, variables: Mapping[str, str], default: str | None = ".*") -> str:
    """Replace $name, ${name} and [[name]] by their values; unknown names by `default` (error if None)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in variables:
            return variables[name]
        if default is None or name.startswith("__"):
            raise UnsupportedPromQL(expr, f"no value for Grafana variable ${name}")
        return default

    return VARIABLE.sub(value, expr)


# --- evaluation ---------------------------------------------------------------------------------


def parse(expr: str) -> promql_parser.Expr:
    try:
        return promql_parser.parse(expr)
    except ValueError as err:
        raise ValueError(f"cannot parse PromQL {expr!r}: {err}") from err


def evaluate(expr: str, recording: Recording, t: float) -> Value:
    """Instant query of `expr` (variables already substituted) at time `t`."""
    return _Evaluator(expr, recording).eval(parse(expr), t)


def evaluate_range(expr: str, recording: Recording, times: Iterable[float] | None = None
                   ) -> dict[Labels, list[tuple[float, float]]]:
    """Range query: `expr` at every time of `times` (default: every scrape). Scalars come back as
    the series with no labels; NaN results are kept (a plot shows them as gaps)."""
    tree = parse(expr)
    evaluator = _Evaluator(expr, recording)
    result: dict[Labels, list[tuple[float, float]]] = {}
    for t in recording.times if times is None else times:
        value = evaluator.eval(tree, t)
        vector = {(): value} if isinstance(value, float) else value
        for labels, v in vector.items():
            result.setdefault(labels, []).append((t, v))
    return result


def _matches(matcher: promql_parser.Matcher, value: str) -> bool:
    op = str(matcher.op)
    if op.endswith("NotEqual"):
        return value != matcher.value
    if op.endswith("Equal"):
        return value == matcher.value
    matched = re.fullmatch(matcher.value, value) is not None
    return not matched if op.endswith("NotRe") else matched


def _drop_name(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != "__name__")


def _arith(op: str, a: float, b: float) -> float:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return math.fmod(a, b)
        if op == "^":
            return a**b
    except ZeroDivisionError:
        if op == "%" or a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    except OverflowError:
        return math.inf
    raise AssertionError(op)


def _nan_max(values: list[float]) -> float:
    """max as Prometheus takes it: NaN only when every value is NaN."""
    numbers = [v for v in values if not math.isnan(v)]
    return max(numbers) if numbers else math.nan


def _nan_min(values: list[float]) -> float:
    numbers = [v for v in values if not math.isnan(v)]
    return min(numbers) if numbers else math.nan


ARITHMETIC = {"+", "-", "*", "/", "%", "^"}


def extrapolated_delta(samples: list[tuple[float, float]], range_start: float, range_end: float,
                       is_counter: bool, is_rate: bool) -> float | None:
    """Prometheus's extrapolatedRate (promql/functions.go) for rate / increase / delta."""
    if len(samples) < 2:
        return None
    first_t, first_v = samples[0]
    last_t, last_v = samples[-1]
    result = last_v - first_v
    if is_counter:
        previous = first_v
        for _, v in samples[1:]:
            if v < previous:  # counter reset: the counter restarted from 0
                result += previous
            previous = v
    sampled = last_t - first_t
    average_step = sampled / (len(samples) - 1)
    to_start = first_t - range_start
    to_end = range_end - last_t
    if is_counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average_step * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average_step / 2
    interval += to_end if to_end < threshold else average_step / 2
    result *= interval / sampled
    if is_rate:
        result /= range_end - range_start
    return result


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's bucketQuantile: `buckets` are (upper bound, cumulative count)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets)
    if len(buckets) < 2 or buckets[-1][0] != math.inf:
        return math.nan
    counts, fixed = [], 0.0
    for _, c in buckets:  # counts must not fall (they can, scraped mid-update)
        fixed = max(fixed, c)
        counts.append(fixed)
    total = counts[-1]
    if total == 0 or math.isnan(total):
        return math.nan
    rank = q * total
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start = buckets[b - 1][0] if b > 0 else 0.0
    end = buckets[b][0]
    below = counts[b - 1] if b > 0 else 0.0
    return start + (end - start) * (rank - below) / (counts[b] - below)


class _Evaluator:
    def __init__(self, expr: str, recording: Recording) -> None:
        self.expr = expr
        self.recording = recording

    def unsupported(self, what: str) -> UnsupportedPromQL:
        return UnsupportedPromQL(self.expr, what)

    def eval(self, node: promql_parser.Expr, t: float) -> Value:
        if isinstance(node, promql_parser.NumberLiteral):
            return float(node.val)
        if isinstance(node, promql_parser.ParenExpr):
            return self.eval(node.expr, t)
        if isinstance(node, promql_parser.UnaryExpr):
            value = self.eval(node.expr, t)
            if isinstance(value, float):
                return -value
            return {_drop_name(labels): -v for labels, v in value.items()}
        if isinstance(node, promql_parser.VectorSelector):
            return self.select(node, t)
        if isinstance(node, promql_parser.Call):
            return self.call(node, t)
        if isinstance(node, promql_parser.AggregateExpr):
            return self.aggregate(node, t)
        if isinstance(node, promql_parser.BinaryExpr):
            return self.binary(node, t)
        if isinstance(node, promql_parser.MatrixSelector):
            raise self.unsupported(f"range vector {node} outside rate() / increase()")
        raise self.unsupported(f"{type(node).__name__} {node}")

    # selectors

    def matching_series(self, selector: promql_parser.VectorSelector) -> list[Labels]:
        if selector.offset is not None or selector.at is not None:
            raise self.unsupported(f"offset / @ modifier in {selector}")
        if selector.matchers.or_matchers:
            raise self.unsupported(f"'or' matchers in {selector}")
        matchers = list(selector.matchers.matchers)
        candidates = self.recording.named(selector.name) if selector.name else list(self.recording.series)
        return [labels for labels in candidates
                if all(_matches(m, dict(labels).get(m.name, "")) for m in matchers)]

    def select(self, selector: promql_parser.VectorSelector, t: float) -> Vector:
        vector: Vector = {}
        for labels in self.matching_series(selector):
            samples = self.recording.series[labels]
            i = bisect_right(samples, t, key=lambda sample: sample[0]) - 1
            if i < 0:
                continue
            sample_t, value = samples[i]
            if value is STALE or t - sample_t > LOOKBACK_SECONDS:
                continue
            vector[labels] = value
        return vector

    def window(self, matrix: promql_parser.MatrixSelector, t: float
               ) -> tuple[float, dict[Labels, list[tuple[float, float]]]]:
        seconds = matrix.range.total_seconds()
        start = t - seconds
        windows = {}
        for labels in self.matching_series(matrix.vector_selector):
            windows[labels] = [(st, v) for st, v in self.recording.series[labels]
                               if start < st <= t and v is not STALE]
        return start, windows

    # functions

    def call(self, node: promql_parser.Call, t: float) -> Value:
        name = node.func.name
        args = list(node.args)
        if name in ("rate", "increase"):
            if len(args) != 1 or not isinstance(args[0], promql_parser.MatrixSelector):
                raise self.unsupported(f"{name}() needs a range vector selector")
            start, windows = self.window(args[0], t)
            vector: Vector = {}
            for labels, samples in windows.items():
                value = extrapolated_delta(samples, start, t, is_counter=True, is_rate=name == "rate")
                if value is not None:
                    vector[_drop_name(labels)] = value
            return vector
        if name == "time":
            return float(t)
        if name == "histogram_quantile":
            q = self.eval(args[0], t)
            vector = self.eval(args[1], t)
            if not isinstance(q, float) or isinstance(vector, float):
                raise self.unsupported("histogram_quantile(scalar, vector) expected")
            groups: dict[Labels, list[tuple[float, float]]] = {}
            for labels, v in vector.items():
                mapping = dict(labels)
                if "le" not in mapping:
                    continue
                key = _drop_name(tuple(pair for pair in labels if pair[0] != "le"))
                groups.setdefault(key, []).append((float(mapping["le"]), v))
            return {key: bucket_quantile(q, buckets) for key, buckets in groups.items()}
        raise self.unsupported(f"function {name}()")

    # aggregation

    def aggregate(self, node: promql_parser.AggregateExpr, t: float) -> Vector:
        op = str(node.op)
        if op not in ("sum", "max", "min", "avg", "count") or node.param is not None:
            raise self.unsupported(f"aggregation {op}")
        value = self.eval(node.expr, t)
        if isinstance(value, float):
            raise self.unsupported(f"{op} over a scalar")
        by: list[str] | None = []  # no modifier: one group, no labels
        without: set[str] = set()
        if node.modifier is not None:
            if str(node.modifier.type).endswith("By"):
                by = list(node.modifier.labels)
            else:
                by, without = None, set(node.modifier.labels)
        groups: dict[Labels, list[float]] = {}
        for labels, v in value.items():
            mapping = dict(labels)
            if by is not None:
                key = labels_of({k: mapping[k] for k in by if mapping.get(k, "") != ""})
            else:
                key = tuple(pair for pair in labels if pair[0] not in without and pair[0] != "__name__")
            groups.setdefault(key, []).append(v)
        reduce = {"sum": math.fsum, "max": _nan_max, "min": _nan_min, "avg": statistics.fmean,
                  "count": len}[op]
        return {key: float(reduce(values)) for key, values in groups.items()}

    # binary operators

    def binary(self, node: promql_parser.BinaryExpr, t: float) -> Value:
        op = str(node.op)
        if op not in ARITHMETIC:
            raise self.unsupported(f"binary operator {op!r}")
        modifier = node.modifier
        if modifier is not None and modifier.return_bool:
            raise self.unsupported("bool modifier")
        lhs = self.eval(node.lhs, t)
        rhs = self.eval(node.rhs, t)
        if isinstance(lhs, float) and isinstance(rhs, float):
            return _arith(op, lhs, rhs)
        if isinstance(rhs, float):
            return {_drop_name(labels): _arith(op, v, rhs) for labels, v in lhs.items()}
        if isinstance(lhs, float):
            return {_drop_name(labels): _arith(op, lhs, v) for labels, v in rhs.items()}
        on: set[str] | None = None
        ignoring: set[str] = set()
        if modifier is not None:
            if not str(modifier.card).endswith("OneToOne"):
                raise self.unsupported("group_left / group_right")
            if modifier.matching is not None:
                if str(modifier.matching.type).endswith("Include"):
                    on = set(modifier.matching.labels)
                else:
                    ignoring = set(modifier.matching.labels)

        def key(labels: Labels) -> Labels:
            if on is not None:
                return tuple(pair for pair in labels if pair[0] in on)
            return tuple(pair for pair in _drop_name(labels) if pair[0] not in ignoring)

        right: dict[Labels, float] = {}
        for labels, v in rhs.items():
            if key(labels) in right:
                raise self.unsupported(f"many-to-many matching on {dict(key(labels))} (right side)")
            right[key(labels)] = v
        result: Vector = {}
        for labels, v in lhs.items():
            k = key(labels)
            if k not in right:
                continue
            out = k  # one-to-one: the left side's labels, less __name__ (and ignoring / not on)
            if out in result:
                raise self.unsupported(f"many-to-many matching on {dict(k)} (left side)")
            result[out] = _arith(op, v, right[k])
        return result


def dashboard_targets(dashboard: Mapping) -> list[tuple[dict, dict]]:
    """(panel, target) for every query of a Grafana dashboard, rows' collapsed panels included."""
    pairs = []
    for panel in dashboard.get("panels", []):
        for sub in [panel, *panel.get("panels", [])]:
            pairs += [(sub, target) for target in sub.get("targets", []) if target.get("expr")]
    return pairs
