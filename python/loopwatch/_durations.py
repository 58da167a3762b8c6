"""Reading duration strings (``"30m"``, ``"1h30m"``) on the Python side.

The engine parses every duration it is given; the façade needs one earlier, to order the
label windows (the largest is the reference of the window trade-off) and to refuse a bad
``--every`` before any work. Same grammar as the engine (``rust/loopwatch-core/src/duration.rs``),
checked against it in ``tests/test_report.py``: one or more ``<whole number><unit>`` parts,
units ``ns us µs ms s m h d w``; calendar units are refused.
"""

from __future__ import annotations

import datetime as dt
import re

from .errors import ConfigError

_NANOS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_CALENDAR = {"mo", "M", "y", "Y", "month", "months", "year", "years"}
_PART = re.compile(r"([0-9]+)([^0-9]*)")  # ASCII digits, as the engine
_INT64_MAX = 2**63 - 1
EXAMPLES = '"90s", "30m", "1h30m", "7d", "250ms"'


def duration_nanos(text: str | dt.timedelta, argument: str) -> int:
    """Nanoseconds in ``text``; ``ConfigError`` naming ``argument`` when it is no duration."""
    if isinstance(text, dt.timedelta):
        return (text // dt.timedelta(microseconds=1)) * 1_000
    stripped = text.strip()

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"{argument}: cannot read {text!r} as a duration ({why}); expected e.g. {EXAMPLES}"
        )

    if not stripped:
        raise bad("it is empty")
    if stripped.startswith("-"):
        raise bad("durations cannot be negative")
    if stripped[0] not in "0123456789":
        raise bad("each part must start with a whole number")
    total = 0
    for number, raw_unit in _PART.findall(stripped):
        unit = raw_unit.strip()
        if unit in _CALENDAR:
            raise bad("calendar units have no fixed length; use days")
        if not unit:
            raise bad("a unit is missing after the number")
        if unit not in _NANOS:
            raise bad(f"unknown unit {unit!r}")
        total += int(number) * _NANOS[unit]
        if total > _INT64_MAX:
            raise bad("too long")
    return total


def window_order(window: str | int) -> int:
    """Sort key of a label window as ``join_stats`` lists it (a duration string or an int)."""
    if isinstance(window, int):
        return window
    if window.lstrip("-").isdigit():
        return int(window)
    return duration_nanos(window, "windows")
