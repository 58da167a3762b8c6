"""Computing a report's tables with the engine's metric functions (``/work/contract.md``).

PENDING ENGINE: ``label_metrics``, ``delay_profile``, ``window_tradeoff``, ``position_curve``,
``Popularity``, ``popularity_metrics``, ``hit_rate_by_popularity`` and ``trend`` are being
written in Rust (the popularity and label-metrics issues). Until they are exported by
``loopwatch``, ``compute_report_data`` raises ``EngineMissingError`` naming the first one it
needs. They are looked up by name so that this module type-checks before they exist; once they
land, call them directly. Nothing here computes a metric itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .._stats import join_stats
from ..errors import LoopwatchError, SchemaError
from .data import DelayData, HitRateData, ReportData, TrendData
from .durations import duration_nanos, window_order

POPULARITY_TREND_COLUMNS = ["arp", "aplt", "coverage", "gini", "entropy"]


class EngineMissingError(LoopwatchError, NotImplementedError):
    """A metric function the report needs is not in this build of loopwatch yet."""


def _engine(name: str) -> Any:
    import loopwatch

    function = getattr(loopwatch, name, None)
    if function is None:
        raise EngineMissingError(
            f"report: loopwatch.{name} is not in this build yet (it comes with the metrics "
            "issues); render_report can still draw ReportData built by hand"
        )
    return function


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
    """
    duration_nanos(every, "every")
    stats = join_stats(labeled)
    reference = reference_window(stats)
    label = label or f"label_{reference}"
    by_columns = [by] if isinstance(by, str) else list(by or [])
    for column, argument in [(label, "label"), (time, "time"), (item, "item")]:
        _require(labeled, column, argument)
    for column in by_columns:
        _require(labeled, column, "by")
    names = set(labeled.column_names)
    score_column = score if score in names else None
    segments = by_columns or None
    explored = _has_exploration(labeled, exploration)

    metrics = _engine("label_metrics")
    profile = _engine("delay_profile")(labeled, delay=delay, by=segments)
    popularity = _engine("Popularity").from_interactions(
        interactions
        if interactions is not None
        else _positives(labeled, label).select([item, time]),
        item=item,
    )
    popularity_table = None
    trend = None
    if list_id in names:
        popularity_table = _engine("popularity_metrics")(
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
        report = _engine("trend")(popularity_table, columns=POPULARITY_TREND_COLUMNS, by=segments)
        trend = TrendData(report.table, report.verdict, report.homogenizing)
    hit = _engine("hit_rate_by_popularity")(
        labeled, popularity, label=label, item=item, head_share=head_share
    )
    return ReportData(
        stats=stats,
        label=label,
        label_metrics=metrics(
            labeled, label=label, score=score_column, time=time, every=every, by=segments
        ),
        delay=DelayData(profile.summary, profile.histogram),
        window_tradeoff=_engine("window_tradeoff")(
            labeled, reference=reference, delay=delay, time=time, by=segments
        ),
        position_curve=_engine("position_curve")(
            labeled, label=label, position=position, by=[exploration] if explored else None
        )
        if position in names
        else None,
        popularity_metrics=popularity_table,
        hit_rate=HitRateData(hit.table, hit.head_rate, hit.tail_rate, hit.head_tail_ratio),
        trend=trend,
        exploration_metrics=metrics(
            labeled, label=label, score=score_column, time=time, every=every, by=[exploration]
        )
        if explored
        else None,
        exploration_column=exploration,
        by=by_columns,
        title=title,
    )
