"""How long feedback takes (SPEC §3): ``delay_profile`` and ``window_tradeoff``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from . import _core
from ._args import Window, column_list, compact_duration, normalize_watermark, source_arg
from ._durations import duration_nanos
from ._stats import join_stats
from .errors import ConfigError, SchemaError

# Default candidate windows of window_tradeoff (those below the reference are used).
WINDOW_LADDER = [
    "1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "3d", "7d", "14d", "30d",
]  # fmt: skip
_UNIT_NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@dataclass(frozen=True)
class DelayProfile:
    """What :func:`delay_profile` returns: ``summary`` (one row per segment) and ``histogram``
    (one row per segment and bin)."""

    summary: pa.Table
    histogram: pa.Table


def delay_profile(
    labeled: Any,
    *,
    delay: str = "first_feedback_delay",
    by: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> DelayProfile:
    """The feedback loop length: how long labels take to arrive, per ``by`` segment.

    ``summary``: ``n`` rows, ``count`` rows with a delay (null = no feedback), ``mean`` and
    ``p50``/``p90``/``p95``/``p99`` — durations of the column's unit rounded to the nearest unit
    (float64 for integer delays). Quantiles follow numpy's default linear interpolation
    (``h = (n - 1)·q``); exact up to 1,024 delays per segment, beyond that from log-spaced
    buckets whose estimates are within 0.25% (relative) of the exact value.

    ``histogram``: ``bin_start``, ``bin_end`` (open last bin: null), ``count`` over fixed
    log-spaced bins [start, end) — 0, 1s, 2s, 5s, 10s, 20s, 30s, 1m, 2m, 5m, 10m, 20m, 30m, 1h,
    2h, 3h, 6h, 12h, 1d, 2d, 3d, 7d, 14d, 30d for durations; 0, 1, 2, 5, 10, 20, 50, … for
    integers — listing each segment's bins from its first to its last non-empty one.

    Run it on ``label_join`` output (``first_feedback_delay``). Negative delays are an error.
    """
    state = DelayProfileState(delay=delay, by=by)
    state.update(labeled, threads=threads)
    return state.finalize()


class DelayProfileState:
    """The mergeable state behind :func:`delay_profile` (SPEC §6): ``update``, ``merge``,
    ``finalize``, ``to_bytes`` / ``from_bytes``. Counts and histogram bins are exact integers;
    the quantile sketch switches from exact values to buckets by total count only, so results
    never depend on how rows were split."""

    def __init__(
        self, *, delay: str = "first_feedback_delay", by: str | Sequence[str] | None = None
    ):
        self._state = _core.DelayProfileState(delay, column_list(by, "by"))

    def update(self, labeled: Any, *, threads: int | None = None) -> DelayProfileState:
        """Add every row of ``labeled``; returns ``self``."""
        self._state.update(source_arg(labeled, "labeled"), threads)
        return self

    def merge(self, other: DelayProfileState) -> DelayProfileState:
        """Fold ``other`` in (refuses other columns or types); returns ``self``."""
        if not isinstance(other, DelayProfileState):
            raise ConfigError(f"merge: expected a DelayProfileState, got {type(other).__name__}")
        if other is self:  # merging a state into itself: merge a copy
            other = type(self).from_bytes(self.to_bytes())
        self._state.merge(other._state)
        return self

    def finalize(self) -> DelayProfile:
        """The profile of every row seen so far (the state stays usable)."""
        summary, histogram = self._state.finalize()
        return DelayProfile(summary, histogram)

    def to_bytes(self) -> bytes:
        """Versioned bytes; equal states give equal bytes."""
        return self._state.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DelayProfileState:
        """A state from ``to_bytes`` output."""
        state = cls.__new__(cls)
        state._state = _core.DelayProfileState.from_bytes(bytes(data))
        return state


def window_tradeoff(
    labeled: Any,
    *,
    reference: Window,
    windows: Window | Sequence[Window] | None = None,
    delay: str = "first_feedback_delay",
    time: str = "ts",
    watermark: Any = None,
    target_recall: float = 0.95,
    by: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> pa.Table:
    """The label-window trade-off: how many positives a shorter window misses.

    Among predictions matured for the reference (``t + reference <= A``, A = ``watermark`` or the
    watermark ``label_join`` recorded in the table), ``reference_positives`` = those with
    ``delay <= reference``; for each window ``w``: ``captured`` = those with ``delay <= w``,
    ``recall = captured / reference_positives``, ``false_negative_rate = 1 - recall`` (what a
    window of ``w`` labels wrongly negative) and ``window_duration`` = ``w``, the latency the
    window costs. ``reaches_target`` marks recall >= ``target_recall``;
    ``smallest_reaching_target`` the first such window per segment.

    ``windows`` default: 1m, 5m, 15m, 30m, 1h, 2h, 6h, 12h, 1d, 2d, 3d, 7d, 14d, 30d below the
    reference, then the reference. ``delay`` is ``label_join``'s ``first_feedback_delay``, so the
    reference must not exceed the join's largest window. Under ``attribution="last"`` (and
    ``"all"``) this equals re-running ``label_join`` per window; under ``"first"`` crediting
    depends on the largest window, and this table describes the reference join's crediting.
    """
    if isinstance(target_recall, bool) or not isinstance(target_recall, int | float):
        raise ConfigError(f"target_recall: expected a number in (0, 1], got {target_recall!r}")
    ref = _named(reference, "reference")
    if windows is None:
        if isinstance(ref[1], int):
            named = [ref]
        else:
            ladder = [(w, w) for w in WINDOW_LADDER]
            named = [*ladder, ref]
            named = _below_reference(named, ref)
    else:
        items = [windows] if isinstance(windows, str | int | dt.timedelta) else list(windows)
        named = [_named(w, "windows") for w in items]
    parts = _watermark(labeled, watermark)
    table: pa.Table = _core.window_tradeoff(
        source_arg(labeled, "labeled"),
        delay,
        time,
        ref,
        named,
        parts,
        float(target_recall),
        column_list(by, "by"),
        threads,
    )
    return table


def _named(window: Window, argument: str) -> tuple[str, str | int]:
    if isinstance(window, bool) or not isinstance(window, str | int | dt.timedelta):
        raise ConfigError(f"{argument}: expected a duration or an integer, got {window!r}")
    if isinstance(window, dt.timedelta):
        text = compact_duration(window, argument)
        return (text, text)
    return (str(window), window)


def _below_reference(
    named: list[tuple[str, str | int]], ref: tuple[str, str | int]
) -> list[tuple[str, str | int]]:
    """The ladder's windows strictly shorter than the reference, then the reference."""

    def nanos(text: str | int) -> int:
        return duration_nanos(str(text), "reference")

    ref_nanos = nanos(ref[1])
    return [w for w in named[:-1] if nanos(w[1]) < ref_nanos] + [ref]


def _watermark(labeled: Any, watermark: Any) -> tuple[str, int, int]:
    """The as-of time for the engine: explicit, else the one ``label_join`` recorded."""
    parts = normalize_watermark(watermark)
    if parts is not None:
        return parts
    try:
        stats = join_stats(labeled if not isinstance(labeled, list) else labeled[0])
    except (SchemaError, OSError, TypeError, ValueError):
        stats = {}
    value = stats.get("watermark")
    if value is None:
        raise ConfigError(
            "watermark: not given, and the table carries no label_join watermark "
            "(loopwatch.stats); pass watermark= the as-of time of the labels"
        )
    unit = stats.get("time_unit")
    if unit is None:
        return ("int", int(value), 0)
    seconds, nanos = divmod(int(value) * _UNIT_NANOS[unit], 10**9)
    return ("naive", seconds, nanos)
