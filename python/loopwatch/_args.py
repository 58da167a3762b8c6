"""Argument normalization shared by the public functions (Python values → engine values)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

Window = str | int | dt.timedelta

_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_INT64 = range(-(2**63), 2**63)
_EPOCH_AWARE = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_UNITS = (  # nanoseconds per unit, largest first
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
)


def compact_duration(delta: dt.timedelta, argument: str = "windows") -> str:
    """``timedelta(hours=1, minutes=30)`` → ``"1h30m"`` (the label-column spelling).

    ``pandas.Timedelta`` keeps its nanoseconds.
    """
    nanos = (delta // dt.timedelta(microseconds=1)) * 1_000 + int(getattr(delta, "nanoseconds", 0))
    if nanos < 0:
        raise ConfigError(f"{argument}: {delta!r} is negative")
    if nanos == 0:
        return "0s"
    parts = []
    for name, size in _UNITS:
        count, nanos = divmod(nanos, size)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts)


def normalize_windows(windows: Window | Sequence[Window]) -> list[str | int]:
    """One window or a list of them, each a duration string, timedelta or integer."""
    items = [windows] if isinstance(windows, str | int | dt.timedelta) else list(windows)
    out: list[str | int] = []
    for w in items:
        if isinstance(w, bool):
            raise ConfigError(f"windows: expected a duration or an integer, got {w!r}")
        if isinstance(w, dt.timedelta):
            out.append(compact_duration(w))
        elif isinstance(w, int) and w not in _INT64:
            raise ConfigError(f"windows: {w} is outside the int64 range")
        elif isinstance(w, str | int):
            out.append(w)
        else:
            raise ConfigError(
                f"windows: expected a duration string, datetime.timedelta or integer, got {w!r}"
            )
    return out


def normalize_duration(value: Window | None, argument: str) -> str | int | None:
    """One optional duration (``every=``, ``lookback=``...) in the engine's form."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | dt.timedelta):
        raise ConfigError(
            f'{argument}: expected a duration string such as "1h", a datetime.timedelta or an '
            f"integer, got {value!r}"
        )
    if isinstance(value, dt.timedelta):
        return compact_duration(value, argument)
    if isinstance(value, int) and value not in _INT64:
        raise ConfigError(f"{argument}: {value} is outside the int64 range")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(value: int | str | None, argument: str) -> int | None:
    """A byte count: an int, or a string such as ``"512MiB"``, ``"2GB"``, ``"1.5GiB"``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f'{argument}: expected bytes (int) or a size like "2GiB", got {value!r}')
    if isinstance(value, int):
        size = value
    else:
        text = value.strip().lower().replace(" ", "")
        number = text.rstrip("kmgtib")
        unit = text[len(number) :]
        try:
            size = int(float(number) * _SIZE_UNITS[unit])
        except (ValueError, KeyError):
            raise ConfigError(
                f'{argument}: cannot read {value!r} as a size; expected e.g. "512MiB", "2GB"'
            ) from None
    if size <= 0 or size >= 2**64:
        raise ConfigError(f"{argument}: must be a positive number of bytes, got {value!r}")
    return size


def column_list(columns: str | Sequence[str] | None, argument: str) -> list[str]:
    """``"a"`` → ``["a"]``; a list of names stays; ``None`` → ``[]``."""
    if columns is None:
        return []
    items = [columns] if isinstance(columns, str) else list(columns)
    for c in items:
        if not isinstance(c, str):
            raise ConfigError(f"{argument}: expected column names, got {c!r}")
    return items


def normalize_watermark(watermark: Any) -> tuple[str, int, int] | None:
    """A watermark as (kind, seconds or value, nanoseconds) for the engine."""
    if watermark is None:
        return None
    if isinstance(watermark, bool):
        raise ConfigError(f"watermark: expected a datetime or an integer, got {watermark!r}")
    if isinstance(watermark, int):
        if watermark not in _INT64:
            raise ConfigError(f"watermark: {watermark} is outside the int64 range")
        return ("int", watermark, 0)
    if isinstance(watermark, dt.datetime):
        aware = watermark.tzinfo is not None and watermark.utcoffset() is not None
        since = watermark - (_EPOCH_AWARE if aware else _EPOCH_NAIVE)
        micros = since // dt.timedelta(microseconds=1)
        seconds, sub_micros = divmod(micros, 1_000_000)
        extra_nanos = int(getattr(watermark, "nanosecond", 0))  # pandas.Timestamp
        return ("aware" if aware else "naive", seconds, sub_micros * 1_000 + extra_nanos)
    raise ConfigError(
        f"watermark: expected a datetime (or an int for integer time), got {type(watermark)!r}"
    )


def source_arg(table: Any, name: str) -> Any:
    """Paths become a list of strings (read in Rust); tables pass through untouched."""
    if isinstance(table, str | os.PathLike):
        return [os.fspath(table)]
    if (
        isinstance(table, list | tuple)
        and table
        and all(isinstance(p, str | os.PathLike) for p in table)
    ):
        return [os.fspath(p) for p in table]
    if not hasattr(table, "__arrow_c_stream__"):
        raise ConfigError(
            f"{name}: expected an Arrow table (pyarrow, pandas, Polars, DuckDB...) or Parquet "
            f"path(s), got {type(table).__name__}"
        )
    return table
