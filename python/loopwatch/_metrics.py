"""ML metrics from natural labels, over time (SPEC §4): ``label_metrics``, ``position_curve``
and the mergeable ``LabelMetricsState``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from . import _core
from ._args import Window, column_list, normalize_duration, source_arg

_COUNT_COLUMNS = ["n", "n_labeled", "positives"]


def label_metrics(
    labeled: Any,
    *,
    label: str,
    score: str | None = None,
    time: str = "ts",
    every: Window | None = None,
    by: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Label status and score quality per time bucket and segment.

    One row per tumbling bucket (``bucket_start = floor(t / every) · every``, aligned to the
    epoch, typed like ``time``; rows with a null time form a bucket of their own with a null
    start) and ``by`` segment (nulls are a segment), sorted by them with nulls last. Columns:

    - ``n`` rows, ``n_labeled`` (label not null), ``n_pending`` (label null: too early to tell),
      ``matured = n_labeled / n`` (below 1 the bucket is provisional), ``positives``,
      ``positive_rate = positives / n_labeled``;
    - with ``score`` (probabilities in [0, 1]), over labeled rows only:
      ``mean_score``; ``log_loss = -mean(y·ln p + (1-y)·ln(1-p))`` with p clipped to
      [1e-15, 1 - 1e-15]; ``brier = mean((p - y)²)``; ``roc_auc`` exact, ties counted ½
      (``Σ_pos (neg below + ½ neg tied) / (P·N)``), null when the bucket has one class;
      ``ece = Σ_b (n_b / n) · |mean p_b - positive rate_b|`` over 10 equal-width score bins.

    Labels must be 0/1/null (integer or boolean); scores NaN, outside [0, 1] or null on a
    labeled row are errors (``DataError``). Results are exact and identical whatever the
    thread count or batching.

    >>> lw.label_metrics(labeled, label="label_30m", score="score", every="1h")  # doctest: +SKIP
    """
    table: pa.Table = _core.label_metrics(
        source_arg(labeled, "labeled"),
        label,
        score,
        time,
        normalize_duration(every, "every"),
        column_list(by, "by"),
        threads,
    )
    return table


def position_curve(
    labeled: Any,
    *,
    label: str,
    position: str = "position",
    by: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> pa.Table:
    """The position-bias curve: positive rate per position, and relative to the first.

    One row per ``by`` segment and ``position`` (sorted, nulls last) with ``n``, ``n_labeled``,
    ``positives``, ``positive_rate = positives / n_labeled`` and
    ``relative_rate = positive_rate / positive_rate at the segment's smallest position`` (null
    when that rate is 0 or undefined). Grouping ``by`` an exploration flag compares randomized
    traffic, whose curve shows pure position bias, with policy traffic.
    """
    segments = column_list(by, "by")
    if position in segments:
        from .errors import ConfigError

        raise ConfigError(f"by: {position!r} is already the position column")
    counts: pa.Table = _core.label_metrics(
        source_arg(labeled, "labeled"), label, None, "ts", None, [*segments, position], threads
    )
    counts = counts.select([*segments, position, *_COUNT_COLUMNS, "positive_rate"])
    return counts.append_column("relative_rate", _relative_to_first(counts, segments, position))


def _relative_to_first(
    counts: pa.Table, segments: list[str], position: str
) -> pa.Array[pa.Scalar[pa.DataType]]:
    """Each row's positive rate over the rate of its segment's smallest non-null position
    (rows are sorted by segment, then position with nulls last)."""
    rates = counts.column("positive_rate").to_pylist()
    positions = counts.column(position).to_pylist()
    keys = list(zip(*(counts.column(s).to_pylist() for s in segments), strict=True))
    out: list[float | None] = []
    first_rate: float | None = None
    for i, rate in enumerate(rates):
        if i == 0 or (segments and keys[i] != keys[i - 1]):
            first_rate = rate if positions[i] is not None else None
        if rate is None or not first_rate:
            out.append(None)
        else:
            out.append(rate / first_rate)
    return pa.array(out, pa.float64())


class LabelMetricsState:
    """The mergeable state behind :func:`label_metrics` (SPEC §6).

    ``update`` adds a table (or Parquet paths), ``merge`` folds in another state (associative and
    commutative; a fresh state is the identity), ``finalize`` gives the table ``label_metrics``
    would give for all rows seen, ``to_bytes`` / ``from_bytes`` move a state between processes
    or machines (versioned format). States with other arguments or column types refuse to merge
    (``ConfigError``). Exact: each group keeps counts and every labeled row's (score, label), so
    merged results equal a single pass bit for bit.

    >>> a = lw.LabelMetricsState(label="label_1d", score="p", every="1h")  # doctest: +SKIP
    >>> a.update(day1); b.update(day2); a.merge(b); a.finalize()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        label: str,
        score: str | None = None,
        time: str = "ts",
        every: Window | None = None,
        by: str | Sequence[str] | None = None,
    ) -> None:
        self._state = _core.LabelMetricsState(
            label, score, time, normalize_duration(every, "every"), column_list(by, "by")
        )

    def update(self, labeled: Any, *, threads: int | None = None) -> LabelMetricsState:
        """Add every row of ``labeled``; returns ``self``."""
        self._state.update(source_arg(labeled, "labeled"), threads)
        return self

    def merge(self, other: LabelMetricsState) -> LabelMetricsState:
        """Fold ``other`` into this state; returns ``self``."""
        if not isinstance(other, LabelMetricsState):
            from .errors import ConfigError

            raise ConfigError(f"merge: expected a LabelMetricsState, got {type(other).__name__}")
        if other is self:  # merging a state into itself: merge a copy
            other = type(self).from_bytes(self.to_bytes())
        self._state.merge(other._state)
        return self

    def finalize(self, *, threads: int | None = None) -> pa.Table:
        """The metrics table of every row seen so far (the state stays usable)."""
        table: pa.Table = self._state.finalize(threads)
        return table

    def to_bytes(self) -> bytes:
        """Versioned bytes; equal states give equal bytes."""
        return self._state.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelMetricsState:
        """A state from ``to_bytes`` output (refuses other kinds, versions or corrupt bytes)."""
        state = cls.__new__(cls)
        state._state = _core.LabelMetricsState.from_bytes(bytes(data))
        return state
