"""Computing a report's tables with the engine's metric functions (``/work/contract.md``).

Nothing here computes a metric itself: every number comes from ``label_metrics``,
``position_curve``, ``delay_profile``, ``window_tradeoff``, ``Popularity``,
``popularity_metrics``, ``hit_rate_by_popularity`` and ``trend``. This module only chooses
their arguments and selects rows (the reference period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .._delays import delay_profile, window_tradeoff
from .._durations import duration_nanos, window_order
from .._metrics import label_metrics, position_curve
from .._popularity import Popularity, hit_rate_by_popularity, popularity_metrics
from .._stats import join_stats
from .._trend import trend
from ..errors import ConfigError, SchemaError
from .data import DelayData, HitRateData, ReportData, TrendData

POPULARITY_TREND_COLUMNS = ["arp", "aplt", "coverage", "gini", "entropy"]

Period = tuple[Any, Any]


def _require(table: pa.Table, column: str, argument: str) -> None:
    if column not in table.column_names:
        raise SchemaError(
            f"{argument}: column {column!r} not found in labeled "
            f"(columns: {', '.join(table.column_names)})"
        )


def _has_exploration(table: pa.Table, column: str) -> bool:
    if column not in table.column_names or not pa.types.is_boolean(table.schema.field(column).type):
        return False
    return bool(pc.any(table.column(column)).as_py())


def _positives(labeled: pa.Table, label: str) -> pa.Table:
    """The rows labeled 1: the interactions the labeled table itself knows of."""
    as_int = pc.cast(labeled.column(label), pa.int64())
    return labeled.filter(pc.equal(as_int, pa.scalar(1, pa.int64())))


def _scalar(value: Any, kind: pa.DataType, argument: str) -> pa.Scalar[Any]:
    try:
        return pa.scalar(value, type=kind)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{argument}: {value!r} is not a time of the column's type {kind} ({exc})"
        ) from exc


def _in_period(table: pa.Table, time: str, start: Any, end: Any, argument: str) -> pa.Table:
    """Rows of ``table`` with ``start <= time < end`` (either bound may be ``None``)."""
    if time not in table.column_names:
        raise SchemaError(f"{argument}: column {time!r} not found (needed for the period)")
    column = table.column(time)
    keep = pc.is_valid(column)
    if start is not None:
        keep = pc.and_(keep, pc.greater_equal(column, _scalar(start, column.type, argument)))
    if end is not None:
        keep = pc.and_(keep, pc.less(column, _scalar(end, column.type, argument)))
    return table.filter(keep)


def _check_reference(reference: Period | None) -> Period | None:
    if reference is None:
        return None
    if not isinstance(reference, tuple | list) or len(reference) != 2:
        raise ConfigError(f"reference: expected a (start, end) pair, got {reference!r}")
    start, end = reference
    if start is not None and end is not None and not start < end:
        raise ConfigError(f"reference: start {start!r} is not before end {end!r}")
    return (start, end)


def reference_window(stats: dict[str, Any]) -> str:
    """The largest label window of the ``label_join`` that made the table."""
    windows: list[str] = [str(w) for w in stats["windows"]]
    return max(windows, key=window_order)


def compute_report_data(
    labeled: pa.Table,
    *,
    interactions: pa.Table | None = None,
    label: str | None = None,
    score: str | None = "score",
    time: str = "ts",
    every: str | dt.timedelta = "1d",
    by: str | Sequence[str] | None = None,
    head_share: float = 0.8,
    reference: Period | None = None,
    item: str = "item_id",
    list_id: str = "request_id",
    position: str = "position",
    exploration: str = "explored",
    delay: str = "first_feedback_delay",
    title: str = "loopwatch report",
) -> ReportData:
    """All the tables of a report on ``labeled`` (a ``label_join`` output with its stats).

    ``label`` defaults to the largest window's column; ``score``, ``position``, ``list_id`` and
    ``exploration`` are used when the table has them (their sections show a note otherwise).

    Popularity φ is fixed (``Popularity.from_interactions``) from ``interactions`` (item and
    time columns as in ``labeled``), or, without it, from the positive rows of ``labeled``.
    ``reference=(start, end)`` (values of the time column's kind, either may be ``None``) fixes
    φ, and with it the head and long tail, from the interactions in ``[start, end)`` only, and
    measures the popularity trend from ``start`` on: a healthy period to compare against, so
    that a drifting head cannot hide the drift (``shared/SIMULATOR.md``, "Traps").
    """
    duration_nanos(every, "every")
    period = _check_reference(reference)
    stats = join_stats(labeled)
    largest = reference_window(stats)
    label = label or f"label_{largest}"
    by_columns = [by] if isinstance(by, str) else list(by or [])
    for column, argument in [(label, "label"), (time, "time"), (item, "item")]:
        _require(labeled, column, argument)
    for column in by_columns:
        _require(labeled, column, "by")
    names = set(labeled.column_names)
    score_column = score if score in names else None
    segments = by_columns or None
    explored = _has_exploration(labeled, exploration)

    source = (
        interactions
        if interactions is not None
        else _positives(labeled, label).select([item, time])
    )
    if period is not None:
        source = _in_period(source, time, period[0], period[1], "reference")
    popularity = Popularity.from_interactions(source, item=item)

    popularity_table = None
    trend_data = None
    if list_id in names:
        popularity_table = popularity_metrics(
            labeled,
            popularity,
            list_id=list_id,
            item=item,
            position=position if position in names else None,
            time=time,
            every=every,
            by=segments,
            head_share=head_share,
        )
        monitored = popularity_table
        if period is not None and period[0] is not None:
            monitored = _in_period(popularity_table, "bucket_start", period[0], None, "reference")
        report = trend(monitored, columns=POPULARITY_TREND_COLUMNS, by=segments)
        trend_data = TrendData(report.table, report.verdict, report.homogenizing)
    profile = delay_profile(labeled, delay=delay, by=segments)
    hit = hit_rate_by_popularity(labeled, popularity, label=label, item=item, head_share=head_share)
    return ReportData(
        stats=stats,
        label=label,
        label_metrics=label_metrics(
            labeled, label=label, score=score_column, time=time, every=every, by=segments
        ),
        delay=DelayData(profile.summary, profile.histogram),
        window_tradeoff=window_tradeoff(
            labeled, reference=largest, delay=delay, time=time, by=segments
        ),
        position_curve=position_curve(
            labeled, label=label, position=position, by=[exploration] if explored else None
        )
        if position in names
        else None,
        popularity_metrics=popularity_table,
        hit_rate=HitRateData(hit.table, hit.head_rate, hit.tail_rate, hit.head_tail_ratio),
        trend=trend_data,
        exploration_metrics=label_metrics(
            labeled, label=label, score=score_column, time=time, every=every, by=[exploration]
        )
        if explored
        else None,
        exploration_column=exploration,
        reference=period,
        by=by_columns,
        title=title,
    )
