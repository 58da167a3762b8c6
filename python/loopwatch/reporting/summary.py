"""The report's summary in words: volumes, label status, and alarms.

Alarm rules (each on the engine's tables, none computes a metric):

* **degenerate feedback loop** — ``trend.homogenizing`` (ARP / Gini rising, APLT / coverage /
  entropy falling, significantly);
* **pending labels** — more than 20 % of the report's label column still pending;
* **unmatched feedback** — more than 5 % of feedback events late or orphan;
* **position bias** — the last position's positive rate below half of the first's.

Notes (not alarms): the smallest window reaching the target recall, and each label window that
misses more of the largest window's positives than the target allows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from .data import ReportData
from .svg import compact_seconds, seconds

PENDING_ALARM = 0.2
UNMATCHED_ALARM = 0.05
POSITION_ALARM = 0.5
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class Finding:
    level: Literal["alarm", "info"]
    text: str


def watermark_text(stats: dict[str, Any]) -> str:
    """The watermark as a UTC-naive datetime when the time unit is known, else the raw value."""
    value, unit = stats.get("watermark"), stats.get("time_unit")
    if value is None:
        return "none (every label pending)"
    if unit in _PER_SECOND:
        when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(value) // _PER_SECOND[unit])
        return f"{when:%Y-%m-%d %H:%M:%S}"
    return str(value)


def volumes(stats: dict[str, Any]) -> list[tuple[str, str]]:
    predictions, events = stats["predictions"], stats["events"]
    return [
        ("predictions", f"{predictions['total']:,} ({predictions['invalid']:,} invalid)"),
        (
            "feedback events",
            f"{events['total']:,}: {events['credited']:,} credited, {events['late']:,} late, "
            f"{events['orphan']:,} orphan, {events['after_watermark']:,} after the watermark, "
            f"{events['invalid']:,} invalid",
        ),
        ("watermark (as of)", watermark_text(stats)),
        ("attribution", str(stats.get("attribution", "last"))),
    ]


def label_status(stats: dict[str, Any]) -> list[tuple[str, int, int, int, float]]:
    """Per window: positive, negative, pending, and the pending share."""
    rows = []
    for window, counts in stats["labels"].items():
        total = counts["positive"] + counts["negative"] + counts["pending"]
        share = counts["pending"] / total if total else 0.0
        rows.append(
            (f"label_{window}", counts["positive"], counts["negative"], counts["pending"], share)
        )
    return rows


def delay_text(data: ReportData) -> str | None:
    """``p50 · p90 · p99`` of the feedback loop length (first segment), in words."""
    if data.delay is None or data.delay.summary.num_rows == 0:
        return None
    summary = data.delay.summary
    parts = []
    for q in ["p50", "p90", "p99"]:
        value = seconds(summary.column(q))[0]
        durations = str(summary.schema.field(q).type).startswith("duration")
        parts.append(f"{q} {compact_seconds(value) if durations else f'{value:g}'}")
    return " · ".join(parts)


def findings(data: ReportData) -> list[Finding]:
    out: list[Finding] = []
    if data.trend is not None:
        level: Literal["alarm", "info"] = "alarm" if data.trend.homogenizing else "info"
        prefix = "Degenerate feedback loop: " if data.trend.homogenizing else "Popularity: "
        out.append(Finding(level, prefix + data.trend.verdict))
    for window, _, _, pending, share in label_status(data.stats):
        if window == data.label and share > PENDING_ALARM:
            out.append(
                Finding(
                    "alarm",
                    f"{share:.0%} of {window} labels ({pending:,}) are still "
                    "pending: the latest buckets' label metrics are incomplete.",
                )
            )
    events = data.stats["events"]
    unmatched = events["late"] + events["orphan"]
    if events["total"] and unmatched / events["total"] > UNMATCHED_ALARM:
        out.append(
            Finding(
                "alarm",
                f"{unmatched / events['total']:.0%} of feedback events matched no "
                f"prediction in time ({events['late']:,} late, {events['orphan']:,} orphan).",
            )
        )
    out.extend(_window_findings(data))
    out.extend(_position_findings(data))
    return out


def _window_findings(data: ReportData) -> list[Finding]:
    table = data.window_tradeoff
    if table is None or table.num_rows == 0:
        return []
    out = []
    reference = table.column("window").to_pylist()[-1]
    windows = {str(w) for w in data.stats["windows"]}
    for row in table.to_pylist():
        recall = row["recall"]
        if row["smallest_reaching_target"]:
            out.append(
                Finding(
                    "info",
                    f"A {row['window']} window already captures {recall:.0%} of "
                    f"the {reference} positives (the smallest reaching the target).",
                )
            )
        elif row["window"] in windows and recall is not None and recall < data.target_recall:
            out.append(
                Finding(
                    "info",
                    f"label_{row['window']} misses {1 - recall:.0%} of the "
                    f"{reference} positives: too short a window gives false negatives.",
                )
            )
    return out


def _position_findings(data: ReportData) -> list[Finding]:
    table = data.position_curve
    if table is None or table.num_rows < 2 or "relative_rate" not in table.column_names:
        return []
    rows = table.to_pylist()
    if data.exploration_column in table.column_names:
        rows = [r for r in rows if r[data.exploration_column] is False] or rows
    last = rows[-1]
    relative = last["relative_rate"]
    if relative is None or relative >= POSITION_ALARM:
        return []
    return [
        Finding(
            "alarm",
            f"Position bias: position {last['position']} gets {relative:.0%} of "
            "the first position's positive rate; a model retrained on these labels without "
            "position correction learns its own ranking back.",
        )
    ]
