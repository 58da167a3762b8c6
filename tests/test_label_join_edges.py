"""Edge cases found in review: extreme times, watermark precision, pandas durations, paths."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import loopwatch as lw

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)


def test_successor_rule_at_the_smallest_time() -> None:
    # A = -10 (the only event, of another key). The prediction at MIN has a later one of its
    # key at MIN+1 <= A, so its window is closed: 0, not pending.
    pred = pa.table({"k": [1, 1], "ts": [I64_MIN, I64_MIN + 1]})
    fb = pa.table({"k": [2], "ts": [-10]})
    out = lw.label_join(pred, fb, on="k", windows=[I64_MAX])
    assert out.column(f"label_{I64_MAX}").to_pylist() == [0, None]


def test_sub_second_watermark_keeps_the_columns_unit() -> None:
    t0 = dt.datetime(2024, 1, 1)
    pred = pa.table({"k": [1, 2], "ts": pa.array([t0, t0], pa.timestamp("s"))})
    fb = pa.table({"k": [1], "ts": pa.array([t0 + dt.timedelta(seconds=30)], pa.timestamp("s"))})
    # 59.9 s after t0 floors to 59 s: the 1m window of key 2 is still open.
    out = lw.label_join(pred, fb, on="k", windows="1m", watermark=t0 + dt.timedelta(seconds=59.9))
    assert out.schema.field("first_feedback_delay").type == pa.duration("s")
    assert out.column("label_1m").to_pylist() == [1, None]
    closed = lw.label_join(pred, fb, on="k", windows="1m", watermark=t0 + dt.timedelta(minutes=1))
    assert closed.column("label_1m").to_pylist() == [1, 0]


def test_far_future_watermark_closes_everything() -> None:
    t0 = dt.datetime(2024, 1, 1)
    pred = pa.table({"k": [1], "ts": pa.array([t0], pa.timestamp("ns"))})
    fb = pa.table({"k": [2], "ts": pa.array([t0], pa.timestamp("ns"))})
    out = lw.label_join(pred, fb, on="k", windows="1d", watermark=dt.datetime(2300, 1, 1))
    assert out.column("label_1d").to_pylist() == [0]


def test_pandas_timedelta_windows_keep_nanoseconds() -> None:
    pred = pa.table({"k": [1, 1], "ts": pa.array([0, 1_000], pa.timestamp("ns"))})
    fb = pa.table({"k": [1, 1], "ts": pa.array([200, 1_400], pa.timestamp("ns"))})
    out = lw.label_join(pred, fb, on="k", windows=[pd.Timedelta("250ns"), "1us"])
    assert out.column("label_250ns").to_pylist() == [1, 0]
    assert out.column("label_1us").to_pylist() == [1, 1]


def test_out_of_range_integers_are_config_errors() -> None:
    pred = pa.table({"k": [1], "ts": [0]})
    with pytest.raises(lw.ConfigError, match="windows"):
        lw.label_join(pred, pred, on="k", windows=[2**64])
    with pytest.raises(lw.ConfigError, match="watermark"):
        lw.label_join(pred, pred, on="k", windows=[1], watermark=2**64)


def test_dictionary_of_booleans_refused_before_reading() -> None:
    keys = pa.array([True, False]).dictionary_encode()
    pred = pa.table({"k": keys, "ts": [0, 1]})
    with pytest.raises(lw.SchemaError, match='"k"'):
        lw.label_join(pred, pred, on="k", windows=[1])


def test_symlink_loop_in_a_directory_is_not_followed(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    table = pa.table({"k": [1], "ts": [5]})
    pq.write_table(table, parts / "a.parquet")
    os.symlink(parts, parts / "loop")
    out = lw.label_join(str(parts), table, on="k", windows=[1])
    assert out.num_rows == 1


def test_polars_categorical_keys_match_plain_strings() -> None:
    import polars as pl

    pred = pl.DataFrame({"k": ["a", "b", "a"], "ts": [0, 1, 2]}).with_columns(
        pl.col("k").cast(pl.Categorical)
    )
    fb = pa.table({"k": pa.array(["a", "b"], pa.large_string()), "ts": [3, 1]})
    out = lw.label_join(pred, fb, on="k", windows=[5])
    assert out.column("feedback_count").to_pylist() == [0, 1, 1]
    assert out.column("label_5").to_pylist() == [0, 1, 1]


def test_integer_keys_at_their_limits() -> None:
    keys = [I64_MIN, -1, 0, I64_MAX]
    pred = pa.table({"k": pa.array(keys, pa.int64()), "ts": [0, 0, 0, 0]})
    fb = pa.table({"k": pa.array([I64_MAX, -1], pa.int64()), "ts": [1, 1]})
    out = lw.label_join(pred, fb, on="k", windows=[1])
    assert out.column("feedback_count").to_pylist() == [0, 1, 0, 1]
    big = pa.array([2**64 - 1, 2**63, 0], pa.uint64())
    pred = pa.table({"k": big, "ts": [0, 0, 0]})
    fb = pa.table({"k": pa.array([2**63, 5], pa.uint64()), "ts": [1, 1]})
    out = lw.label_join(pred, fb, on="k", windows=[1])
    assert out.column("feedback_count").to_pylist() == [0, 1, 0]


def test_value_columns_of_any_numeric_type_and_nan() -> None:
    pred = pa.table({"k": [1, 2, 3], "ts": [0, 0, 0]})
    for value_type in [pa.int32(), pa.float32(), pa.uint8()]:
        fb = pa.table({"k": [1, 1, 2], "ts": [1, 2, 1], "v": pa.array([2, 3, None], value_type)})
        out = lw.label_join(pred, fb, on="k", windows=[5], value="v", attribution="all")
        assert out.column("value_sum").to_pylist() == [5.0, None, None], value_type
    fb = pa.table({"k": [1, 1], "ts": [1, 2], "v": [float("nan"), 1.0]})
    out = lw.label_join(pred, fb, on="k", windows=[5], value="v")
    total = out.column("value_sum").to_pylist()[0]
    assert total != total  # NaN propagates, as in a SQL or pandas sum with skipna=False


def test_naive_watermark_with_aware_columns() -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    pred = pa.table({"k": [1], "ts": pa.array([t0], pa.timestamp("us", tz="UTC"))})
    with pytest.raises(lw.ConfigError, match="watermark"):
        lw.label_join(pred, pred, on="k", windows="1m", watermark=dt.datetime(2024, 1, 2))


def test_duckdb_results_as_inputs() -> None:
    import duckdb

    con = duckdb.connect()
    pred = con.sql("SELECT * FROM (VALUES (1, 0), (2, 0)) AS t(k, ts)")
    fb = con.sql("SELECT * FROM (VALUES (1, 3)) AS t(k, ts)")
    out = lw.label_join(pred, fb, on="k", windows=[5])
    assert out.column("label_5").to_pylist() == [1, None]
