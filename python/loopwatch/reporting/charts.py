"""The report's charts, one function each: metric tables in, an inline ``<svg>`` out.

Every chart is drawn by matplotlib from the engine's tables (columns as in
``/work/contract.md``); segment columns give one line (or bar group) per segment.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.dates as mdates
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.ticker import NullLocator

from .data import HitRateData, TrendData
from .svg import (
    PALETTE,
    compact_seconds,
    floats,
    has_values,
    new_figure,
    seconds,
    segments,
    to_svg,
    traffic_name,
)

LABEL_PANELS = [
    ("positive_rate", "positive rate"),
    ("roc_auc", "ROC AUC"),
    ("ece", "calibration error (ECE)"),
    ("matured", "share matured"),
]
POPULARITY_PANELS = [
    ("arp", "ARP (mean popularity)"),
    ("aplt", "APLT (long-tail share)"),
    ("coverage", "catalog coverage"),
    ("gini", "Gini of exposure"),
]


def _bin_label(start: float, end: float, durations: bool) -> str:
    text = compact_seconds if durations else (lambda v: f"{v:.0f}")
    return f"≥{text(start)}" if math.isnan(end) else f"{text(start)}-{text(end)}"


def delay_histogram(histogram: pa.Table, by: list[str]) -> str:
    """Share of first-feedback delays per log-spaced bin ``[bin_start, bin_end)``."""
    durations = pa.types.is_duration(histogram.schema.field("bin_start").type)
    starts = seconds(histogram.column("bin_start"))
    ends = seconds(histogram.column("bin_end"))
    bins = sorted(set(zip(starts, ends, strict=True)), key=lambda b: b[0])
    index = {start: i for i, (start, _) in enumerate(bins)}
    parts = segments(histogram, by)
    width = 0.8 / len(parts)
    figure = new_figure(7.5, 3.0)
    ax = figure.subplots()
    for k, (name, part) in enumerate(parts):
        counts = floats(part, "count")
        total = sum(counts) or 1.0
        x = [index[s] - 0.4 + width * (k + 0.5) for s in seconds(part.column("bin_start"))]
        ax.bar(x, [c / total for c in counts], width, label=name, color=PALETTE[k % 7])
    ax.set_xticks(range(len(bins)), [_bin_label(s, e, durations) for s, e in bins], rotation=45)
    ax.set_ylabel("share of delays")
    ax.set_xlabel("time from prediction to first feedback")
    if len(parts) > 1:
        ax.legend(frameon=False)
    return to_svg(figure, "delay")


def window_tradeoff(table: pa.Table, by: list[str], target_recall: float) -> str:
    """Recall of each candidate window against the reference window, on a log time axis."""
    figure = new_figure(7.5, 3.0)
    ax = figure.subplots()
    ticks: dict[float, str] = {}
    for k, (name, part) in enumerate(segments(table, by)):
        x = seconds(part.column("window_duration"))
        y = floats(part, "recall")
        ax.plot(x, y, marker="o", color=PALETTE[k % 7], label=name)
        best = part.column("smallest_reaching_target").to_pylist()
        ax.plot(
            [xi for xi, b in zip(x, best, strict=True) if b],
            [yi for yi, b in zip(y, best, strict=True) if b],
            linestyle="none",
            marker="*",
            markersize=15,
            color=PALETTE[k % 7],
        )
        ticks |= dict(zip(x, (str(w) for w in part.column("window").to_pylist()), strict=True))
    ax.axhline(target_recall, linestyle="--", color="grey", linewidth=1)
    ax.set_xscale("log")
    ax.set_xticks(list(ticks), list(ticks.values()))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("label window (log scale); ★ smallest window reaching the target")
    ax.set_ylabel("recall of reference positives")
    if len(by) > 0:
        ax.legend(frameon=False)
    return to_svg(figure, "window-tradeoff")


def _over_time(ax: Axes, table: pa.Table, column: str, by: list[str], title: str) -> None:
    parts = segments(table, by, traffic_name)
    for k, (name, part) in enumerate(parts):
        times = (
            part.column("bucket_start").to_pylist() if "bucket_start" in part.column_names else []
        )
        x: list[Any] = times or list(range(part.num_rows))
        ax.plot(x, floats(part, column), marker=".", color=PALETTE[k % 7], label=name)
    ax.set_title(title, fontsize=9)
    if "bucket_start" in table.column_names:
        # matplotlib.dates ships without annotations on these two constructors.
        locator = mdates.AutoDateLocator(maxticks=6)  # type: ignore[no-untyped-call]
        formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(formatter)
    if len(parts) > 1:
        ax.legend(frameon=False, fontsize=7)


def label_metrics(table: pa.Table, by: list[str], name: str = "label-metrics") -> str:
    """Positive rate, AUC, ECE and the matured share per time bucket (those with values)."""
    panels = [(c, t) for c, t in LABEL_PANELS if has_values(table, c)]
    rows = (len(panels) + 1) // 2
    figure = new_figure(7.5, 2.3 * rows)
    axes = figure.subplots(rows, 2, squeeze=False).ravel()
    for ax, (column, title) in zip(axes, panels, strict=False):
        _over_time(ax, table, column, by, title)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return to_svg(figure, name)


def position_curve(table: pa.Table) -> str:
    """Positive rate per position, one line per segment (e.g. exploration vs policy)."""
    by = table.column_names[: table.column_names.index("position")]
    figure = new_figure(7.5, 3.0)
    ax = figure.subplots()
    parts = segments(table, by, traffic_name)
    for k, (name, part) in enumerate(parts):
        ax.plot(
            floats(part, "position"),
            floats(part, "positive_rate"),
            marker="o",
            label=name,
            color=PALETTE[k % 7],
        )
    ax.set_xlabel("position in the list")
    ax.set_ylabel("positive rate")
    ax.set_ylim(bottom=0)
    if len(parts) > 1:
        ax.legend(frameon=False)
    return to_svg(figure, "position-bias")


def popularity(
    table: pa.Table,
    trend: TrendData | None,
    by: list[str],
    reference: tuple[Any, Any] | None = None,
) -> str:
    """ARP, APLT, coverage and Gini per time bucket, titled with their trend direction.

    With a ``reference`` period ``(start, end)`` and a time axis, the period is shaded.
    """
    directions: dict[str, str] = {}
    if trend is not None and trend.table.num_rows:
        for metric, direction in zip(
            trend.table.column("metric").to_pylist(),
            trend.table.column("direction").to_pylist(),
            strict=True,
        ):
            directions.setdefault(str(metric), str(direction))
    figure = new_figure(7.5, 4.6)
    axes = figure.subplots(2, 2).ravel()
    for ax, (column, title) in zip(axes, POPULARITY_PANELS, strict=True):
        suffix = f": {directions[column]}" if column in directions else ""
        _over_time(ax, table, column, by, title + suffix)
        if reference is not None and "bucket_start" in table.column_names:
            _shade(ax, table, reference)
    return to_svg(figure, "popularity")


def _shade(ax: Axes, table: pa.Table, reference: tuple[Any, Any]) -> None:
    """Shade ``[start, end)`` of the reference period (open ends: the data's first / last)."""
    times = [t for t in table.column("bucket_start").to_pylist() if t is not None]
    if not times:
        return
    start = reference[0] if reference[0] is not None else min(times)
    end = reference[1] if reference[1] is not None else max(times)
    if not isinstance(start, type(times[0])) or not isinstance(end, type(times[0])):
        return  # e.g. integer bounds against a timestamp axis: nothing sensible to draw
    ax.axvspan(start, end, color="#999999", alpha=0.15, linewidth=0, label="_reference")


def hit_rate(hit: HitRateData) -> str:
    """Positive rate per popularity bucket, with the number of predictions on each bar."""
    table = hit.table
    figure = new_figure(7.5, 3.0)
    ax = figure.subplots()
    names = [str(b) for b in table.column("bucket").to_pylist()]
    bars = ax.bar(range(len(names)), floats(table, "positive_rate"), color=PALETTE[0])
    ax.bar_label(bars, [f"n={n:,}" for n in table.column("predictions").to_pylist()], fontsize=7)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("item popularity φ (interactions)")
    ax.set_ylabel("positive rate")
    return to_svg(figure, "hit-rate")


def exploration(table: pa.Table, flag: str) -> str:
    """Label metrics of exploration traffic next to policy traffic, per time bucket."""
    return label_metrics(table, [flag], name="exploration")
