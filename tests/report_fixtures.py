"""Synthetic metric tables with exactly the schemas of ``/work/contract.md``, for the report.

They look like a degenerating recommender observed daily for four weeks: ARP and Gini rise,
APLT and coverage fall, clicks arrive within minutes to hours, exploration traffic is flagged.
The last label bucket has no labeled row (every metric null), as a fresh day would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from loopwatch.reporting import DelayData, HitRateData, ReportData, TrendData

DAYS = 28
START = dt.datetime(2024, 1, 1)
US = pa.timestamp("us")
DUR = pa.duration("us")
_S = 1_000_000  # microseconds per second


def stats() -> dict[str, Any]:
    """``lw.join_stats`` of a label_join with windows 5m, 30m, 1d."""
    return {
        "attribution": "last",
        "events": {
            "after_watermark": 0,
            "credited": 9_120,
            "invalid": 0,
            "late": 80,
            "orphan": 0,
            "total": 9_200,
        },
        "labels": {
            "5m": {"negative": 60_000, "pending": 10, "positive": 5_990},
            "30m": {"negative": 58_500, "pending": 200, "positive": 7_300},
            "1d": {"negative": 48_000, "pending": 9_000, "positive": 9_000},
        },
        "predictions": {"invalid": 0, "total": 66_000},
        "time_unit": "us",
        "version": 1,
        "watermark": _epoch_us(DAYS),
        "windows": ["5m", "30m", "1d"],
    }


def _epoch_us(days: int) -> int:
    return int((START + dt.timedelta(days=days) - dt.datetime(1970, 1, 1)).total_seconds()) * _S


def _days(n: int = DAYS) -> pa.Array:
    return pa.array([START + dt.timedelta(days=d) for d in range(n)], US)


def _if(labeled: int, value: float) -> float | None:
    return value if labeled else None


def label_metrics(by: str | None = None) -> pa.Table:
    """``lw.label_metrics(..., score="score", every="1d", by=by)`` over DAYS buckets."""
    rng = np.random.default_rng(0)
    groups = [None] if by is None else [False, True]
    columns: dict[str, list[Any]] = {k: [] for k in _LABEL_COLUMNS}
    for day in range(DAYS):
        for group in groups:
            n = 2_000 if group is not True else 220
            labeled = 0 if day == DAYS - 1 else (n if day < DAYS - 2 else n // 2)
            positives = int(labeled * (0.15 + 0.002 * day + (0.05 if group else 0)))
            rate = positives / labeled if labeled else None
            columns["bucket_start"].append(START + dt.timedelta(days=day))
            columns["group"].append(group)
            columns["n"].append(n)
            columns["n_labeled"].append(labeled)
            columns["n_pending"].append(n - labeled)
            columns["matured"].append(labeled / n)
            columns["positives"].append(positives)
            columns["positive_rate"].append(rate)
            columns["mean_score"].append(_if(labeled, 0.16 + 0.01 * rng.random()))
            columns["log_loss"].append(_if(labeled, 0.42 + 0.02 * rng.random()))
            columns["brier"].append(_if(labeled, 0.12 + 0.01 * rng.random()))
            columns["roc_auc"].append(_if(labeled, 0.74 - 0.003 * day + 0.01 * rng.random()))
            columns["ece"].append(_if(labeled, 0.02 + 0.001 * day))
    fields = [("bucket_start", US)]
    if by is not None:
        fields.append((by, pa.bool_()))
    fields += [(c, t) for c, t in _LABEL_COLUMNS.items() if c not in ("bucket_start", "group")]
    data = {name: columns["group" if name == by else name] for name, _ in fields}
    return pa.table(data, schema=pa.schema(fields))


_LABEL_COLUMNS = {
    "bucket_start": US,
    "group": pa.bool_(),
    "n": pa.int64(),
    "n_labeled": pa.int64(),
    "n_pending": pa.int64(),
    "matured": pa.float64(),
    "positives": pa.int64(),
    "positive_rate": pa.float64(),
    "mean_score": pa.float64(),
    "log_loss": pa.float64(),
    "brier": pa.float64(),
    "roc_auc": pa.float64(),
    "ece": pa.float64(),
}


def delay() -> DelayData:
    """``lw.delay_profile(labeled)``: summary and the contract's histogram edges, 0 to 2d."""
    summary = pa.table(
        {
            "n": pa.array([66_000], pa.int64()),
            "count": pa.array([9_120], pa.int64()),
            "mean": pa.array([1_900 * _S], DUR),
            "p50": pa.array([150 * _S], DUR),
            "p90": pa.array([3 * 3_600 * _S], DUR),
            "p95": pa.array([6 * 3_600 * _S], DUR),
            "p99": pa.array([14 * 3_600 * _S], DUR),
        }
    )
    edges = [0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 10_800]
    edges += [21_600, 43_200, 86_400, 172_800]
    counts = [3, 5, 20, 40, 90, 110, 400, 900, 2_100, 1_500, 900, 420, 500, 400, 300, 420, 300]
    counts += [200, 12, 0]
    histogram = pa.table(
        {
            "bin_start": pa.array([e * _S for e in edges], DUR),
            "bin_end": pa.array([e * _S for e in edges[1:]] + [None], DUR),
            "count": pa.array(counts, pa.int64()),
        }
    )
    return DelayData(summary, histogram)


def window_tradeoff() -> pa.Table:
    """``lw.window_tradeoff(labeled, reference="1d")`` with the default ladder."""
    windows = ["1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d"]
    seconds = [60, 300, 900, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400]
    captured = [2_300, 5_100, 6_500, 7_000, 7_500, 7_900, 8_500, 8_800, 9_000]
    recall = [c / 9_000 for c in captured]
    reaches = [r >= 0.95 for r in recall]
    return pa.table(
        {
            "window": windows,
            "window_duration": pa.array([s * _S for s in seconds], DUR),
            "captured": pa.array(captured, pa.int64()),
            "reference_positives": pa.array([9_000] * 9, pa.int64()),
            "recall": recall,
            "false_negative_rate": [1 - r for r in recall],
            "reaches_target": reaches,
            "smallest_reaching_target": [r and not any(reaches[:i]) for i, r in enumerate(reaches)],
        }
    )


def position_curve(by: str | None = "explored") -> pa.Table:
    """``lw.position_curve(labeled, label="label_1d", by=by)``: 1/rank decay."""
    groups = [None] if by is None else [False, True]
    rows: dict[str, list[Any]] = {k: [] for k in ["group", "position", "n", "n_labeled"]}
    rows |= {"positives": [], "positive_rate": [], "relative_rate": []}
    for group in groups:
        for position in range(1, 11):
            n = 5_000 if group is not True else 600
            positives = int(n * (0.3 / position if group is not True else 0.25 / position**0.8))
            rows["group"].append(group)
            rows["position"].append(position)
            rows["n"].append(n)
            rows["n_labeled"].append(n)
            rows["positives"].append(positives)
            rows["positive_rate"].append(positives / n)
            rows["relative_rate"].append(positives / n / (0.3 if group is not True else 0.25))
    fields = [] if by is None else [pa.field(by, pa.bool_())]
    fields += [pa.field("position", pa.int32())]
    fields += [pa.field(c, pa.int64()) for c in ["n", "n_labeled", "positives"]]
    fields += [pa.field(c, pa.float64()) for c in ["positive_rate", "relative_rate"]]
    schema = pa.schema(fields)
    return pa.table({f.name: rows["group" if f.name == by else f.name] for f in fields}, schema)


POPULARITY_COLUMNS = ["arp", "aplt", "aclt", "long_tail_coverage", "coverage", "gini"]
POPULARITY_COLUMNS += ["entropy", "entropy_norm", "novelty", "cold_share"]


def popularity_metrics() -> pa.Table:
    """``lw.popularity_metrics(..., every="1d")``: a loop degenerating from day 14 on."""
    drift = np.clip(np.arange(DAYS) - 13, 0, None) / (DAYS - 14)
    values = {
        "arp": 30 + 60 * drift,
        "aplt": 0.38 - 0.37 * drift,
        "aclt": 3.8 - 3.7 * drift,
        "long_tail_coverage": 0.9 - 0.85 * drift,
        "coverage": 0.96 - 0.75 * drift,
        "gini": 0.5 + 0.46 * drift,
        "entropy": 9.6 - 4 * drift,
        "entropy_norm": (9.6 - 4 * drift) / np.log2(1_000),
        "novelty": 6 - 2 * drift,
        "cold_share": np.zeros(DAYS),
    }
    table = {"bucket_start": _days(), "n_lists": pa.array([800] * DAYS, pa.int64())}
    table |= {c: pa.array(values[c], pa.float64()) for c in POPULARITY_COLUMNS}
    return pa.table(table)


def trend() -> TrendData:
    """``lw.trend(popularity_metrics())`` over the five alarm metrics."""
    metrics = ["arp", "aplt", "coverage", "gini", "entropy"]
    direction = ["rising", "falling", "falling", "rising", "falling"]
    table = pa.table(
        {
            "metric": metrics,
            "n_buckets": pa.array([DAYS] * 5, pa.int64()),
            "first": [30.0, 0.38, 0.96, 0.5, 9.6],
            "last": [90.0, 0.01, 0.21, 0.96, 5.6],
            "slope": [4.0, -0.026, -0.05, 0.03, -0.28],
            "p_value": [1e-6] * 5,
            "direction": direction,
        }
    )
    verdict = (
        "ARP and Gini rising, APLT, coverage and entropy falling over 28 daily buckets: "
        "recommendations are homogenizing (p < 0.01)."
    )
    return TrendData(table, verdict, True)


def hit_rate() -> HitRateData:
    """``lw.hit_rate_by_popularity(labeled, pop, label="label_1d")``, log10 buckets."""
    table = pa.table(
        {
            "bucket": ["0", "1-9", "10-99", "100-999"],
            "pop_min": pa.array([0, 1, 10, 100], pa.int64()),
            "pop_max": pa.array([0, 9, 99, 870], pa.int64()),
            "predictions": pa.array([1_200, 9_800, 30_000, 25_000], pa.int64()),
            "labeled": pa.array([1_000, 8_000, 25_000, 23_000], pa.int64()),
            "positives": pa.array([20, 500, 3_700, 4_780], pa.int64()),
            "positive_rate": [0.02, 0.0625, 0.148, 0.2078],
        }
    )
    return HitRateData(table, head_rate=0.2, tail_rate=0.06, head_tail_ratio=0.2 / 0.06)


def full_report_data(*, exploration: bool = True) -> ReportData:
    """Every section with data (``exploration=False``: no exploration traffic)."""
    return ReportData(
        stats=stats(),
        label="label_1d",
        label_metrics=label_metrics(),
        delay=delay(),
        window_tradeoff=window_tradeoff(),
        position_curve=position_curve("explored" if exploration else None),
        popularity_metrics=popularity_metrics(),
        hit_rate=hit_rate(),
        trend=trend(),
        exploration_metrics=label_metrics("explored") if exploration else None,
    )


def empty_report_data() -> ReportData:
    """Only the label_join counts: every chart section shows its note."""
    return ReportData(stats=stats(), label="label_1d")
