"""Render the Grafana dashboard as a PNG from recorded metrics: every panel's PromQL evaluated over a
`make demo` recording, laid out by the panels' gridPos.

    .venv/bin/python bench/dashboard/render.py --metrics .demo/metrics.jsonl \\
        --dashboard charts/cenas/dashboards/cenas-overview.json --out docs/dashboard.png

The queries run with promql_eval.py (Prometheus's semantics for the subset the dashboard uses; anything
else is an error naming the expression). Grafana's variables: $__rate_interval = 4 x the scrape
interval, $__range = the recording's length, $namespace / $location = All (`.*`). Each query is a range
query over the recording, one step per scrape; stat and bargauge panels reduce it the way the panel says
(lastNotNull). Thresholds, units, stacking and bar draw style come from the panel's fieldConfig, with
Grafana's defaults where the dashboard sets none (thresholds: green, red from 80).

Queries that return no series are listed on stderr and drawn as Grafana does ("No data").
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # "$__range" and "{{label}}" are text
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from promql_eval import (  # noqa: E402
    Labels,
    Recording,
    dashboard_targets,
    evaluate_range,
    grafana_variables,
    load_recording,
    substitute,
)

WIDTH_PX = 1600
DPI = 100
UNIT_PX = 34  # one gridPos height unit (Grafana: 30 px + margin)
HEADER_PX = 70
PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
           "#508642", "#cca300", "#447ebc", "#c15c17"]
GRAFANA_COLORS = {"green": "#56a64b", "red": "#e02f44", "yellow": "#f2cc0c", "orange": "#ff9830",
                  "blue": "#3274d9", "purple": "#a352cc", "text": "#24292e"}
DEFAULT_THRESHOLDS = [{"color": "green", "value": None}, {"color": "red", "value": 80}]
BG, PANEL_BG, BORDER, TEXT, MUTED = "#f4f5f5", "#ffffff", "#dcdee1", "#24292e", "#6e7780"

Series = dict[Labels, list[tuple[float, float]]]


# --- values and names ---------------------------------------------------------------------------


def _num(value: float, digits: int = 3) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}g}" if abs(value) < 100 else f"{value:.0f}"


def format_value(value: float, unit: str) -> str:
    """Grafana-like formatting for the units the dashboard uses."""
    if value is None or math.isnan(value):
        return "No data"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        for size, name in ((86400, "day"), (3600, "hour"), (60, "min")):
            if abs(value) >= size:
                return f"{value / size:.1f} {name}"
        return f"{_num(value)} s" if abs(value) >= 0.001 or value == 0 else f"{value * 1e6:.0f} µs"
    if unit == "massg":
        for size, name in ((1e6, "t"), (1e3, "kg")):
            if abs(value) >= size:
                return f"{value / size:.3g} {name}"
        return f"{_num(value)} g"
    if unit == "kwatth":
        return f"{value * 1000:.3g} Wh" if 0 < abs(value) < 0.1 else f"{_num(value)} kWh"
    return _num(value)


def legend(target: dict, labels: Labels, expr: str) -> str:
    mapping = dict(labels)
    fmt = target.get("legendFormat") or ""
    if fmt and fmt != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: mapping.get(m.group(1), ""), fmt).strip()
    shown = {k: v for k, v in mapping.items() if k != "__name__"}
    if not shown:
        return expr
    return mapping.get("__name__", "") + "{" + ", ".join(f'{k}="{v}"' for k, v in shown.items()) + "}"


def last_not_null(points: list[tuple[float, float]]) -> float:
    for _, v in reversed(points):
        if not math.isnan(v):
            return v
    return math.nan


def threshold_color(value: float, field: dict) -> str:
    steps = (field.get("thresholds") or {}).get("steps") or DEFAULT_THRESHOLDS
    color = steps[0]["color"]
    for step in steps[1:]:
        if step.get("value") is not None and not math.isnan(value) and value >= step["value"]:
            color = step["color"]
    return GRAFANA_COLORS.get(color, color)


# --- evaluation ----------------------------------------------------------------------------------


def evaluate_dashboard(dashboard: dict, recording: Recording) -> dict[int, list[tuple[str, Series]]]:
    """{panel id(): [(query, series)...]} for every target, raising on unsupported PromQL."""
    variables = grafana_variables(recording)
    results: dict[int, list[tuple[str, Series]]] = {}
    for panel, target in dashboard_targets(dashboard):
        expr = substitute(target["expr"], variables)
        results.setdefault(id(panel), []).append((expr, evaluate_range(expr, recording)))
    return results


# --- drawing ------------------------------------------------------------------------------------


class Layout:
    def __init__(self, fig: plt.Figure, height_px: float) -> None:
        self.fig, self.height_px = fig, height_px

    def box(self, grid: dict, pad_px: float = 4) -> tuple[float, float, float, float]:
        """gridPos -> figure fraction (left, bottom, width, height) of the panel, with a margin."""
        col = WIDTH_PX / 24
        left = grid["x"] * col + pad_px
        top = HEADER_PX + grid["y"] * UNIT_PX + pad_px
        width = grid["w"] * col - 2 * pad_px
        height = grid["h"] * UNIT_PX - 2 * pad_px
        return (left / WIDTH_PX, 1 - (top + height) / self.height_px, width / WIDTH_PX,
                height / self.height_px)

    def inset(self, box, left=0, right=0, top=0, bottom=0):
        x, y, w, h = box
        return (x + left / WIDTH_PX, y + bottom / self.height_px, w - (left + right) / WIDTH_PX,
                h - (top + bottom) / self.height_px)


def draw_frame(layout: Layout, panel: dict, background: str = PANEL_BG) -> tuple:
    box = layout.box(panel["gridPos"])
    x, y, w, h = box
    layout.fig.patches.append(FancyBboxPatch(
        (x, y), w, h, boxstyle="round,pad=0,rounding_size=0.002", transform=layout.fig.transFigure,
        facecolor=background, edgecolor=BORDER, linewidth=1, zorder=-2))
    title_color = "white" if background != PANEL_BG else TEXT
    layout.fig.text(x + 8 / WIDTH_PX, y + h - 8 / layout.height_px, panel.get("title", ""),
                    fontsize=11, fontweight="bold", color=title_color, va="top", ha="left")
    return box


def no_data(layout: Layout, box) -> None:
    x, y, w, h = box
    layout.fig.text(x + w / 2, y + h / 2, "No data", fontsize=14, color=MUTED, ha="center", va="center")


def draw_timeseries(layout: Layout, panel: dict, queries: list[tuple[str, Series]]) -> None:
    box = draw_frame(layout, panel)
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit", "none")
    custom = defaults.get("custom", {})
    bars = custom.get("drawStyle") == "bars"
    stacked_default = custom.get("stacking", {}).get("mode", "none") == "normal"
    unstacked = {o["matcher"]["options"] for o in panel.get("fieldConfig", {}).get("overrides", [])
                 if o["matcher"].get("id") == "byName"
                 and any(p["id"] == "custom.stacking" and p["value"].get("mode") == "none"
                         for p in o.get("properties", []))}
    lines = [(legend(target, labels, expr), points)
             for target, (expr, series) in zip(panel["targets"], queries, strict=True)
             for labels, points in sorted(series.items())]
    if not lines:
        no_data(layout, box)
        return
    rows = math.ceil(len(lines) / max(1, min(len(lines), 4 if panel["gridPos"]["w"] >= 12 else 1)))
    legend_px = 8 + 15 * min(rows, 6)
    ax = layout.fig.add_axes(layout.inset(box, left=62, right=12, top=36, bottom=26 + legend_px))
    ax.set_facecolor(PANEL_BG)
    stack_base: dict[float, float] = {}
    handles = []
    step = None
    for i, (name, points) in enumerate(lines):
        color = PALETTE[i % len(PALETTE)]
        times = [datetime.fromtimestamp(t, UTC) for t, _ in points]
        values = [v for _, v in points]
        if len(points) > 1:
            step = (points[-1][0] - points[0][0]) / (len(points) - 1)
        if stacked_default and name not in unstacked:
            base = [stack_base.get(t, 0.0) for t, _ in points]
            for (t, v), b in zip(points, base, strict=True):
                stack_base[t] = b + (0.0 if math.isnan(v) else v)
        else:
            base = [0.0] * len(points)
        if bars:
            width = (step or 5) * 0.8 / 86400
            handle = ax.bar(times, values, bottom=base, width=width, color=color, label=name, linewidth=0)
        elif stacked_default and name not in unstacked:
            tops = [b + v for b, v in zip(base, values, strict=True)]
            ax.fill_between(times, base, tops, color=color, alpha=0.25, linewidth=0, step=None)
            (handle,) = ax.plot(times, tops, color=color, linewidth=1.6, label=name)
        else:
            (handle,) = ax.plot(times, values, color=color, linewidth=1.8, label=name)
        handles.append(handle)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    _, _, width, _ = box
    span_minutes = max(1.0, (lines[0][1][-1][0] - lines[0][1][0][0]) / 60) if lines[0][1] else 1.0
    ticks = max(2, int(width * WIDTH_PX / 90))  # a label every ~90 px at most
    ax.xaxis.set_major_locator(mdates.MinuteLocator(interval=max(1, math.ceil(span_minutes / ticks))))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit)))
    ax.tick_params(labelsize=8.5, colors=MUTED, length=0)
    ax.grid(True, color="#eceef0", linewidth=0.8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    finite = [v for _, points in lines for _, v in points if math.isfinite(v)]
    if finite and min(finite) >= 0:  # Grafana's soft minimum 0 for non-negative data
        ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1e-9) if max(finite) > 0 else 1)
    x, y, _, _ = box
    ncol = min(len(lines), 4 if panel["gridPos"]["w"] >= 12 else 1)
    shown = handles[: 6 * ncol]
    leg = layout.fig.legend(handles=shown, labels=[h.get_label() for h in shown], ncol=ncol,
                            loc="lower left", bbox_to_anchor=(x + 8 / WIDTH_PX, y + 4 / layout.height_px),
                            bbox_transform=layout.fig.transFigure, frameon=False, fontsize=8.5,
                            handlelength=1.2, columnspacing=1.2, borderaxespad=0, labelcolor=TEXT)
    leg.set_zorder(3)


def draw_stat(layout: Layout, panel: dict, queries: list[tuple[str, Series]]) -> None:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit", "none")
    values = [(legend(target, labels, expr), last_not_null(points))
              for target, (expr, series) in zip(panel["targets"], queries, strict=True)
              for labels, points in sorted(series.items())]
    background = panel.get("options", {}).get("colorMode") == "background"
    if background and len(values) == 1:
        box = draw_frame(layout, panel, threshold_color(values[0][1], defaults))
    else:
        box = draw_frame(layout, panel)
    if not values:
        no_data(layout, box)
        return
    x, y, w, h = layout.inset(box, top=30, bottom=8, left=8, right=8)
    cell_h = h / len(values)
    for i, (name, value) in enumerate(values):
        cy = y + h - (i + 0.5) * cell_h
        color = threshold_color(value, defaults)
        if background and len(values) > 1:
            layout.fig.patches.append(FancyBboxPatch(
                (x, y + h - (i + 1) * cell_h + 2 / layout.height_px), w, cell_h - 4 / layout.height_px,
                boxstyle="square,pad=0", transform=layout.fig.transFigure, facecolor=color,
                edgecolor="none", zorder=-1))
        text_color = "white" if background else color
        size = 34 if len(values) == 1 else max(16, 30 - 4 * len(values))
        show_name = len(values) > 1  # Grafana's textMode "auto": names only for several values
        layout.fig.text(x + w / 2, cy + (0.12 * cell_h if show_name else 0), format_value(value, unit),
                        fontsize=size, fontweight="bold", color=text_color, ha="center", va="center")
        if show_name:
            layout.fig.text(x + w / 2, cy - 0.28 * cell_h, name, fontsize=10,
                            color="white" if background else MUTED, ha="center", va="center")


def draw_bargauge(layout: Layout, panel: dict, queries: list[tuple[str, Series]]) -> None:
    box = draw_frame(layout, panel)
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit", "none")
    values = [(legend(target, labels, expr), last_not_null(points))
              for target, (expr, series) in zip(panel["targets"], queries, strict=True)
              for labels, points in sorted(series.items())]
    if not values:
        no_data(layout, box)
        return
    finite = [v for _, v in values if math.isfinite(v)] or [0.0]
    lo = defaults.get("min", min(0.0, *finite))
    hi = defaults.get("max", max(0.0, *finite))
    if hi <= lo:
        hi = lo + 1
    ax = layout.fig.add_axes(layout.inset(box, left=12, right=12, top=32, bottom=10))
    ax.set_xlim(lo, hi)
    n = len(values)
    ax.set_ylim(max(n, 3) - 0.5, -0.7)  # rows keep their height when there are few
    for i, (name, value) in enumerate(values):
        color = threshold_color(value, defaults)
        ax.barh(i + 0.18, hi - lo, left=lo, height=0.45, color="#eceef0", linewidth=0)
        if math.isfinite(value):
            ax.barh(i + 0.18, value, left=0, height=0.45, color=color, linewidth=0)
        ax.text(lo, i - 0.25, name, fontsize=9.5, color=TEXT, va="center", ha="left")
        ax.text(hi, i - 0.25, format_value(value, unit), fontsize=12, fontweight="bold", color=color,
                va="center", ha="right")
    ax.axis("off")


def draw_row(layout: Layout, panel: dict) -> None:
    x, y, _, h = layout.box(panel["gridPos"], pad_px=2)
    layout.fig.text(x + 2 / WIDTH_PX, y + h / 2, "▾ " + panel.get("title", ""), fontsize=13,
                    fontweight="bold", color=TEXT, va="center", ha="left")


DRAW = {"timeseries": draw_timeseries, "stat": draw_stat, "bargauge": draw_bargauge}


def render(dashboard: dict, recording: Recording, out: Path, source: str = "") -> list[str]:
    """Draw the dashboard to `out`; returns the queries that returned no data (or only NaN)."""
    results = evaluate_dashboard(dashboard, recording)
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    height_px = HEADER_PX + bottom * UNIT_PX + 10
    fig = plt.figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor=BG)
    layout = Layout(fig, height_px)
    start = datetime.fromtimestamp(recording.start, UTC)
    end = datetime.fromtimestamp(recording.end, UTC)
    variables = grafana_variables(recording)
    fig.text(8 / WIDTH_PX, 1 - 12 / height_px, f"{dashboard.get('title', '')} — dashboard on recorded metrics",
             fontsize=16, fontweight="bold", color=TEXT, va="top")
    names = [v.get("label", v["name"]) for v in dashboard.get("templating", {}).get("list", [])
             if v.get("type") == "query"]
    fig.text(8 / WIDTH_PX, 1 - 42 / height_px,
             f"{start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC, {len(recording.times)} scrapes"
             f"{' of ' + source if source else ''}   ·   "
             + "   ".join(f"{name}: All" for name in names)
             + f"   ·   $__rate_interval = {float(variables['__rate_interval'][:-2]) / 1000:.0f} s,"
             f" $__range = recording",
             fontsize=10, color=MUTED, va="top")
    empty = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            draw_row(layout, panel)
            continue
        queries = results.get(id(panel), [])
        for target, (expr, series) in zip(panel.get("targets", []), queries, strict=True):
            if not any(not math.isnan(v) for points in series.values() for _, v in points):
                empty.append(f"{panel['title']} [{target.get('refId', '')}]: {expr}"
                             + ("" if series else " (no series)") + ("" if not series else " (NaN only)"))
        if panel["type"] not in DRAW:
            raise ValueError(f"panel {panel.get('title')!r}: panel type {panel['type']!r} is not drawn")
        DRAW[panel["type"]](layout, panel, queries)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, facecolor=BG)
    plt.close(fig)
    return empty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=Path, default=Path(".demo/metrics.jsonl"))
    parser.add_argument("--dashboard", type=Path, default=Path("charts/cenas/dashboards/cenas-overview.json"))
    parser.add_argument("--out", type=Path, default=Path("docs/dashboard.png"))
    args = parser.parse_args(argv)
    with args.metrics.open() as lines:
        recording = load_recording(lines)
    if len(recording.times) < 2:
        parser.error(f"{args.metrics}: fewer than two scrapes")
    dashboard = json.loads(args.dashboard.read_text())
    empty = render(dashboard, recording, args.out, source="`make demo`")
    for line in empty:
        print(f"no data: {line}", file=sys.stderr)
    print(f"wrote {args.out} ({len(recording.times)} scrapes, {len(recording.series)} series)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
