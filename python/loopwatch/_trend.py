"""``lw.trend``: Theil-Sen slopes and Mann-Kendall tests over a bucketed metric table (SPEC §5).

This runs in Python with numpy on purpose: a metric table has one row per time bucket (tens to
hundreds of rows), so the O(n²) pairwise slopes and signs take microseconds, and the Rust engine
would add nothing but code to maintain.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .errors import ConfigError, SchemaError

FloatArray = npt.NDArray[np.float64]

# The degenerate-feedback-loop signature: each metric and the direction that means "worse".
UNHEALTHY = {
    "arp": "rising",
    "gini": "rising",
    "aplt": "falling",
    "coverage": "falling",
    "entropy": "falling",
}
_OPPOSITE = {"rising": "falling", "falling": "rising"}
_DISPLAY = {"arp": "ARP", "aplt": "APLT", "aclt": "ACLT", "gini": "Gini"}
_CADENCE_S = {60: "minutely", 3_600: "hourly", 86_400: "daily", 7 * 86_400: "weekly"}
_UNIT_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class TrendReport:
    """What :func:`trend` found.

    ``table``: one row per metric (and ``by`` segment) with ``n_buckets``, ``first``, ``last``,
    ``slope``, ``p_value`` and ``direction``. ``verdict``: the same in plain words.
    ``homogenizing``: the degenerate-feedback-loop signature was found (in some segment).
    """

    table: pa.Table
    verdict: str
    homogenizing: bool

    def __str__(self) -> str:
        return self.verdict


@dataclass(frozen=True)
class _Fit:
    """Trend statistics of one metric series."""

    n: int
    first: float | None
    last: float | None
    slope: float | None
    p_value: float | None
    direction: str


def trend(
    metrics: Any,
    *,
    time: str = "bucket_start",
    columns: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> TrendReport:
    """Is each metric moving over time, which way, and how confidently?

    ``metrics`` is a bucketed metric table (``lw.popularity_metrics``, ``lw.label_metrics`` with
    ``every=``, or any Arrow table / pandas / Polars frame with a time column). For each metric
    column (default: every floating column except ``time`` and ``by``) and each ``by`` segment,
    over the rows sorted by ``time`` whose value is not null (nor NaN), with ``x_i`` the index of
    the row's time among the segment's sorted distinct times:

    * Theil-Sen slope (per bucket) = median over pairs ``i < j`` with ``x_i != x_j`` of
      ``(y_j - y_i) / (x_j - x_i)``;
    * Mann-Kendall ``S = sum_{i<j} sign(x_j - x_i) · sign(y_j - y_i)``, with the tie-corrected
      variance ``Var(S) = [n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18`` (``t``: sizes of groups of
      equal values), ``Z = (S - sign(S)) / √Var(S)`` (continuity correction; ``Z = 0`` when
      ``S = 0``) and the two-sided ``p = 2 (1 - Φ(|Z|))``; null with fewer than 3 points;
    * ``direction`` = ``"rising"`` / ``"falling"`` (sign of ``S``) when ``p < alpha``, else
      ``"flat"``.

    ``homogenizing`` is true when, in some segment, at least two of {ARP rising, Gini rising,
    APLT falling, coverage falling, entropy falling} hold (columns ``arp``, ``gini``, ``aplt``,
    ``coverage``, ``entropy``) and none of these five moves significantly the healthy way.

    Returns a :class:`TrendReport`; its table has the columns ``*by``, ``metric`` (string),
    ``n_buckets`` (int64, points used), ``first``, ``last``, ``slope``, ``p_value`` (float64) and
    ``direction`` (string), sorted by ``by`` (nulls last), then metrics in column order.

    >>> import pyarrow as pa, loopwatch as lw
    >>> days = pa.array(range(14), pa.int64())
    >>> table = pa.table({"day": days, "arp": [10.0 + d for d in range(14)],
    ...                   "gini": [0.5 + 0.01 * d for d in range(14)],
    ...                   "coverage": [0.9 - 0.02 * d for d in range(14)]})
    >>> print(lw.trend(table, time="day"))  # doctest: +NORMALIZE_WHITESPACE
    ARP and Gini rising, coverage falling over 14 buckets: recommendations are
    homogenizing (p < 0.001).

    Raises ``SchemaError`` for a missing or unusable column and ``ConfigError`` for a bad
    argument, naming it.
    """
    table = _as_table(metrics)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ConfigError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    _check_time(table, time)
    by_cols = _names(by, "by")
    for name in by_cols:
        _check_group_column(table, name)
    metric_cols = _metric_columns(table, columns, layout=[time, *by_cols])

    times = _time_ints(table, time)
    values = {m: table.column(m).to_pylist() for m in metric_cols}
    rows: list[dict[str, Any]] = []
    sentences: list[str] = []
    homogenizing = False
    for key, idx in _segments(table, by_cols):
        timed = sorted((t, i) for i in idx if (t := times[i]) is not None)
        distinct = sorted({t for t, _ in timed})
        bucket = {t: k for k, t in enumerate(distinct)}
        x = [bucket[t] for t, _ in timed]
        fits = {m: _fit(*_points(x, [values[m][i] for _, i in timed]), alpha) for m in metric_cols}
        for m, fit in fits.items():
            rows.append(dict(zip(by_cols, key, strict=True)) | _fit_row(m, fit))
        verdict, worse = _segment_verdict(fits, len(distinct), _cadence(table, time, distinct))
        homogenizing = homogenizing or worse
        prefix = ", ".join(f"{b}={v}" for b, v in zip(by_cols, key, strict=True))
        sentences.append(f"{prefix}: {verdict}" if prefix else verdict)
    if not sentences:
        sentences.append("No significant trend over 0 buckets.")
    return TrendReport(_build_table(table, by_cols, rows), " ".join(sentences), homogenizing)


# --- inputs -----------------------------------------------------------------------------------


def _as_table(metrics: Any) -> pa.Table:
    if isinstance(metrics, pa.Table):
        return metrics
    try:
        return pa.table(metrics)
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise ConfigError(
            f"metrics: expected an Arrow table, pandas or Polars frame, got {type(metrics)!r}"
        ) from exc


def _names(value: str | Sequence[str] | None, argument: str) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{argument}: expected column names, got {value!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{argument}: duplicate column names in {names!r}")
    return names


def _field(table: pa.Table, name: str, argument: str) -> pa.Field[Any]:
    if name not in table.column_names:
        raise SchemaError(f"{argument}: no column {name!r} in {table.column_names}")
    return table.schema.field(name)


def _check_time(table: pa.Table, time: str) -> None:
    t = _field(table, time, "time").type
    if not (pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_integer(t)):
        raise SchemaError(f"time: column {time!r} has type {t}, not a timestamp, date or integer")


def _check_group_column(table: pa.Table, name: str) -> None:
    t = _field(table, name, "by").type
    if pa.types.is_dictionary(t):
        t = t.value_type
    usable = (
        pa.types.is_integer(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
    )
    if not usable:
        raise SchemaError(f"by: column {name!r} has type {t}, not int/str/bool/dictionary")


def _metric_columns(
    table: pa.Table, columns: str | Sequence[str] | None, layout: list[str]
) -> list[str]:
    if columns is None:
        return [
            f.name for f in table.schema if pa.types.is_floating(f.type) and f.name not in layout
        ]
    names = _names(columns, "columns")
    for name in names:
        t = _field(table, name, "columns").type
        if name in layout:
            raise ConfigError(f"columns: {name!r} is the time or a by column")
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
            raise SchemaError(f"columns: column {name!r} has type {t}, not numeric")
    return names


def _decoded(table: pa.Table, name: str) -> list[Any]:
    col = table.column(name)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col.to_pylist()


def _segments(table: pa.Table, by: list[str]) -> list[tuple[tuple[Any, ...], list[int]]]:
    """Row indices per ``by`` value, sorted ascending with nulls last."""
    cols = [_decoded(table, b) for b in by]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in range(table.num_rows):
        groups.setdefault(tuple(c[i] for c in cols), []).append(i)
    return sorted(
        groups.items(), key=lambda kv: tuple((v is None, 0 if v is None else v) for v in kv[0])
    )


def _time_ints(table: pa.Table, time: str) -> list[int | None]:
    col = table.column(time)
    if pa.types.is_date32(col.type):
        col = col.cast(pa.int32())
    elif not pa.types.is_integer(col.type):
        col = col.cast(pa.int64())
    return col.to_pylist()


def _points(x: list[int], y: list[Any]) -> tuple[FloatArray, FloatArray]:
    """The ``(x, y)`` points whose value is neither null nor NaN."""
    keep = [k for k, v in enumerate(y) if v is not None and not math.isnan(v)]
    return (
        np.array([x[k] for k in keep], dtype=np.float64),
        np.array([y[k] for k in keep], dtype=np.float64),
    )


# --- statistics -------------------------------------------------------------------------------


def theil_sen(x: FloatArray, y: FloatArray) -> float | None:
    """Median of ``(y_j - y_i) / (x_j - x_i)`` over pairs with ``x_i < x_j``; None without any."""
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    pairs = dx > 0
    if not pairs.any():
        return None
    return float(np.median(dy[pairs] / dx[pairs]))


def mann_kendall(x: FloatArray, y: FloatArray) -> tuple[int, float | None]:
    """``(S, two-sided p)``: tie-corrected variance, continuity correction; p None if n < 3."""
    n = len(y)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    signs = np.sign(x[None, :] - x[:, None]) * np.sign(y[None, :] - y[:, None])
    s = int(signs[upper].sum())
    if n < 3:
        return s, None
    _, ties = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18
    if s == 0 or var <= 0:
        return s, 1.0
    z = (s - math.copysign(1, s)) / math.sqrt(var)
    return s, math.erfc(abs(z) / math.sqrt(2))  # = 2 (1 - Φ(|z|))


def _fit(x: FloatArray, y: FloatArray, alpha: float) -> _Fit:
    s, p = mann_kendall(x, y)
    direction = "flat"
    if p is not None and p < alpha:
        direction = "rising" if s > 0 else "falling"
    return _Fit(
        n=len(y),
        first=float(y[0]) if len(y) else None,
        last=float(y[-1]) if len(y) else None,
        slope=theil_sen(x, y),
        p_value=p,
        direction=direction,
    )


def _fit_row(metric: str, fit: _Fit) -> dict[str, Any]:
    return {
        "metric": metric,
        "n_buckets": fit.n,
        "first": fit.first,
        "last": fit.last,
        "slope": fit.slope,
        "p_value": fit.p_value,
        "direction": fit.direction,
    }


def _build_table(table: pa.Table, by: list[str], rows: list[dict[str, Any]]) -> pa.Table:
    fields = []
    for b in by:
        t = table.schema.field(b).type
        fields.append(pa.field(b, t.value_type if pa.types.is_dictionary(t) else t))
    fields += [
        pa.field("metric", pa.string()),
        pa.field("n_buckets", pa.int64()),
        pa.field("first", pa.float64()),
        pa.field("last", pa.float64()),
        pa.field("slope", pa.float64()),
        pa.field("p_value", pa.float64()),
        pa.field("direction", pa.string()),
    ]
    arrays = [pa.array([r[f.name] for r in rows], type=f.type) for f in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# --- words ------------------------------------------------------------------------------------


def _cadence(table: pa.Table, time: str, distinct: list[int]) -> str:
    """``"daily "``, ``"hourly "``... when the buckets are evenly spaced by such a step."""
    steps = {b - a for a, b in itertools.pairwise(distinct)}
    if len(steps) != 1:
        return ""
    step = steps.pop()
    t = table.schema.field(time).type
    if pa.types.is_timestamp(t):
        seconds, rest = divmod(step, _UNIT_S[t.unit])
        return f"{_CADENCE_S[seconds]} " if rest == 0 and seconds in _CADENCE_S else ""
    if pa.types.is_date32(t):
        return {1: "daily ", 7: "weekly "}.get(step, "")
    return ""


def _join(names: list[str]) -> str:
    shown = [_DISPLAY.get(n, n) for n in names]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _p_text(p: float) -> str:
    for bound in (0.001, 0.01, 0.05):
        if p < bound:
            return f"p < {bound:g}"
    return f"p = {p:.2g}"


def _segment_verdict(fits: dict[str, _Fit], n_buckets: int, cadence: str) -> tuple[str, bool]:
    """``(sentence, homogenizing)`` for one segment."""
    moving = {m: f for m, f in fits.items() if f.direction != "flat"}
    if not moving:
        return f"No significant trend over {n_buckets} buckets.", False
    worse = [m for m, d in UNHEALTHY.items() if m in moving and moving[m].direction == d]
    better = [
        m for m, d in UNHEALTHY.items() if m in moving and moving[m].direction == _OPPOSITE[d]
    ]
    homogenizing = len(worse) >= 2 and not better
    parts = [
        f"{_join(names)} {direction}"
        for direction in ("rising", "falling")
        if (names := [m for m, f in moving.items() if f.direction == direction])
    ]
    text = ", ".join(parts)
    text = text[0].upper() + text[1:]
    p = _p_text(max(f.p_value or 0.0 for f in moving.values()))
    if homogenizing:
        meaning = ": recommendations are homogenizing"
    elif len(better) >= 2 and not worse:
        meaning = ": recommendations are diversifying"
    else:
        meaning = ""
    return f"{text} over {n_buckets} {cadence}buckets{meaning} ({p}).", homogenizing
