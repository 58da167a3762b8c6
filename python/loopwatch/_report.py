"""``lw.report``: every metric of a labeled table in one self-contained HTML file."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputFileError, SchemaError


def _table(value: Any, argument: str) -> pa.Table:
    """A pyarrow Table from a table, anything exporting an Arrow stream, or a Parquet path."""
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, str | os.PathLike):
        try:
            return pq.read_table(Path(value))
        except FileNotFoundError as exc:
            raise InputFileError(f"{argument}: no such file or directory: {value}") from exc
        except (OSError, pa.ArrowException) as exc:
            raise InputFileError(f"{argument}: cannot read {value}: {exc}") from exc
    if hasattr(value, "__arrow_c_stream__"):
        return pa.table(value)
    raise SchemaError(
        f"{argument}: expected a pyarrow Table, an Arrow stream (pandas, Polars) or a Parquet "
        f"path, got {type(value).__name__}"
    )


def report(
    labeled: Any,
    *,
    interactions: Any = None,
    out: str | os.PathLike[str] = "report.html",
    label: str | None = None,
    every: str | dt.timedelta = "1d",
    by: str | Sequence[str] | None = None,
    head_share: float = 0.8,
    reference: tuple[Any, Any] | None = None,
    score: str | None = "score",
    time: str = "ts",
    item: str = "item_id",
    list_id: str = "request_id",
    position: str = "position",
    exploration: str = "explored",
    delay: str = "first_feedback_delay",
    title: str = "loopwatch report",
) -> Path:
    """Write the HTML report on ``labeled`` (a ``label_join`` output) to ``out``; return its path.

    One self-contained file (inline SVG charts, no scripts, opens offline) with a summary
    (volumes, label status, alarms in words) and one section per metric: feedback-loop length
    (``delay_profile``), the label-window trade-off (``window_tradeoff`` against the largest
    window), label metrics per ``every`` bucket (``label_metrics``), position bias
    (``position_curve``), popularity drift with its trend verdict (``popularity_metrics`` +
    ``trend``), hit rate by item popularity (``hit_rate_by_popularity``) and exploration vs
    policy traffic (rows flagged by the boolean ``exploration`` column). A section without the
    columns it needs shows a note instead of a chart.

    * ``labeled``: a pyarrow Table, pandas / Polars frame, or Parquet path, carrying
      ``label_join``'s counts (its ``loopwatch.stats`` schema metadata).
    * ``interactions``: the interaction log item popularity φ is counted from (``item`` and
      ``time`` columns); default: the positive rows of ``labeled``.
    * ``label``: the label column (default: the largest window's); ``score`` is used if present.
    * ``every``: the time bucket; ``by``: segment column(s), one line per segment.
    * ``head_share``: the popular head covers this share of interactions, the rest is the tail.
    * ``reference=(start, end)``: fix popularity (head and long tail) from the interactions in
      ``[start, end)`` and measure the popularity trend from ``start`` on (recommended: a
      period before the change you are watching; otherwise φ comes from the whole log).

    Example::

        labeled = lw.label_join(impressions, clicks, on=["user_id", "item_id"], windows="1d")
        lw.report(labeled, interactions=clicks, out="report.html",
                  reference=(datetime(2024, 1, 4), datetime(2024, 1, 18)))

    Raises ``SchemaError`` / ``ConfigError`` naming a missing column or a bad argument.
    """
    from .reporting import compute_report_data, render_report

    data = compute_report_data(
        _table(labeled, "labeled"),
        interactions=None if interactions is None else _table(interactions, "interactions"),
        label=label,
        score=score,
        time=time,
        every=every,
        by=by,
        head_share=head_share,
        reference=reference,
        item=item,
        list_id=list_id,
        position=position,
        exploration=exploration,
        delay=delay,
        title=title,
    )
    return render_report(data, out)
