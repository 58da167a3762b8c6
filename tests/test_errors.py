"""Every wrong input raises a specific loopwatch exception naming the argument or column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import loopwatch as lw

T0 = dt.datetime(2024, 1, 1)


def ts(minutes: list[int], unit: str = "us", tz: str | None = None) -> pa.Array:
    values = [T0 + dt.timedelta(minutes=m) for m in minutes]
    return pa.array(values, pa.timestamp(unit, tz=tz))


def tables(**changes: Any) -> tuple[pa.Table, pa.Table]:
    pred = {"user_id": pa.array([1, 2]), "item_id": pa.array([10, 20]), "ts": ts([0, 1])}
    fb = {"user_id": pa.array([1]), "item_id": pa.array([10]), "ts": ts([3]), "v": [1.5]}
    for name, value in changes.items():
        side, column = name.split("__")
        (pred if side == "pred" else fb)[column] = value
    return pa.table(pred), pa.table(fb)


def join(pred: Any = None, fb: Any = None, **kwargs: Any) -> Any:
    if pred is None or fb is None:
        pred, fb = tables()
    args: dict[str, Any] = {"on": ["user_id", "item_id"], "windows": "30m"}
    args.update(kwargs)
    return lw.label_join(pred, fb, **args)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"on": ["nope"]}, lw.SchemaError, ["on", "nope", "predictions"]),
        ({"time": "when"}, lw.SchemaError, ["time", "when", "predictions"]),
        ({"feedback_time": "when"}, lw.SchemaError, ["feedback_time", "when", "feedback"]),
        ({"value": "missing"}, lw.SchemaError, ["value", "missing", "feedback"]),
        ({"value": "item_id", "windows": "1h"}, None, []),
        ({"windows": "30 minutes"}, lw.ConfigError, ["windows", "30 minutes"]),
        ({"windows": "1mo"}, lw.ConfigError, ["windows", "calendar"]),
        ({"windows": "-5m"}, lw.ConfigError, ["windows", "negative"]),
        ({"windows": dt.timedelta(minutes=-5)}, lw.ConfigError, ["windows", "negative"]),
        ({"windows": ["30m", "1800s"]}, lw.ConfigError, ["windows", "twice"]),
        ({"windows": ["30m", "30m"]}, lw.ConfigError, ["windows", "twice"]),
        ({"windows": []}, lw.ConfigError, ["windows"]),
        ({"windows": [30]}, lw.ConfigError, ["windows", "timestamps"]),
        ({"windows": [1.5]}, lw.ConfigError, ["windows"]),
        ({"attribution": "middle"}, lw.ConfigError, ["attribution", "middle"]),
        ({"on": []}, lw.ConfigError, ["on"]),
        ({"on": ["user_id", "user_id"]}, lw.ConfigError, ["on", "twice"]),
        ({"watermark": 5}, lw.ConfigError, ["watermark", "datetime"]),
        ({"watermark": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, lw.ConfigError, ["watermark"]),
        ({"watermark": "2024-01-01"}, lw.ConfigError, ["watermark"]),
        ({"threads": 0}, lw.ConfigError, ["threads"]),
    ],
)
def test_bad_arguments_name_the_argument(
    kwargs: dict[str, Any], error: type[Exception] | None, words: list[str]
) -> None:
    if error is None:  # a control: the same call with a valid variation works
        join(**kwargs)
        return
    with pytest.raises(error) as caught:
        join(**kwargs)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"pred__user_id": pa.array([1.0, 2.0])}, ["user_id", "float64", "floating"]),
        ({"fb__item_id": pa.array([10.5], pa.float32())}, ["item_id", "float"]),
        ({"fb__user_id": pa.array(["1"])}, ["user_id", "int64", "utf8"]),
        ({"fb__ts": ts([3], tz="UTC")}, ["naive", "aware", "UTC"]),
        ({"pred__ts": ts([0, 1], tz="Europe/Paris")}, ["naive", "aware"]),
        ({"fb__ts": pa.array([3])}, ["timestamps", "integers"]),
        ({"pred__ts": pa.array([1.0, 2.0])}, ["time", "ts", "float64"]),
        ({"pred__user_id": pa.array([[1], [2]])}, ["user_id", "list"]),
        ({"fb__v": pa.array(["x"])}, ["value", "v", "numeric"]),
        ({"pred__feedback_count": pa.array([1, 2])}, ["feedback_count", "already"]),
        ({"pred__label_30m": pa.array([1, 2])}, ["label_30m", "already"]),
    ],
)
def test_bad_schemas_name_the_column(changes: dict[str, Any], words: list[str]) -> None:
    pred, fb = tables(**changes)
    value = "v" if "fb__v" in changes else None
    with pytest.raises(lw.SchemaError) as caught:
        join(pred, fb, value=value)
    for word in words:
        assert word.lower() in str(caught.value).lower(), (word, str(caught.value))


def test_aware_times_in_different_zones_are_fine() -> None:
    pred, fb = tables(pred__ts=ts([0, 1], tz="Europe/Paris"), fb__ts=ts([3], "ms", tz="UTC"))
    out = join(pred, fb)
    assert out.column("label_30m").to_pylist() == [1, None]


def test_integer_time_takes_integer_windows_and_watermark() -> None:
    pred, fb = tables(pred__ts=pa.array([0, 10]), fb__ts=pa.array([3]))
    with pytest.raises(lw.ConfigError, match="windows"):
        join(pred, fb, windows="30m")
    with pytest.raises(lw.ConfigError, match="watermark"):
        join(pred, fb, windows=[5], watermark=dt.datetime(2024, 1, 1))
    out = join(pred, fb, windows=[5], watermark=20)
    assert out.column("label_5").to_pylist() == [1, 0]
    with pytest.raises(lw.ConfigError, match="windows"):
        join(pred, fb, windows=[-1])


def test_unsigned_keys_beyond_int64_against_signed_keys() -> None:
    big = pa.array([2**64 - 1, 1], pa.uint64())
    pred, fb = tables(pred__user_id=big)
    with pytest.raises(lw.DataError, match="user_id"):
        join(pred, fb)
    # Both sides uint64: compared exactly, no error.
    pred, fb = tables(pred__user_id=big, fb__user_id=pa.array([2**64 - 1], pa.uint64()))
    assert join(pred, fb).column("feedback_count").to_pylist() == [1, 0]


def test_time_overflow_when_converting_units() -> None:
    pred, fb = tables(pred__ts=pa.array([2**62, 0], pa.timestamp("s")))
    with pytest.raises(lw.DataError, match="ts"):
        join(pred, fb)


def test_not_a_table() -> None:
    with pytest.raises(lw.ConfigError, match="predictions"):
        lw.label_join(42, pa.table({"a": [1]}), on="a", windows="1m")
    with pytest.raises(lw.ConfigError, match="feedback"):
        lw.label_join(pa.table({"a": [1]}), {"a": [1]}, on="a", windows="1m")


def test_parquet_path_errors_name_the_file(tmp_path: Path) -> None:
    pred, fb = tables()
    missing = tmp_path / "nope.parquet"
    with pytest.raises(lw.InputFileError, match=r"nope\.parquet"):
        join(str(missing), fb)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(lw.InputFileError, match="empty"):
        join(pred, empty_dir)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(lw.InputFileError, match=r"corrupt\.parquet"):
        join(str(corrupt), fb)
    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(fb, parts / "a.parquet")
    pq.write_table(fb.set_column(0, "user_id", pa.array(["1"])), parts / "b.parquet")
    with pytest.raises(lw.SchemaError, match=r"b\.parquet"):
        join(pred, parts)
    with pytest.raises(lw.InputFileError, match=r"\*.none"):
        join(pred, str(tmp_path / "*.none"))


def test_output_to_missing_directory_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "out.parquet"
    with pytest.raises(lw.InputFileError, match=r"out\.parquet"):
        join(output=str(target))
    assert not target.parent.exists()


def test_output_parquet_is_written_whole_with_stats(tmp_path: Path) -> None:
    target = tmp_path / "labeled.parquet"
    stats = join(output=target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labeled.parquet"]
    assert lw.join_stats(target) == stats
    assert pq.read_table(target).column("label_30m").to_pylist() == [1, None]


def test_join_stats_refuses_foreign_tables() -> None:
    with pytest.raises(lw.SchemaError, match="label_join"):
        lw.join_stats(pa.table({"a": [1]}))


def test_errors_are_value_errors_and_loopwatch_errors() -> None:
    assert issubclass(lw.SchemaError, ValueError)
    assert issubclass(lw.ConfigError, lw.LoopwatchError)
    assert issubclass(lw.InputFileError, OSError)
