"""``label_join``: natural labels from delayed feedback (SPEC §2)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Literal, overload

import pyarrow as pa

from . import _core
from ._args import Window, normalize_watermark, normalize_windows, parse_size, source_arg

Attribution = Literal["last", "first", "all"]


@overload
def label_join(
    predictions: Any,
    feedback: Any,
    *,
    on: str | Sequence[str],
    windows: Window | Sequence[Window],
    time: str = ...,
    feedback_time: str | None = ...,
    watermark: Any = ...,
    attribution: Attribution = ...,
    value: str | None = ...,
    output: None = ...,
    threads: int | None = ...,
    memory_limit: int | str | None = ...,
    tmp_dir: str | os.PathLike[str] | None = ...,
    progress: bool = ...,
) -> pa.Table: ...


@overload
def label_join(
    predictions: Any,
    feedback: Any,
    *,
    on: str | Sequence[str],
    windows: Window | Sequence[Window],
    time: str = ...,
    feedback_time: str | None = ...,
    watermark: Any = ...,
    attribution: Attribution = ...,
    value: str | None = ...,
    output: str | os.PathLike[str],
    threads: int | None = ...,
    memory_limit: int | str | None = ...,
    tmp_dir: str | os.PathLike[str] | None = ...,
    progress: bool = ...,
) -> dict[str, Any]: ...


def label_join(
    predictions: Any,
    feedback: Any,
    *,
    on: str | Sequence[str],
    windows: Window | Sequence[Window],
    time: str = "ts",
    feedback_time: str | None = None,
    watermark: Any = None,
    attribution: Attribution = "last",
    value: str | None = None,
    output: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    memory_limit: int | str | None = None,
    tmp_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> pa.Table | dict[str, Any]:
    """Label each prediction from the feedback events that arrive after it.

    ``predictions`` and ``feedback`` are Arrow-compatible tables (pyarrow Table or
    RecordBatchReader, pandas, Polars, DuckDB: anything exporting ``__arrow_c_stream__``) or
    Parquet paths (a file, a directory of parts, a glob, or a list of them).

    **Crediting.** A feedback event ``f`` (key ``on``, time ``t_f``) is credited to predictions
    of the same key with ``t_p <= t_f <= t_p + W_max`` (``W_max`` = largest window):

    * ``"last"`` (default): to the one prediction with the greatest ``t_p <= t_f`` (ties: the
      later row); if that one is more than ``W_max`` before ``t_f`` the event is *late* and
      credited to nobody.
    * ``"first"``: to the earliest prediction whose window ``[t_p, t_p + W_max]`` holds ``t_f``
      (ties: the earlier row).
    * ``"all"``: to every prediction whose window holds ``t_f``.

    Events with no prediction of their key at or before ``t_f`` are *orphans*; events whose key
    has earlier predictions, none within ``W_max``, are *late*; events after the watermark ``A``
    are ignored; events with a null key or time are *invalid* and dropped. A null in any key
    column never matches.

    **Labels.** For each window ``w``, ``label_<w>`` is

    * ``1`` if an event credited to the prediction has ``t_f - t_p <= w``;
    * ``0`` if the window is closed: ``A >= t_p + w``, or (``"last"`` only) a later prediction of
      the same key (later ``t_p``, or equal ``t_p`` and later row) has ``t_next <= A``;
    * null (pending) otherwise, and for predictions with a null key or time (*invalid*).

    ``watermark=None`` takes ``A`` as the greatest time of the valid feedback events (none: every
    label is pending). Pass a ``datetime`` (or an ``int`` for integer time columns) to get the
    labels as they were known at that time.

    **Output.** The predictions, in input order, plus ``label_<w>`` (int8) per window,
    ``feedback_count`` (int64, events credited), ``first_feedback_delay`` (duration of the finer
    time unit, or int64 for integer time; null when nothing was credited) and, with ``value=``,
    ``value_sum`` (float64: SQL ``SUM`` of the credited events' values, null when none is
    non-null; events are added in (time, input row) order, so the sum is the same on every
    run). The counts travel as JSON under ``loopwatch.stats`` in the schema metadata; read
    them with :func:`loopwatch.join_stats`. With ``output=PATH`` the table is written to Parquet
    at ``PATH`` and the counts are returned instead: one file, or — when ``PATH`` ends with a
    ``/`` or names an existing empty directory — a directory of parts ``part-00000.parquet``, …,
    one per predictions file (one for a table). Either appears only when complete (written
    under a temporary name, then renamed); a non-empty directory is refused, never overwritten.
    Parquet predictions whose files share one Parquet schema are not re-encoded: each input row
    group becomes an output row group whose prediction columns are the input's column chunks,
    copied byte for byte after checking their page headers (so they keep their codec); only
    the label columns are encoded (zstd). Where one row group's labels, while they are
    gathered and encoded, would need more than half of ``memory_limit``, the predictions are
    decoded and re-encoded instead. Input files must not change during the call (the
    predictions are read twice and the reads paired row by row): each file's size,
    modification and status-change times and identity are checked before the output is
    committed (and when the call fails), and a change raises ``InputFileError`` naming the
    file, with no output written.

    ``threads`` caps the worker threads (default: all cores); results never depend on it.

    **Scale.** Parquet predictions (or an explicit ``memory_limit``) take the bounded-memory
    path: both inputs are read by row groups in parallel (only the key and time columns at
    first) and split by key hash into as many partitions as the ``memory_limit`` budget needs
    (bytes or a string such as ``"2GiB"``; default ``LOOPWATCH_MEMORY_LIMIT`` or a quarter of
    the machine's memory), spilled to a private directory under ``tmp_dir`` (default: the
    system's) when more than one is needed. Only predictions whose labels need the join go to
    the partitions: those whose key has feedback, and those whose windows are still open at
    the watermark ``A``; every other valid prediction at or before ``A`` has all its windows
    closed with nothing credited (labels 0), and invalid ones or those after ``A`` are pending
    (labels null), so one byte a row records that. The partitions are joined as many at a time
    as fit the budget, and the rows written out in input order — to ``output`` directly, which
    appears only when complete. The temporary directory
    is removed on success, on error and on Ctrl-C (which stops the call within a batch or a
    partition and raises ``KeyboardInterrupt``).
    ``progress=True`` draws a progress bar over rows read on stderr (and takes this path too).
    Results are identical to the in-memory path.

    Example::

        labeled = lw.label_join(impressions, clicks, on=["user_id", "item_id"],
                                windows=["30m", "1d"])
        labeled.column("label_30m")
    """
    feedback_time = time if feedback_time is None else feedback_time
    keys = [on] if isinstance(on, str) else list(on)
    result = _core.label_join(
        source_arg(predictions, "predictions"),
        source_arg(feedback, "feedback"),
        keys,
        normalize_windows(windows),
        time,
        feedback_time,
        normalize_watermark(watermark),
        attribution,
        value,
        None if output is None else os.fspath(output),
        threads,
        parse_size(memory_limit, "memory_limit"),
        None if tmp_dir is None else os.fspath(tmp_dir),
        bool(progress),
    )
    if output is not None:
        stats: dict[str, Any] = json.loads(result)
        return stats
    table: pa.Table = result
    return table
