"""matplotlib figures → inline SVG, and the small table helpers the charts share.

Several SVGs live in one HTML document, so every ``id`` a chart defines (clip paths, markers)
is prefixed with the chart's name, and references to it follow: two charts never resolve each
other's ``#id``. Text stays text (``svg.fonttype = none``) and the output is deterministic
(no date, a fixed hash salt per chart).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Any

import matplotlib as mpl
import pyarrow as pa
from matplotlib.figure import Figure

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def new_figure(width: float = 7.5, height: float = 3.0) -> Figure:
    """A figure not attached to pyplot (no global state, safe in any thread)."""
    with mpl.rc_context({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False}):
        return Figure(figsize=(width, height), layout="constrained")


def to_svg(figure: Figure, name: str) -> str:
    """The figure as an ``<svg>`` element whose ids are all prefixed with ``name``."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', svg)
    return svg.replace("<svg ", f'<svg class="chart-svg" data-chart="{name}" ', 1)


def floats(table: pa.Table, column: str) -> list[float]:
    """A numeric column as floats, null → NaN (matplotlib leaves a gap)."""
    return [math.nan if v is None else float(v) for v in table.column(column).to_pylist()]


def seconds(array: pa.ChunkedArray[Any] | pa.Array[Any]) -> list[float]:
    """A duration column in seconds (null → NaN); an integer column as it is."""
    kind = array.type
    factor = _UNIT_SECONDS[kind.unit] if pa.types.is_duration(kind) else 1.0
    values = array.cast(pa.int64()).to_pylist() if pa.types.is_duration(kind) else array.to_pylist()
    return [math.nan if v is None else float(v) * factor for v in values]


def has_values(table: pa.Table | None, column: str) -> bool:
    return (
        table is not None
        and column in table.column_names
        and table.num_rows > 0
        and table.column(column).null_count < table.num_rows
    )


def segment_name(columns: list[str], key: tuple[Any, ...]) -> str:
    return ", ".join(f"{c}={v}" for c, v in zip(columns, key, strict=True))


def segments(
    table: pa.Table,
    columns: list[str],
    name: Callable[[list[str], tuple[Any, ...]], str] = segment_name,
) -> list[tuple[str, pa.Table]]:
    """Rows split by the values of ``columns`` (in order of first appearance)."""
    if not columns:
        return [("all", table)]
    keys = list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return [(name(columns, key), table.take(rows)) for key, rows in groups.items()]


def traffic_name(columns: list[str], key: tuple[Any, ...]) -> str:
    """``explored=True`` → "exploration", ``False`` → "policy" (other segments as usual)."""
    if len(key) == 1 and isinstance(key[0], bool):
        return "exploration" if key[0] else "policy"
    return segment_name(columns, key)


def compact_seconds(value: float) -> str:
    """Short axis labels in the largest unit that fits: ``90`` → ``"1.5m"``, ``7200`` → ``"2h"``."""
    for unit, size in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0), ("s", 1.0)]:
        if value >= size:
            count = value / size
            return f"{count:.0f}{unit}" if count == round(count) else f"{count:.1f}{unit}"
    if value <= 0:
        return "0"
    return f"{value * 1000:.0f}ms"
