"""One self-contained HTML file: the summary, then one section per chart.

No scripts, no external fonts, styles or images: the file opens offline in any browser. Every
section is a ``<section class="report-section" data-section=NAME>`` holding either one inline
``<svg>`` chart or a ``<p class="note">`` saying why there is no data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from . import charts
from .data import ReportData
from .summary import delay_text, findings, label_status, volumes

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1000px; padding: 1rem 1.5rem 3rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { padding: 0.2rem 0.7rem; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
ul.findings { padding-left: 0; list-style: none; }
ul.findings li { padding: 0.35rem 0.7rem; margin: 0.3rem 0; border-radius: 4px; }
li.alarm { background: #fde8e8; border-left: 4px solid #c62828; }
li.info { background: #eef4fb; border-left: 4px solid #1f77b4; }
.explain { color: #555; font-size: 0.92rem; }
.note { color: #777; font-style: italic; }
figure.chart { margin: 0.5rem 0; }
figure.chart svg { width: 100%; height: auto; }
"""


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    explain: str
    chart: Callable[[], str] | None
    note: str


def _sections(data: ReportData) -> list[Section]:
    delay, tradeoff, metrics = data.delay, data.window_tradeoff, data.label_metrics
    position, pop, hit, explore = (
        data.position_curve,
        data.popularity_metrics,
        data.hit_rate,
        data.exploration_metrics,
    )
    return [
        Section(
            "delay",
            "Feedback loop length",
            "How long after a prediction its first feedback arrived (first_feedback_delay).",
            (lambda: charts.delay_histogram(delay.histogram, data.by))
            if delay is not None and delay.histogram.num_rows
            else None,
            "No credited feedback: no delays to show.",
        ),
        Section(
            "window-tradeoff",
            "Label window trade-off",
            "Share of the largest window's positives that a shorter window already captures: "
            "too short a window gives false negatives, too long a window gives slow labels.",
            (lambda: charts.window_tradeoff(tradeoff, data.by, data.target_recall))
            if tradeoff is not None and tradeoff.num_rows
            else None,
            "No predictions matured for the reference window yet.",
        ),
        Section(
            "label-metrics",
            f"Label metrics over time ({data.label})",
            "Positive rate, ranking quality (ROC AUC) and calibration (ECE, 10 bins) per time "
            "bucket, from labeled rows only; pending rows are left out and counted as not matured.",
            (lambda: charts.label_metrics(metrics, data.by))
            if metrics is not None and metrics.num_rows
            else None,
            "No labeled rows.",
        ),
        Section(
            "position-bias",
            "Position bias",
            "Positive rate per position in the list. A steep curve means labels measure the "
            "ranking as much as the items.",
            (lambda: charts.position_curve(position))
            if position is not None and position.num_rows
            else None,
            "No position column in the predictions.",
        ),
        Section(
            "popularity",
            "Popularity drift: ARP, APLT, coverage, Gini",
            "A degenerate feedback loop shows as ARP and Gini rising while the long-tail share "
            "(APLT) and catalog coverage fall."
            + (
                " Item popularity, and with it the head and the long tail, is fixed from the "
                "shaded reference period; the trend is measured from its start."
                if data.reference is not None
                else ""
            )
            + (f" Trend: {data.trend.verdict}" if data.trend is not None else ""),
            (lambda: charts.popularity(pop, data.trend, data.by, data.reference))
            if pop is not None and pop.num_rows
            else None,
            "No recommendation lists (a list id column) to measure popularity on.",
        ),
        Section(
            "hit-rate",
            "Hit rate by item popularity",
            "Positive rate of predictions per popularity bucket of their item."
            + (
                f" Head/tail positive-rate ratio: {hit.head_tail_ratio:.2f}."
                if hit is not None and hit.head_tail_ratio is not None
                else ""
            ),
            (lambda: charts.hit_rate(hit)) if hit is not None and hit.table.num_rows else None,
            "No labeled predictions with a popularity.",
        ),
        Section(
            "exploration",
            "Exploration vs policy traffic",
            "Randomized slots measure what the policy's own choices hide: their label metrics "
            "next to the policy's.",
            (lambda: charts.exploration(explore, data.exploration_column))
            if explore is not None and explore.num_rows
            else None,
            "No exploration traffic in these predictions (no randomized slots flagged).",
        ),
    ]


def _summary(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in volumes(data.stats)
    )
    delay = delay_text(data)
    if delay is not None:
        rows += f"<tr><td>feedback loop length</td><td>{escape(delay)}</td></tr>"
    labels = "".join(
        f"<tr><td>{escape(w)}</td><td>{p:,}</td><td>{n:,}</td><td>{q:,}</td><td>{s:.1%}</td></tr>"
        for w, p, n, q, s in label_status(data.stats)
    )
    items = (
        "".join(
            f'<li class="{f.level}">{"⚠ " if f.level == "alarm" else ""}{escape(f.text)}</li>'
            for f in findings(data)
        )
        or '<li class="info">No alarms.</li>'
    )
    return (
        '<section class="summary" data-section="summary"><h2>Summary</h2>'
        f'<ul class="findings">{items}</ul>'
        f"<table><tbody>{rows}</tbody></table>"
        "<table><thead><tr><th>label</th><th>positive</th><th>negative</th><th>pending</th>"
        f"<th>pending share</th></tr></thead><tbody>{labels}</tbody></table></section>"
    )


def _section(section: Section) -> str:
    body = (
        f'<figure class="chart">{section.chart()}</figure>'
        if section.chart is not None
        else f'<p class="note">{escape(section.note)}</p>'
    )
    return (
        f'<section class="report-section" id="{section.name}" data-section="{section.name}">'
        f'<h2>{escape(section.title)}</h2><p class="explain">{escape(section.explain)}</p>'
        f"{body}</section>"
    )


SECTION_NAMES = [
    "delay",
    "window-tradeoff",
    "label-metrics",
    "position-bias",
    "popularity",
    "hit-rate",
    "exploration",
]


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    body = "".join(_section(s) for s in _sections(data))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(data.title)}</h1>{_summary(data)}{body}</body></html>\n"
    )


def render_report(data: ReportData, out: str | os.PathLike[str]) -> Path:
    """Write the report to ``out`` (atomically: a temp file renamed into place) and return it."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(data)
    handle, temp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes it private; a report is meant to be shared
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
