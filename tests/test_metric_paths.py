"""Path inputs of the aggregate metrics: a Parquet file or a directory of parts (read a group of
batches at a time through the states) give exactly what the same rows give as a table."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def labeled_log(lw: ModuleType, seed: int, n: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    ts = start + np.sort(rng.integers(0, 86_400_000_000, n)).astype("timedelta64[us]")
    pred = pa.table(
        {
            "user_id": rng.integers(0, 50, n),
            "item_id": rng.integers(0, 30, n),
            "position": rng.integers(1, 5, n),
            "score": rng.random(n),
            "ts": ts,
        }
    )
    clicked = rng.random(n) < 0.2
    delay = (rng.lognormal(np.log(120.0), 1.5, n) * 1e6).astype("timedelta64[us]")
    click_ts = ts[clicked] + delay[clicked]
    order = np.argsort(click_ts, kind="stable")
    fb = pa.table(
        {
            "user_id": pred.column("user_id").to_numpy()[clicked][order],
            "item_id": pred.column("item_id").to_numpy()[clicked][order],
            "ts": click_ts[order],
        }
    )
    labeled: pa.Table = lw.label_join(pred, fb, on=["user_id", "item_id"], windows=["5m", "1h"])
    return labeled


def write_parts(table: pa.Table, folder: Path, cuts: list[int]) -> None:
    folder.mkdir()
    bounds = [0, *sorted(cuts), table.num_rows]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        pq.write_table(table.slice(a, b - a), folder / f"part-{i:03d}.parquet", row_group_size=97)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_path_inputs_equal_table_inputs(lw: ModuleType, tmp_path: Path, seed: int) -> None:
    table = labeled_log(lw, seed, 3_000)
    rng = np.random.default_rng(seed)
    write_parts(table, tmp_path / "parts", list(rng.integers(0, table.num_rows, 4)))
    pq.write_table(table, tmp_path / "one.parquet")
    watermark = dt.datetime(2024, 1, 1, 20)
    for source in (tmp_path / "parts", tmp_path / "one.parquet"):
        got = lw.label_metrics(source, label="label_1h", score="score", every="1h", by="position")
        want = lw.label_metrics(table, label="label_1h", score="score", every="1h", by="position")
        assert got.equals(want)
        got_profile = lw.delay_profile(source, by="position")
        want_profile = lw.delay_profile(table, by="position")
        assert got_profile.summary.equals(want_profile.summary)
        assert got_profile.histogram.equals(want_profile.histogram)
        kw = {"reference": "1h", "windows": ["1m", "5m", "30m", "1h"], "watermark": watermark}
        assert lw.window_tradeoff(source, by="position", **kw).equals(
            lw.window_tradeoff(table, by="position", **kw)
        )


def test_window_tradeoff_reads_the_watermark_of_a_labeled_file(
    lw: ModuleType, tmp_path: Path
) -> None:
    table = labeled_log(lw, 3, 2_000)
    path = tmp_path / "labeled.parquet"
    pq.write_table(table, path)
    assert lw.window_tradeoff(path, reference="1h").equals(
        lw.window_tradeoff(table, reference="1h")
    )


def test_an_empty_part_directory_gives_empty_results(lw: ModuleType, tmp_path: Path) -> None:
    table = labeled_log(lw, 4, 200).slice(0, 0)
    write_parts(table, tmp_path / "parts", [])
    got = lw.label_metrics(tmp_path / "parts", label="label_1h", every="1h")
    assert got.num_rows == 0
    assert got.schema.equals(lw.label_metrics(table, label="label_1h", every="1h").schema)
