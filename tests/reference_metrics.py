"""Slow, obviously-correct references of the metric functions (contract.md, SPEC §3-§4).

``label_metrics``, ``position_curve``, ``delay_profile`` and ``window_tradeoff`` take a
``pyarrow.Table`` and the keyword arguments of the ``lw`` functions of the same name, and return
``pyarrow.Table``s with exactly the contract's schemas (``delay_profile`` returns a
:class:`DelayProfileTables` with ``.summary`` and ``.histogram``). Every group is a plain Python
list of rows, every statistic a plain loop over it: sums are ``math.fsum`` (correctly rounded),
ROC AUC counts every (positive, negative) pair, quantiles interpolate exactly with fractions.
O(P·N) per bucket: for small inputs only.

:func:`assert_tables_match` compares an engine's table with a reference table (schema, nulls,
values; floats relatively), for the engine's own tests.

Decisions where the contract is silent (the engine should agree; they are tested here):

* ``every`` must be a whole number of the time column's unit (else ``ConfigError``); integer time
  columns take an integer ``every``, timestamp columns a duration string or ``timedelta``;
* ``delay_profile``: the mean and the quantiles of a duration column are rounded half away from
  zero (delays are never negative, so: half up) to the column's unit;
* ``window_tradeoff``: the segments are those of every input row (matured or not, so a segment
  with nothing matured still gets its windows with zero counts); ``reaches_target`` is null when
  ``recall`` is null; for integer time the default ``windows`` is just ``[reference]`` (the
  duration ladder has no meaning there); windows that are not a whole number of the delay
  column's unit are a ``ConfigError``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import pyarrow as pa

from loopwatch.errors import ConfigError, DataError, SchemaError

NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_DURATION_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3_600 * 10**9,
    "d": 86_400 * 10**9,
    "w": 7 * 86_400 * 10**9,
}
_DURATION_PART = re.compile(r"(\d+)\s*([^\d\s]+)\s*")

EPS = 1e-15  # log_loss clipping
ECE_BINS = 10
QUANTILES = {"p50": "0.5", "p90": "0.9", "p95": "0.95", "p99": "0.99"}
QUANTILE_COLUMNS = frozenset(QUANTILES)

# Histogram edges (SPEC §3): durations in seconds, integers 0 then 1-2-5 per decade to 5e18.
DURATION_EDGES_S = [
    0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 10_800, 21_600,
    43_200, 86_400, 2 * 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400,
]  # fmt: skip
INTEGER_EDGES = [0] + [m * 10**k for k in range(19) for m in (1, 2, 5)]

# Default window ladder of window_tradeoff, in its own spelling.
WINDOW_LADDER = ["1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "3d", "7d", "14d"]
WINDOW_LADDER.append("30d")

Row = dict[str, Any]
Key = tuple[Any, ...]


class DelayProfileTables(NamedTuple):
    """What ``lw.delay_profile`` returns, as two plain tables."""

    summary: pa.Table
    histogram: pa.Table


# --- durations --------------------------------------------------------------------------------


def parse_duration(text: str, argument: str) -> int:
    """``"1h30m"`` → nanoseconds; the grammar of loopwatch's duration strings."""
    s = text.strip()
    if not s or s.startswith("-"):
        raise ConfigError(f"{argument}: cannot read {text!r} as a duration")
    total, pos = 0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or m.group(2) not in _DURATION_UNITS:
            raise ConfigError(f"{argument}: cannot read {text!r} as a duration")
        total += int(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total


def duration_nanos(value: Any, argument: str) -> int:
    """A duration string or ``timedelta`` in nanoseconds."""
    if isinstance(value, str):
        return parse_duration(value, argument)
    if isinstance(value, dt.timedelta):
        return (value // dt.timedelta(microseconds=1)) * 1_000
    raise ConfigError(f"{argument}: expected a duration string or timedelta, got {value!r}")


def compact(nanos: int) -> str:
    """Nanoseconds → ``"1h30m"`` (largest units first, ``"0s"`` for zero)."""
    if nanos == 0:
        return "0s"
    parts = []
    for name in ("d", "h", "m", "s", "ms", "us", "ns"):
        count, nanos = divmod(nanos, _DURATION_UNITS[name])
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts)


def round_half_up(x: Fraction) -> int:
    """Nearest integer, halves away from zero (x >= 0 here: halves up)."""
    return math.floor(x + Fraction(1, 2)) if x >= 0 else -math.floor(-x + Fraction(1, 2))


# --- columns ----------------------------------------------------------------------------------


def as_table(data: Any) -> pa.Table:
    return data if isinstance(data, pa.Table) else pa.table(data)


def column(table: pa.Table, name: str, argument: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise SchemaError(f"{argument}: no column {name!r} in {table.column_names}")
    return table.column(name)


def plain_type(t: pa.DataType) -> pa.DataType:
    """The output type of a group column: dictionaries become their value type."""
    return t.value_type if pa.types.is_dictionary(t) else t


def values(col: pa.ChunkedArray) -> list[Any]:
    """Python values; timestamps and durations as integers in their unit, dictionaries decoded."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
    elif pa.types.is_timestamp(t) or pa.types.is_duration(t):
        col = col.cast(pa.int64())
    return col.to_pylist()


def by_names(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def by_fields(table: pa.Table, by: list[str]) -> list[pa.Field]:
    for name in by:
        t = column(table, name, "by").type
        ok = (
            pa.types.is_integer(t)
            or pa.types.is_boolean(t)
            or pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_string_view(t)
            or pa.types.is_dictionary(t)
        )
        if not ok:
            raise SchemaError(f"by: column {name!r} has type {t}, not int/str/bool/dictionary")
    return [pa.field(name, plain_type(table.schema.field(name).type)) for name in by]


def nulls_last(key: Key) -> tuple[tuple[bool, Any], ...]:
    """Sort key of a group key: each value ascending, None after every value."""
    return tuple((v is None, 0 if v is None else v) for v in key)


def group_rows(keys: Sequence[Key]) -> list[tuple[Key, list[int]]]:
    """Row indices per distinct key, keys sorted ascending with nulls last."""
    groups: dict[Key, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return sorted(groups.items(), key=lambda kv: nulls_last(kv[0]))


def build_table(fields: list[pa.Field], rows: list[Row]) -> pa.Table:
    arrays = [pa.array([r[f.name] for r in rows], type=f.type) for f in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return math.fsum(xs) / len(xs)


def ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


# --- bucketing --------------------------------------------------------------------------------


def bucket_of(table: pa.Table, time: str, every: Any) -> tuple[pa.Field, list[int | None]]:
    """``(bucket_start field, bucket per row)`` for ``every`` (SPEC §4's tumbling buckets)."""
    col = column(table, time, "time")
    t = col.type
    if pa.types.is_timestamp(t):
        if isinstance(every, bool) or not isinstance(every, str | dt.timedelta):
            raise ConfigError(f"every: expected a duration for timestamp column {time!r}")
        nanos = duration_nanos(every, "every")
        if nanos <= 0:
            raise ConfigError(f"every: must be positive, got {every!r}")
        if nanos % NANOS[t.unit]:
            raise ConfigError(f"every: {every!r} is not a whole number of {t.unit}")
        width = nanos // NANOS[t.unit]
    elif pa.types.is_integer(t):
        if isinstance(every, bool) or not isinstance(every, int):
            raise ConfigError(f"every: expected an integer for integer column {time!r}")
        if every <= 0:
            raise ConfigError(f"every: must be positive, got {every!r}")
        width = every
    else:
        raise SchemaError(f"time: column {time!r} has type {t}, not a timestamp or integer")
    buckets = [None if v is None else (v // width) * width for v in values(col)]
    return pa.field("bucket_start", t), buckets


def layout(
    table: pa.Table, time: str, every: Any, by: list[str], extra: Sequence[str] = ()
) -> tuple[list[pa.Field], list[tuple[Key, list[int]]]]:
    """Layout fields (``[bucket_start]``, ``*by``, ``*extra``) and the sorted groups of rows."""
    fields = by_fields(table, by)
    cols = [values(table.column(name)) for name in by]
    for name in extra:
        fields.append(pa.field(name, plain_type(column(table, name, "position").type)))
        cols.append(values(table.column(name)))
    if every is not None:
        bucket_field, buckets = bucket_of(table, time, every)
        fields.insert(0, bucket_field)
        cols.insert(0, buckets)
    keys = list(zip(*cols, strict=True)) if cols else [()] * table.num_rows
    return fields, group_rows(keys)


# --- labels and scores ------------------------------------------------------------------------


def read_labels(table: pa.Table, label: str) -> list[int | None]:
    col = column(table, label, "label")
    if not (pa.types.is_integer(col.type) or pa.types.is_boolean(col.type)):
        raise SchemaError(f"label: column {label!r} has type {col.type}, not integer or boolean")
    out = [None if v is None else int(v) for v in col.to_pylist()]
    for v in out:
        if v not in (None, 0, 1):
            raise DataError(f"label: column {label!r} holds {v}; expected 0, 1 or null")
    return out


def read_scores(table: pa.Table, score: str, labels: list[int | None]) -> list[float | None]:
    col = column(table, score, "score")
    if not pa.types.is_floating(col.type):
        raise SchemaError(f"score: column {score!r} has type {col.type}, not floating")
    out: list[float | None] = col.to_pylist()
    for p, y in zip(out, labels, strict=True):
        if p is None and y is not None:
            raise DataError(f"score: column {score!r} is null on a labeled row")
        if p is not None and not 0.0 <= p <= 1.0:  # NaN fails too
            raise DataError(f"score: column {score!r} holds {p}, outside [0, 1]")
    return out


def roc_auc(pairs: list[tuple[float, int]]) -> float | None:
    """P(score_pos > score_neg) + ½ P(equal), by counting every pair; None with one class."""
    pos = [p for p, y in pairs if y == 1]
    neg = [p for p, y in pairs if y == 0]
    if not pos or not neg:
        return None
    twice_wins = 0
    for sp in pos:
        for sn in neg:
            twice_wins += 2 if sp > sn else 1 if sp == sn else 0
    return twice_wins / (2 * len(pos) * len(neg))


def ece(pairs: list[tuple[float, int]]) -> float:
    """Σ_b (n_b / n) · |mean p_b - positive rate_b| over 10 equal-width bins."""
    bins: dict[int, list[tuple[float, int]]] = {}
    for p, y in pairs:
        bins.setdefault(min(math.floor(10.0 * p), ECE_BINS - 1), []).append((p, y))
    terms = []
    for members in bins.values():
        n_b = len(members)
        mean_p = mean(p for p, _ in members)
        rate = sum(y for _, y in members) / n_b
        terms.append(n_b / len(pairs) * abs(mean_p - rate))
    return math.fsum(terms)


def log_loss_term(p: float, y: int) -> float:
    q = min(max(p, EPS), 1.0 - EPS)
    return -(y * math.log(q) + (1 - y) * math.log(1.0 - q))


def score_metrics(pairs: list[tuple[float, int]]) -> Row:
    """The score columns over a bucket's labeled ``(score, label)`` pairs."""
    if not pairs:
        return dict.fromkeys(("mean_score", "log_loss", "brier", "roc_auc", "ece"))
    return {
        "mean_score": mean(p for p, _ in pairs),
        "log_loss": mean(log_loss_term(p, y) for p, y in pairs),
        "brier": mean((p - y) ** 2 for p, y in pairs),
        "roc_auc": roc_auc(pairs),
        "ece": ece(pairs),
    }


# --- label_metrics and position_curve ---------------------------------------------------------

COUNT_FIELDS = [
    pa.field("n", pa.int64()),
    pa.field("n_labeled", pa.int64()),
    pa.field("n_pending", pa.int64()),
    pa.field("matured", pa.float64()),
    pa.field("positives", pa.int64()),
    pa.field("positive_rate", pa.float64()),
]
SCORE_FIELDS = [
    pa.field(name, pa.float64()) for name in ("mean_score", "log_loss", "brier", "roc_auc", "ece")
]


def label_metrics(
    labeled: Any,
    *,
    label: str,
    score: str | None = None,
    time: str = "ts",
    every: Any = None,
    by: str | Sequence[str] | None = None,
) -> pa.Table:
    """Reference of ``lw.label_metrics`` (contract §4)."""
    table = as_table(labeled)
    labels = read_labels(table, label)
    scores = read_scores(table, score, labels) if score is not None else None
    fields, groups = layout(table, time, every, by_names(by))
    out_fields = fields + COUNT_FIELDS + (SCORE_FIELDS if score is not None else [])
    rows = []
    for key, idx in groups:
        ys = [labels[i] for i in idx]
        n, n_labeled = len(ys), sum(y is not None for y in ys)
        positives = sum(y == 1 for y in ys)
        row: Row = dict(zip((f.name for f in fields), key, strict=True))
        row |= {
            "n": n,
            "n_labeled": n_labeled,
            "n_pending": n - n_labeled,
            "matured": n_labeled / n,
            "positives": positives,
            "positive_rate": ratio(positives, n_labeled),
        }
        if scores is not None:
            pairs = [(s, y) for s, y in ((scores[i], labels[i]) for i in idx) if y is not None]
            row |= score_metrics(pairs)  # type: ignore[arg-type]  # labeled rows have a score
        rows.append(row)
    return build_table(out_fields, rows)


def position_curve(
    labeled: Any,
    *,
    label: str,
    position: str = "position",
    by: str | Sequence[str] | None = None,
) -> pa.Table:
    """Reference of ``lw.position_curve`` (contract §4)."""
    table = as_table(labeled)
    labels = read_labels(table, label)
    by = by_names(by)
    fields, groups = layout(table, "", None, by, extra=[position])
    rows: list[Row] = []
    for key, idx in groups:
        ys = [labels[i] for i in idx]
        n_labeled = sum(y is not None for y in ys)
        positives = sum(y == 1 for y in ys)
        row = dict(zip((f.name for f in fields), key, strict=True))
        row |= {"n": len(ys), "n_labeled": n_labeled, "positives": positives}
        row["positive_rate"] = ratio(positives, n_labeled)
        rows.append(row)
    # Relative rate: against the smallest non-null position of the same segment.
    first_rate: dict[Key, float | None] = {}
    for row in rows:  # sorted by segment, then position with nulls last
        segment = tuple(row[b] for b in by)
        if segment not in first_rate and row[position] is not None:
            first_rate[segment] = row["positive_rate"]
    for row in rows:
        base = first_rate.get(tuple(row[b] for b in by))
        rate = row["positive_rate"]
        row["relative_rate"] = None if rate is None or not base else rate / base
    out_fields = [
        *fields,
        pa.field("n", pa.int64()),
        pa.field("n_labeled", pa.int64()),
        pa.field("positives", pa.int64()),
        pa.field("positive_rate", pa.float64()),
        pa.field("relative_rate", pa.float64()),
    ]
    return build_table(out_fields, rows)


# --- delay_profile ----------------------------------------------------------------------------


def exact_quantile(sorted_xs: list[int], q: str) -> Fraction:
    """numpy's default (linear) quantile, computed exactly: h = (n - 1) q."""
    h = (len(sorted_xs) - 1) * Fraction(q)
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (h - lo) * (sorted_xs[hi] - sorted_xs[lo])


def histogram_edges(t: pa.DataType) -> list[int]:
    if pa.types.is_duration(t):
        return [s * (10**9 // NANOS[t.unit]) for s in DURATION_EDGES_S]
    return INTEGER_EDGES


def histogram_rows(delays: list[int], edges: list[int]) -> list[tuple[int, int | None, int]]:
    """``(bin_start, bin_end, count)`` from the first to the last non-empty bin."""
    counts = [0] * len(edges)
    for d in delays:
        counts[max(i for i, e in enumerate(edges) if e <= d)] += 1
    nonempty = [i for i, c in enumerate(counts) if c]
    if not nonempty:
        return []
    bounds = [*edges[1:], None]
    return [(edges[i], bounds[i], counts[i]) for i in range(nonempty[0], nonempty[-1] + 1)]


def delay_profile(
    labeled: Any,
    *,
    delay: str = "first_feedback_delay",
    by: str | Sequence[str] | None = None,
) -> DelayProfileTables:
    """Reference of ``lw.delay_profile`` (contract §3): exact quantiles, full histogram."""
    table = as_table(labeled)
    col = column(table, delay, "delay")
    t = col.type
    is_duration = pa.types.is_duration(t)
    if not (is_duration or pa.types.is_integer(t)):
        raise SchemaError(f"delay: column {delay!r} has type {t}, not a duration or integer")
    ds = values(col)
    if any(d is not None and d < 0 for d in ds):
        raise DataError(f"delay: column {delay!r} holds a negative delay")
    fields, groups = layout(table, "", None, by_names(by))
    stat_type = t if is_duration else pa.float64()
    bin_type = t if is_duration else pa.int64()

    def finish(x: Fraction) -> int | float:
        return round_half_up(x) if is_duration else float(x)

    summary, histogram = [], []
    for key, idx in groups:
        present = sorted(ds[i] for i in idx if ds[i] is not None)
        row: Row = dict(zip((f.name for f in fields), key, strict=True))
        row |= {"n": len(idx), "count": len(present)}
        row["mean"] = finish(Fraction(sum(present), len(present))) if present else None
        for name, q in QUANTILES.items():
            row[name] = finish(exact_quantile(present, q)) if present else None
        summary.append(row)
        for start, end, count in histogram_rows(present, histogram_edges(t)):
            histogram.append(row | {"bin_start": start, "bin_end": end, "count": count})
    summary_fields = [
        *fields,
        pa.field("n", pa.int64()),
        pa.field("count", pa.int64()),
        *(pa.field(name, stat_type) for name in ("mean", *QUANTILES)),
    ]
    histogram_fields = [
        *fields,
        pa.field("bin_start", bin_type),
        pa.field("bin_end", bin_type),
        pa.field("count", pa.int64()),
    ]
    return DelayProfileTables(
        build_table(summary_fields, summary), build_table(histogram_fields, histogram)
    )


# --- window_tradeoff --------------------------------------------------------------------------


def _watermark(table: pa.Table, watermark: Any, time_type: pa.DataType) -> int:
    """The as-of time A in the time column's unit."""
    if watermark is None:
        raw = (table.schema.metadata or {}).get(b"loopwatch.stats")
        stats = json.loads(raw) if raw else {}
        if stats.get("watermark") is None:
            raise ConfigError("watermark: not given and not in the table's loopwatch.stats")
        return int(stats["watermark"])
    if isinstance(watermark, dt.datetime) and pa.types.is_timestamp(time_type):
        as_ts: int = pa.scalar(watermark, type=pa.timestamp(time_type.unit)).value
        return as_ts
    if isinstance(watermark, int) and not isinstance(watermark, bool):
        return watermark
    raise ConfigError(f"watermark: expected a datetime or an integer, got {watermark!r}")


def _windows(windows: Any, reference: Any, temporal: bool) -> tuple[int, list[tuple[str, int]]]:
    """``(reference size, [(name, size), ...] ascending)``; sizes in ns (or integer ticks)."""

    def size(w: Any, argument: str) -> tuple[str, int]:
        if temporal:
            nanos = duration_nanos(w, argument)
            return (w if isinstance(w, str) else compact(nanos)), nanos
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise ConfigError(f"{argument}: expected a non-negative integer, got {w!r}")
        return str(w), w

    ref_name, ref = size(reference, "reference")
    if windows is None:
        ladder = [size(w, "windows") for w in WINDOW_LADDER] if temporal else []
        return ref, [(n, s) for n, s in ladder if s < ref] + [(ref_name, ref)]
    items = [windows] if isinstance(windows, str | int | dt.timedelta) else list(windows)
    sized = [size(w, "windows") for w in items]
    if len({s for _, s in sized}) != len(sized):
        raise ConfigError(f"windows: duplicate windows in {items!r}")
    if any(s > ref for _, s in sized):
        raise ConfigError(f"windows: every window must be <= the reference {reference!r}")
    return ref, sorted(sized, key=lambda ns: ns[1])


def window_tradeoff(
    labeled: Any,
    *,
    reference: Any,
    windows: Any = None,
    delay: str = "first_feedback_delay",
    time: str = "ts",
    watermark: Any = None,
    target_recall: float = 0.95,
    by: str | Sequence[str] | None = None,
) -> pa.Table:
    """Reference of ``lw.window_tradeoff`` (contract §3)."""
    table = as_table(labeled)
    time_type = column(table, time, "time").type
    delay_type = column(table, delay, "delay").type
    temporal = pa.types.is_timestamp(time_type)
    if temporal and not pa.types.is_duration(delay_type):
        raise SchemaError(f"delay: column {delay!r} must be a duration for a timestamp time")
    if not temporal and not (pa.types.is_integer(time_type) and pa.types.is_integer(delay_type)):
        raise SchemaError(f"time: columns {time!r} and {delay!r} must both be integers")
    if not 0.0 < target_recall <= 1.0:
        raise ConfigError(f"target_recall: must be in (0, 1], got {target_recall!r}")
    ref, sized = _windows(windows, reference, temporal)
    a = _watermark(table, watermark, time_type)
    # Compare in nanoseconds (integer time: ticks) so that no unit conversion can round.
    t_ns = NANOS[time_type.unit] if temporal else 1
    d_ns = NANOS[delay_type.unit] if temporal else 1
    if any(s % d_ns for _, s in sized):
        raise ConfigError(f"windows: not a whole number of the {delay!r} column's unit")
    ts, ds = values(table.column(time)), values(table.column(delay))
    fields, groups = layout(table, "", None, by_names(by))
    rows: list[Row] = []
    for key, idx in groups:
        matured = [ds[i] for i in idx if ts[i] is not None and ts[i] * t_ns + ref <= a * t_ns]
        found = [d * d_ns for d in matured if d is not None]
        ref_pos = sum(d <= ref for d in found)
        reached = False
        for name, s in sized:
            captured = sum(d <= s for d in found)
            recall = ratio(captured, ref_pos)
            reaches = None if recall is None else recall >= target_recall
            row: Row = dict(zip((f.name for f in fields), key, strict=True))
            row |= {
                "window": name,
                "window_duration": s // d_ns,
                "captured": captured,
                "reference_positives": ref_pos,
                "recall": recall,
                "false_negative_rate": None if recall is None else 1.0 - recall,
                "reaches_target": reaches,
                "smallest_reaching_target": bool(reaches) and not reached,
            }
            reached = reached or bool(reaches)
            rows.append(row)
    out_fields = [
        *fields,
        pa.field("window", pa.string()),
        pa.field("window_duration", delay_type if temporal else pa.int64()),
        pa.field("captured", pa.int64()),
        pa.field("reference_positives", pa.int64()),
        pa.field("recall", pa.float64()),
        pa.field("false_negative_rate", pa.float64()),
        pa.field("reaches_target", pa.bool_()),
        pa.field("smallest_reaching_target", pa.bool_()),
    ]
    return build_table(out_fields, rows)


# --- comparing tables -------------------------------------------------------------------------


def _close(a: float, b: float, rel: float, abs_tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_tol)


def _comparer(
    name: str, t: pa.DataType, rel: float, quantile_rel: float | None, abs_tol: float
) -> Callable[[Any, Any], bool]:
    """How two non-null values of column ``name`` are compared."""
    tol = quantile_rel if (name in QUANTILE_COLUMNS and quantile_rel is not None) else rel
    if pa.types.is_floating(t):
        return lambda a, b: _close(a, b, tol, abs_tol)
    if pa.types.is_duration(t) and (name in QUANTILE_COLUMNS or name == "mean"):
        # Rounded to the unit: one unit of slack for a half rounded the other way.
        return lambda a, b: abs(a - b) <= max(1, tol * max(abs(a), abs(b)))
    return lambda a, b: bool(a == b)


def _row_text(table: pa.Table, r: int, names: Iterable[str]) -> str:
    return ", ".join(f"{n}={table.column(n)[r].as_py()!r}" for n in names)


def assert_tables_match(
    actual: pa.Table,
    expected: pa.Table,
    rel: float = 1e-9,
    quantile_rel: float | None = None,
    *,
    abs_tol: float = 1e-12,
) -> None:
    """Raise AssertionError unless ``actual`` matches ``expected`` (e.g. a reference table).

    * schemas: same column names in the same order, same Arrow types (incl. unit and time zone);
      nullability and metadata are not compared;
    * same number of rows, nulls at the same places;
    * floats within ``rel`` relative (or ``abs_tol`` absolute, for values near 0); NaN == NaN;
      the quantile columns ``p50``/``p90``/``p95``/``p99`` within ``quantile_rel`` when given
      (e.g. 0.01 for a sketch); the duration columns ``mean`` and quantiles of a delay summary
      within one unit (or the relative tolerance); everything else exactly.
    """
    a_fields = [(f.name, f.type) for f in actual.schema]
    e_fields = [(f.name, f.type) for f in expected.schema]
    if a_fields != e_fields:
        raise AssertionError(f"schemas differ:\n  actual   {a_fields}\n  expected {e_fields}")
    if actual.num_rows != expected.num_rows:
        raise AssertionError(f"row counts differ: {actual.num_rows} vs {expected.num_rows}")
    for name, t in e_fields:
        a_vals, e_vals = values(actual.column(name)), values(expected.column(name))
        same = _comparer(name, t, rel, quantile_rel, abs_tol)
        for r, (a, e) in enumerate(zip(a_vals, e_vals, strict=True)):
            ok = (a is None and e is None) or (a is not None and e is not None and same(a, e))
            if not ok:
                raise AssertionError(
                    f"column {name!r} row {r}: actual {a!r}, expected {e!r} "
                    f"(expected row: {_row_text(expected, r, expected.column_names)})"
                )
