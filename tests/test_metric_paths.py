"""Path inputs of the aggregate metrics: a Parquet file or a directory of parts (read a group of
batches at a time through the states; popularity lists split by list id into spilled partitions)
give exactly what the same rows give as a table."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


# --- popularity_metrics: lists scattered over parts, split by list id, spilled ----------------


def recommendation_lists(seed: int, n_lists: int, *, dictionary: bool = False) -> pa.Table:
    """Lists of 1-8 rows, shuffled over the whole table (a list's rows far apart), with position
    ties and nulls, times over several hours and a segment column with nulls."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, n_lists)
    n = int(lengths.sum())
    ids = np.repeat(rng.permutation(10 * n_lists)[:n_lists], lengths)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    position = rng.integers(1, 4, n)
    segment = rng.choice(np.array(["a", "b", "c"]), n)
    segment_array = pa.array(segment, mask=rng.random(n) < 0.1)
    table = pa.table(
        {
            "page": pa.array(ids % 3, pa.int32()),
            "request_id": pa.array([f"r{i}" for i in ids]),
            "item_id": (rng.integers(0, 40, n) * rng.integers(0, 40, n)) // 40,
            "position": pa.array(position, mask=rng.random(n) < 0.1),
            "ts": start + rng.integers(0, 6 * 3_600_000_000, n).astype("timedelta64[us]"),
            "segment": segment_array.dictionary_encode() if dictionary else segment_array,
            "unused": rng.random(n),
        }
    )
    return table.take(rng.permutation(n))


def clicks(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed + 100)
    n = 2_000
    return pa.table(
        {
            "item_id": (rng.integers(0, 50, n) * rng.integers(0, 50, n)) // 50,
            "user_id": rng.integers(0, 300, n),
        }
    )


POP_KW: dict[str, object] = {
    "list_id": ["request_id", "page"],
    "position": "position",
    "k": 5,
    "time": "ts",
    "every": "1h",
    "by": "segment",
}


def spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory for temporary files (the engine's `std::env::temp_dir`)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.mark.parametrize("limit", ["1KiB", "512KiB", None])
@pytest.mark.parametrize("seed", [0, 1])
def test_popularity_path_inputs_equal_table_inputs_when_split_and_spilled(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, limit: str | None
) -> None:
    table = recommendation_lists(seed, 2_000, dictionary=seed == 1)
    rng = np.random.default_rng(seed)
    write_parts(table, tmp_path / "parts", list(rng.integers(0, table.num_rows, 5)))
    pop = lw.Popularity.from_interactions(clicks(seed), user="user_id")
    want = lw.popularity_metrics(table, pop, **POP_KW)
    assert want.num_rows > 12  # several buckets × segments
    spill = spill_dir(tmp_path, monkeypatch)
    if limit is not None:
        monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", limit)
    got = lw.popularity_metrics(tmp_path / "parts", pop, **POP_KW)
    assert got.equals(want)
    assert list(spill.iterdir()) == []  # the temporary directory is gone
    state = lw.PopularityMetricsState(pop, **POP_KW).update(tmp_path / "parts")
    assert state.finalize().equals(want)


def test_popularity_path_inputs_spill_only_over_the_budget(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temporary directory that cannot be made shows whether the split went to disk.
    table = recommendation_lists(2, 500)
    pq.write_table(table, tmp_path / "recs.parquet", row_group_size=50)
    pop = lw.Popularity.from_interactions(clicks(2))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", "1GiB")
    want = lw.popularity_metrics(table, pop, **POP_KW)
    assert lw.popularity_metrics(tmp_path / "recs.parquet", pop, **POP_KW).equals(want)
    monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", "1KiB")
    with pytest.raises(lw.InputFileError, match="missing"):
        lw.popularity_metrics(tmp_path / "recs.parquet", pop, **POP_KW)
    state = lw.PopularityMetricsState(pop, **POP_KW)
    with pytest.raises(lw.InputFileError, match="missing"):
        state.update(tmp_path / "recs.parquet")


def test_popularity_state_updates_from_paths_add_up(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two directories of disjoint lists, each list scattered over its parts; a failing update
    # (a file of another schema) changes nothing.
    table = recommendation_lists(3, 1_500)
    first = pc.is_in(table.column("page"), pa.array([0, 1], pa.int32()))
    a, b = table.filter(first), table.filter(pc.invert(first))
    write_parts(a, tmp_path / "a", [a.num_rows // 3, a.num_rows // 2])
    write_parts(b, tmp_path / "b", [b.num_rows // 4])
    pq.write_table(b.drop_columns(["segment"]), tmp_path / "bad.parquet")
    pop = lw.Popularity.from_interactions(clicks(3), user="user_id")
    spill = spill_dir(tmp_path, monkeypatch)
    monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", "1KiB")
    state = lw.PopularityMetricsState(pop, **POP_KW).update(tmp_path / "a")
    before = state.to_bytes()
    with pytest.raises(lw.SchemaError):
        state.update([tmp_path / "b", tmp_path / "bad.parquet"])
    assert state.to_bytes() == before
    state.update(tmp_path / "b")
    assert state.finalize().equals(lw.popularity_metrics(table, pop, **POP_KW))
    assert list(spill.iterdir()) == []


@pytest.mark.parametrize("column", ["request_id", "item_id"])
def test_popularity_path_inputs_name_the_null_row_as_table_inputs_do(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    table = recommendation_lists(4, 300)
    row = table.num_rows - 7
    values = table.column(column).to_pylist()
    values[row] = None
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(values))
    write_parts(table, tmp_path / "parts", [100, 900])
    pop = lw.Popularity.from_interactions(clicks(4))
    with pytest.raises(lw.DataError) as want:
        lw.popularity_metrics(table, pop, **POP_KW)
    assert f"row {row}" in str(want.value)
    spill_dir(tmp_path, monkeypatch)
    for limit in ("1KiB", "1GiB"):
        monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", limit)
        with pytest.raises(lw.DataError) as got:
            lw.popularity_metrics(tmp_path / "parts", pop, **POP_KW)
        assert str(got.value) == str(want.value)
