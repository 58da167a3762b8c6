"""What a report shows: the metric tables, exactly as the engine returns them.

``ReportData`` holds the tables of ``/work/contract.md`` (label metrics, delay profile, window
trade-off, position curve, popularity metrics, hit rate by popularity, trend) plus the
``label_join`` counts. ``render_report`` only reads it, so a report can be rendered from any
tables with those schemas (the tests build them by hand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class DelayData:
    """``lw.delay_profile(...)``: ``summary`` (``n``, ``count``, ``mean``, ``p50`` … ``p99``)
    and ``histogram`` (``bin_start``, ``bin_end``, ``count``), optionally per ``by`` segment."""

    summary: pa.Table
    histogram: pa.Table


@dataclass(frozen=True)
class HitRateData:
    """``lw.hit_rate_by_popularity(...)``: per popularity bucket ``bucket``, ``pop_min``,
    ``pop_max``, ``predictions``, ``labeled``, ``positives``, ``positive_rate``; and the head
    and tail positive rates."""

    table: pa.Table
    head_rate: float | None
    tail_rate: float | None
    head_tail_ratio: float | None


@dataclass(frozen=True)
class TrendData:
    """``lw.trend(...)`` over the popularity metrics: per metric ``n_buckets``, ``first``,
    ``last``, ``slope``, ``p_value``, ``direction``; the verdict in words; the alarm."""

    table: pa.Table
    verdict: str
    homogenizing: bool


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows. ``None`` marks a section without data (it shows a note).

    * ``stats``: ``lw.join_stats(labeled)`` (volumes, events, labels per window, watermark).
    * ``label``: the label column the metrics use, e.g. ``"label_1d"``.
    * ``label_metrics``: ``lw.label_metrics(labeled, label=, score=, every=)`` — one row per
      bucket: ``n`` … ``positive_rate``, and with a score ``roc_auc``, ``ece`` ….
    * ``delay``: ``lw.delay_profile(labeled)``.
    * ``window_tradeoff``: ``lw.window_tradeoff(labeled, reference=<largest window>)``, whose
      ``target_recall`` is ``target_recall``.
    * ``position_curve``: ``lw.position_curve(labeled, label=, by=<exploration flag>)``.
    * ``popularity_metrics``: ``lw.popularity_metrics(predictions, pop, every=)`` over time.
    * ``hit_rate``: ``lw.hit_rate_by_popularity(labeled, pop, label=)``.
    * ``trend``: ``lw.trend(popularity_metrics)``.
    * ``exploration_metrics``: ``lw.label_metrics(..., by=<exploration flag>)`` over time,
      ``None`` without exploration traffic.
    * ``reference``: the reference period ``(start, end)`` the popularity (head and long tail)
      was fixed from and the trend measured from, shaded on the popularity chart; or ``None``.
    * ``by``: the segment columns the tables are grouped by (one line per segment).
    """

    stats: dict[str, Any]
    label: str
    label_metrics: pa.Table | None = None
    delay: DelayData | None = None
    window_tradeoff: pa.Table | None = None
    position_curve: pa.Table | None = None
    popularity_metrics: pa.Table | None = None
    hit_rate: HitRateData | None = None
    trend: TrendData | None = None
    exploration_metrics: pa.Table | None = None
    exploration_column: str = "explored"
    reference: tuple[Any, Any] | None = None
    target_recall: float = 0.95
    by: list[str] = field(default_factory=list)
    title: str = "loopwatch report"
