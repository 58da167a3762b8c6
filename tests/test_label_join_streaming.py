"""``label_join`` in bounded memory (SPEC §7, issue 5): the partitioned, spilling path equals the
in-memory path exactly; its temporary files and hidden outputs never outlive the call; bad
inputs fail with clear errors naming the file or argument; ``progress=`` draws on stderr only.

The streaming path is taken for Parquet predictions or whenever ``memory_limit=`` is given, so a
tiny ``memory_limit`` on in-memory tables forces many spilled partitions on tiny data.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JoinCase, column_values, examples, join_cases, make_logs, rechunk

# 1 and 500 bytes: one partition per key (thousands at most); 5 kB: a few; 1 TB: one, in memory.
MEMORY_LIMITS = [1, 500, 5_000, 10**12]
HYPOTHESIS = settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LOG_KW: dict[str, Any] = {"on": ["user_id", "item_id"], "windows": ["5m", "2h"], "value": "v"}


# --- helpers --------------------------------------------------------------------------------


def loopwatch_dirs(tmp_dir: Path) -> list[str]:
    """The engine's private spill directories (``loopwatch-<pid>-<nanos>``) left in tmp_dir."""
    return sorted(n for n in os.listdir(tmp_dir) if n.startswith("loopwatch-"))


def hidden_outputs(folder: Path) -> list[str]:
    """Unfinished outputs (``.NAME.tmp-<pid>``) left next to an ``output=`` target."""
    return sorted(n for n in os.listdir(folder) if n.startswith(".") and ".tmp-" in n)


def no_seconds(table: pa.Table) -> pa.Table:
    """Parquet cannot store second timestamps (pyarrow writes them as ms): start from ms."""
    fields = [
        f.with_type(pa.timestamp("ms", tz=f.type.tz))
        if pa.types.is_timestamp(f.type) and f.type.unit == "s"
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def assert_same(lw: ModuleType, got: pa.Table, want: pa.Table, what: str) -> None:
    """Same schema, same values, same counts. Dictionary columns are compared by value: their
    dictionaries follow the batches they came in (or were read back from Parquet with)."""
    assert got.schema.remove_metadata() == want.schema.remove_metadata(), (
        f"{what}: schema\n{got.schema}\nvs\n{want.schema}"
    )
    for name in want.column_names:
        x, y = got.column(name), want.column(name)
        same = (
            column_values(x) == column_values(y) if pa.types.is_dictionary(x.type) else x.equals(y)
        )
        if not same:
            p, q = column_values(x), column_values(y)
            bad = [(i, u, v) for i, (u, v) in enumerate(zip(p, q, strict=True)) if u != v]
            raise AssertionError(f"{what}: column {name} differs at {bad[:5]}")
    assert lw.join_stats(got) == lw.join_stats(want), f"{what}: join_stats"


def write_parts(table: pa.Table, folder: Path, cuts: list[int], **write_kw: Any) -> list[Path]:
    """``table`` as ``part-000.parquet``... split at the sorted row counts ``cuts`` (repeated
    cuts give empty parts)."""
    folder.mkdir()
    bounds = [0, *sorted(min(c, table.num_rows) for c in cuts), table.num_rows]
    paths = []
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"part-{i:03d}.parquet"
        pq.write_table(table.slice(start, stop - start), path, **write_kw)
        paths.append(path)
    return paths


def part_cuts(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, n), max_size=4)


# --- 1. differential: every memory budget equals the in-memory path -------------------------


@HYPOTHESIS
@given(
    case=join_cases(),
    limit=st.sampled_from(MEMORY_LIMITS),
    threads=st.sampled_from([1, 3]),
    one_row=st.booleans(),
)
def test_memory_limit_equals_in_memory(
    lw: ModuleType, case: JoinCase, limit: int, threads: int, one_row: bool
) -> None:
    pred, fb = case.pred, case.fb
    if one_row:
        pred, fb = rechunk(pred, [1]), rechunk(fb, [1])
    want = lw.label_join(pred, fb, **case.kwargs, threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        got = lw.label_join(
            pred, fb, **case.kwargs, threads=threads, memory_limit=limit, tmp_dir=tmp
        )
        assert loopwatch_dirs(Path(tmp)) == []
    # Equal column by column (dictionary columns by value: the in-memory path may unify the
    # per-batch dictionaries of a pass-through column, the streaming path keeps the input's).
    assert_same(lw, got, want, f"memory_limit={limit}")


@HYPOTHESIS
@given(
    case=join_cases(),
    limit=st.sampled_from(MEMORY_LIMITS),
    threads=st.sampled_from([1, 3]),
    row_group=st.integers(1, 4),
    data=st.data(),
)
def test_parquet_inputs_and_output_equal_in_memory(
    lw: ModuleType,
    case: JoinCase,
    limit: int,
    threads: int,
    row_group: int,
    data: st.DataObject,
) -> None:
    pred, fb = no_seconds(case.pred), no_seconds(case.fb)
    kw = {**case.kwargs, "threads": threads}
    want = lw.label_join(pred, fb, **kw)
    pred_cuts = data.draw(part_cuts(pred.num_rows), label="prediction part cuts")
    fb_cuts = data.draw(part_cuts(fb.num_rows), label="feedback part cuts")
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        tmp = root / "tmp"
        tmp.mkdir()
        stream = {"memory_limit": limit, "tmp_dir": tmp}
        pq.write_table(pred, root / "pred.parquet", row_group_size=row_group)
        pq.write_table(fb, root / "fb.parquet")
        parts = write_parts(pred, root / "pred_parts", pred_cuts, row_group_size=row_group)
        write_parts(fb, root / "fb_parts", fb_cuts)

        def check(got: pa.Table, expected: pa.Table, what: str) -> None:
            assert loopwatch_dirs(tmp) == [], what
            assert_same(lw, got, expected, what)

        # One file each (predictions alone from Parquet is enough for the streaming path).
        check(
            lw.label_join(root / "pred.parquet", root / "fb.parquet", **kw, **stream), want, "file"
        )
        check(lw.label_join(str(root / "pred.parquet"), fb, **kw), want, "file, default budget")
        # Directories of parts (sorted path order), and a glob.
        check(lw.label_join(root / "pred_parts", root / "fb_parts", **kw, **stream), want, "dirs")
        glob = str(root / "pred_parts" / "*.parquet")
        check(lw.label_join(glob, fb, **kw, **stream), want, "glob")
        # A list of parts is read in the list's order.
        order = data.draw(st.permutations(range(len(parts))), label="list order")
        listed = [str(parts[i]) for i in order]
        shuffled = pa.concat_tables([pq.read_table(p) for p in listed]).cast(pred.schema)
        check(
            lw.label_join(listed, fb, **kw, **stream),
            lw.label_join(shuffled, fb, **kw),
            f"list in order {order}",
        )

        # Straight to Parquet: the counts come back, the file is whole and describes itself.
        out_dir = root / "out"
        out_dir.mkdir()
        target = out_dir / "labeled.parquet"
        stats = lw.label_join(root / "pred_parts", fb, **kw, **stream, output=target)
        assert stats == lw.join_stats(want)
        assert lw.join_stats(target) == stats
        assert lw.join_stats(str(target)) == stats
        assert sorted(os.listdir(out_dir)) == ["labeled.parquet"]
        check(pq.read_table(target), want, "output=")

        # A directory of parts: one output part per input part (empty ones too), in order.
        folder = root / "labeled_parts"
        stats = lw.label_join(root / "pred_parts", fb, **kw, **stream, output=f"{folder}/")
        assert stats == lw.join_stats(want)
        names = sorted(os.listdir(folder))
        assert names == [f"part-{i:05d}.parquet" for i in range(len(parts))]
        rows = [pq.ParquetFile(folder / n).metadata.num_rows for n in names]
        assert rows == [pq.ParquetFile(p).metadata.num_rows for p in parts]
        assert all(lw.join_stats(folder / n) == stats for n in names)
        labeled = pa.concat_tables([pq.read_table(folder / n) for n in names])
        check(labeled, want, "output=directory")
        # In-memory predictions into an existing empty directory: one part.
        (root / "one_part").mkdir()
        lw.label_join(pred, fb, **kw, **stream, output=root / "one_part")
        assert os.listdir(root / "one_part") == ["part-00000.parquet"]
        check(pq.read_table(root / "one_part" / "part-00000.parquet"), want, "table to directory")
        assert hidden_outputs(root) == [] and hidden_outputs(out_dir) == []


@pytest.mark.parametrize("attribution", ["last", "first", "all"])
def test_logs_across_reader_batches_and_many_partitions(
    lw: ModuleType, tmp_path: Path, attribution: str
) -> None:
    # 140k predictions: Parquet reader batches (64k rows) and row groups end at other rows than
    # the parts, ~2000 users x 30 items spread over hundreds of partitions.
    pred, fb = make_logs(5, n_pred=140_000, n_users=2_000, n_items=30)
    kw = {**LOG_KW, "windows": ["5m", "30m", "2h"], "attribution": attribution}
    want = lw.label_join(pred, fb, **kw)
    write_parts(pred, tmp_path / "pred", [70_001, 70_001, 100_000], row_group_size=30_000)
    pq.write_table(fb, tmp_path / "fb.parquet", row_group_size=5_000)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    got = lw.label_join(
        tmp_path / "pred", tmp_path / "fb.parquet", **kw, memory_limit=300_000, tmp_dir=tmp
    )
    assert loopwatch_dirs(tmp) == []
    assert_same(lw, got, want, "directory in, table out")
    target = tmp_path / "labeled.parquet"
    stats = lw.label_join(
        tmp_path / "pred", fb, **kw, memory_limit="1MiB", tmp_dir=tmp, output=target, threads=1
    )
    assert loopwatch_dirs(tmp) == []
    assert stats == lw.join_stats(want) == lw.join_stats(target)
    assert_same(lw, pq.read_table(target), want, "directory in, Parquet out")


@pytest.mark.parametrize(("limit", "codec"), [("4MiB", "ZSTD"), ("10MiB", "SNAPPY")])
def test_partitions_labels_across_several_batches(
    lw: ModuleType, tmp_path: Path, limit: str, codec: str
) -> None:
    # Few users and items: ~116k of 120k predictions routed, into 10 (4 MiB, 2 threads) or 4
    # (10 MiB) spilled partitions of 12k-29k rows, so each partition's labels are kept in
    # several 8k-row batches and read back across their ends. 10 MiB splices the output (the
    # prediction columns keep their snappy chunks), 4 MiB re-encodes it (zstd): a 40k-row
    # group's labels need more than half of that budget.
    pred, fb = make_logs(21, n_pred=120_000, n_users=150, n_items=4)
    want = lw.label_join(pred, fb, **LOG_KW)
    pq.write_table(pred, tmp_path / "pred.parquet", row_group_size=40_000)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    kw: dict[str, Any] = {**LOG_KW, "memory_limit": limit, "tmp_dir": tmp, "threads": 2}
    got = lw.label_join(tmp_path / "pred.parquet", fb, **kw)
    assert_same(lw, got, want, "table out")
    target = tmp_path / "labeled.parquet"
    lw.label_join(tmp_path / "pred.parquet", fb, **kw, output=target)
    assert_same(lw, pq.read_table(target), want, "Parquet out")
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == codec
    assert loopwatch_dirs(tmp) == []


# Watermark A = 100 (the one event's time), windows 10 and 30: W_max = 30.
EDGE_PRED = pa.table(
    {
        "k": [2, 2, 3, 3, 4, 5, 6, None, 7, 8, 8],
        "ts": [70, 71, 100, 101, -(2**63), 2**63 - 1, 69, 50, None, 90, 95],
    }
)
EDGE_FB = pa.table({"k": [1], "ts": [100]})


@pytest.mark.parametrize("attribution", ["last", "first", "all"])
@pytest.mark.parametrize("limit", [1, 10**12])
def test_predictions_settled_by_their_time_at_the_edges(
    lw: ModuleType, attribution: str, limit: int
) -> None:
    # No key has a prediction and an event: every label follows from times alone — closed at
    # t <= A - W_max = 70 (0, 0), open after it (routed to a partition), pending after A or
    # invalid — except that under last-touch 95 closes 90's 30-unit window (90 <= A).
    kw: dict[str, Any] = {"on": "k", "windows": [10, 30], "attribution": attribution}
    want = lw.label_join(EDGE_PRED, EDGE_FB, **kw)
    got = lw.label_join(EDGE_PRED, EDGE_FB, **kw, memory_limit=limit)
    assert_same(lw, got, want, f"memory_limit={limit}")
    closed_by_95 = 0 if attribution == "last" else None
    assert got.column("label_10").to_pylist() == [0, 0, None, None, 0, None, 0, None, None, 0, None]
    assert got.column("label_30").to_pylist() == (
        [0, None, None, None, 0, None, 0, None, None, closed_by_95, None]
    )
    assert got.column("feedback_count").to_pylist() == [0] * 11
    assert got.column("first_feedback_delay").null_count == 11
    stats = lw.join_stats(got)
    assert stats["predictions"] == {"total": 11, "invalid": 2}
    assert stats["events"]["orphan"] == 1


def test_size_strings_and_environment_budget(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pred, fb = make_logs(2, n_pred=600)
    want = lw.label_join(pred, fb, **LOG_KW)
    for limit in ("2GiB", "512 MiB", "64kb", "1e3", 1, 2**63):
        got = lw.label_join(pred, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path)
        assert got.equals(want), limit
        assert lw.join_stats(got) == lw.join_stats(want)
    assert loopwatch_dirs(tmp_path) == []
    # LOOPWATCH_MEMORY_LIMIT sets the default budget of Parquet inputs: a budget of one byte
    # must spill, which a tmp_dir that does not exist makes visible.
    pq.write_table(pred, tmp_path / "pred.parquet")
    monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", "1")
    with pytest.raises(lw.InputFileError, match="tmp_dir"):
        lw.label_join(tmp_path / "pred.parquet", fb, **LOG_KW, tmp_dir=tmp_path / "missing")
    got = lw.label_join(tmp_path / "pred.parquet", fb, **LOG_KW, tmp_dir=tmp_path)
    assert_same(lw, got, want, "LOOPWATCH_MEMORY_LIMIT=1")
    assert loopwatch_dirs(tmp_path) == []


def test_environment_budget_takes_size_strings(
    lw: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pred, fb = make_logs(2, n_pred=600)
    pq.write_table(pred, tmp_path / "pred.parquet")
    monkeypatch.setenv("LOOPWATCH_MEMORY_LIMIT", "1KiB")
    # A 1 KiB budget spills: the missing tmp_dir must be reported (else the value was dropped).
    with pytest.raises(lw.LoopwatchError):
        lw.label_join(tmp_path / "pred.parquet", fb, **LOG_KW, tmp_dir=tmp_path / "missing")


# --- 2. temporary files after errors ----------------------------------------------------------


def _cast_column(name: str, to: pa.DataType) -> Callable[[pa.Table, Path], None]:
    def write(table: pa.Table, path: Path) -> None:
        i = table.schema.get_field_index(name)
        pq.write_table(table.set_column(i, name, table.column(name).cast(to)), path)

    return write


def _drop_column(name: str) -> Callable[[pa.Table, Path], None]:
    return lambda table, path: pq.write_table(table.drop_columns([name]), path)


def _extra_column(table: pa.Table, path: Path) -> None:
    pq.write_table(table.append_column("extra", pa.array([1] * table.num_rows)), path)


def _truncated(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _random_bytes(table: pa.Table, path: Path) -> None:
    path.write_bytes(random.Random(5).randbytes(4_000))


def _empty_file(table: pa.Table, path: Path) -> None:
    path.write_bytes(b"")


def _corrupt_pages(name: str) -> Callable[[pa.Table, Path], None]:
    """A valid footer over garbage pages of one column: only decoding that column fails."""

    def write(table: pa.Table, path: Path) -> None:
        pq.write_table(table, path, compression="none", use_dictionary=False)
        meta = pq.ParquetFile(path).metadata.row_group(0)
        chunk = meta.column(table.schema.get_field_index(name))
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        data = bytearray(path.read_bytes())
        data[start : start + chunk.total_compressed_size] = b"\xab" * chunk.total_compressed_size
        path.write_bytes(bytes(data))

    return write


def _unsigned_overflow(table: pa.Table, path: Path) -> None:
    # uint64 keys in the second part beyond int64 while feedback keys are signed: a DataError
    # only once that part's rows are read, after the first part was spilled.
    users = pa.array([2**63 + 1] * table.num_rows, type=pa.uint64())
    pq.write_table(table.set_column(0, "user_id", users), path)


# (name, side, second-part writer, error class name, words the message must hold). Every
# message names the bad part, except the DataError, which names the column only.
INJECTIONS: list[tuple[str, str, Callable[[pa.Table, Path], None], str, list[str]]] = [
    ("key type differs", "pred", _cast_column("user_id", pa.int32()), "SchemaError", ["schema"]),
    # Only the final pass (all columns, output open) sees a non-key column.
    ("score type differs", "pred", _cast_column("score", pa.float32()), "SchemaError", ["schema"]),
    ("extra column", "pred", _extra_column, "SchemaError", ["schema"]),
    ("missing key column", "pred", _drop_column("item_id"), "SchemaError", ["item_id"]),
    ("missing time column", "fb", _drop_column("ts"), "SchemaError", ["ts"]),
    ("truncated", "pred", _truncated, "InputFileError", ["Parquet"]),
    ("random bytes", "pred", _random_bytes, "InputFileError", ["Parquet"]),
    ("empty file", "fb", _empty_file, "InputFileError", []),
    ("corrupt key pages", "pred", _corrupt_pages("user_id"), "InputFileError", ["decode"]),
    ("corrupt score pages", "pred", _corrupt_pages("score"), "InputFileError", ["decode"]),
    ("corrupt feedback pages", "fb", _corrupt_pages("ts"), "InputFileError", ["decode"]),
    ("uint64 beyond int64", "pred", _unsigned_overflow, "DataError", ["user_id"]),
]


@pytest.fixture(scope="module")
def small_logs() -> tuple[pa.Table, pa.Table]:
    # ~300 users x 12 items; memory_limit=5_000 spreads them over ~60 spilled partitions.
    pred, fb = make_logs(7, n_pred=2_000, n_users=300)
    pred = pred.set_column(0, "user_id", pred.column("user_id").cast(pa.uint64()))
    return pred, fb


@pytest.mark.parametrize("limit", [5_000, 10**12], ids=["spilling", "in-memory"])
@pytest.mark.parametrize("output", [False, True], ids=["table", "output"])
@pytest.mark.parametrize(
    ("name", "side", "write_bad", "error", "words"), INJECTIONS, ids=[i[0] for i in INJECTIONS]
)
def test_injected_error_leaves_nothing_behind(
    lw: ModuleType,
    tmp_path: Path,
    small_logs: tuple[pa.Table, pa.Table],
    name: str,
    side: str,
    write_bad: Callable[[pa.Table, Path], None],
    error: str,
    words: list[str],
    output: bool,
    limit: int,
) -> None:
    pred, fb = small_logs
    table = pred if side == "pred" else fb
    folder = tmp_path / side
    folder.mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "part-0.parquet")  # a good part first
    bad = folder / "part-1.parquet"
    write_bad(table.slice(half), bad)
    inputs = (folder, fb) if side == "pred" else (pred, folder)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    extra: dict[str, Any] = {"output": out_dir / "labeled.parquet"} if output else {}
    with pytest.raises(getattr(lw, error)) as raised:
        lw.label_join(*inputs, **LOG_KW, memory_limit=limit, tmp_dir=tmp, **extra)
    message = str(raised.value)
    if error != "DataError":
        assert str(bad) in message, message
    for word in words:
        assert word in message, message
    assert loopwatch_dirs(tmp) == []
    assert os.listdir(tmp) == []
    assert os.listdir(out_dir) == [], "no output and no hidden temporary output"


@pytest.mark.parametrize("output", [False, True], ids=["table", "output"])
def test_errors_after_reading_leave_nothing_behind(
    lw: ModuleType, tmp_path: Path, small_logs: tuple[pa.Table, pa.Table], output: bool
) -> None:
    # A column that collides with the output is refused before any data is read or written.
    pred, fb = small_logs
    pred = pred.append_column("feedback_count", pa.array([0] * pred.num_rows))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    extra: dict[str, Any] = {"output": out_dir / "labeled.parquet"} if output else {}
    with pytest.raises(lw.SchemaError, match="feedback_count"):
        lw.label_join(pred, fb, **LOG_KW, memory_limit=1, tmp_dir=tmp_path, **extra)
    assert loopwatch_dirs(tmp_path) == []
    assert os.listdir(out_dir) == []


def test_interrupt_stops_the_call_and_removes_temporary_files(tmp_path: Path) -> None:
    # Ctrl-C during a long spilling join stops it there (the output never appears -- it would,
    # were the signal only seen once the call returned), raises KeyboardInterrupt (not a crash
    # or a PanicException) and leaves no spill directory or hidden output behind.
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    target = tmp_path / "labeled.parquet"
    script = textwrap.dedent(
        f"""
        import numpy as np, pyarrow as pa
        import loopwatch as lw
        rng = np.random.default_rng(0)
        n = 20_000_000  # several seconds of work on one thread
        ts = np.sort(rng.integers(0, 10**12, n)).astype("datetime64[us]")
        pred = pa.table({{"user_id": rng.integers(0, 10**6, n), "ts": ts}})
        fb = pred.slice(0, n // 20)
        print("ready", flush=True)
        try:
            lw.label_join(pred, fb, on="user_id", windows="1h", memory_limit="64MiB",
                          tmp_dir={str(tmp)!r}, output={str(target)!r}, threads=1)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise SystemExit(3)
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not loopwatch_dirs(tmp) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        spilled = bool(loopwatch_dirs(tmp))
        if proc.poll() is None:
            proc.send_signal(2)  # SIGINT
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert spilled, "the join never spilled (too fast to interrupt?)"
    assert (proc.returncode, out.strip()) == (3, "interrupted"), (proc.returncode, out, err)
    assert not target.exists(), "the call ran to the end instead of stopping"
    assert loopwatch_dirs(tmp) == []
    assert hidden_outputs(tmp_path) == []


# --- 3. bad inputs -----------------------------------------------------------------------------


def test_missing_and_empty_directories(lw: ModuleType, tmp_path: Path) -> None:
    pred, fb = make_logs(2, n_pred=50)
    missing = tmp_path / "missing"
    with pytest.raises(lw.InputFileError, match=re.escape(str(missing))):
        lw.label_join(missing, fb, **LOG_KW, memory_limit=1, tmp_dir=tmp_path)
    with pytest.raises(lw.InputFileError, match=re.escape(str(missing))):
        lw.label_join(pred, missing, **LOG_KW, memory_limit=1, tmp_dir=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a part")
    with pytest.raises(lw.InputFileError, match=re.escape(str(empty))):
        lw.label_join(empty, fb, **LOG_KW, tmp_dir=tmp_path)
    with pytest.raises(lw.InputFileError, match="no file matches"):
        lw.label_join(str(empty / "*.parquet"), fb, **LOG_KW, tmp_dir=tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["empty"]


@pytest.mark.parametrize(
    "limit", [0, -1, "lots", True, False, 1.5, "", "0.1", "-5MiB", "2 parsecs", 2**64, [1]]
)
def test_bad_memory_limit_is_a_config_error(lw: ModuleType, tmp_path: Path, limit: Any) -> None:
    pred, fb = make_logs(2, n_pred=50)
    with pytest.raises(lw.ConfigError, match="memory_limit"):
        lw.label_join(pred, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_tmp_dir_must_exist_when_spilling(lw: ModuleType, tmp_path: Path) -> None:
    pred, fb = make_logs(2, n_pred=200)
    missing = tmp_path / "missing"
    with pytest.raises(lw.InputFileError, match="tmp_dir") as raised:
        lw.label_join(pred, fb, **LOG_KW, memory_limit=1, tmp_dir=missing)
    assert str(missing) in str(raised.value)
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(lw.InputFileError, match="tmp_dir"):
        lw.label_join(pred, fb, **LOG_KW, memory_limit=1, tmp_dir=a_file)
    assert not missing.exists()


def test_tmp_dir_is_checked_even_without_spilling(lw: ModuleType, tmp_path: Path) -> None:
    pred, fb = make_logs(2, n_pred=200)
    with pytest.raises(lw.InputFileError, match="tmp_dir"):
        lw.label_join(pred, fb, **LOG_KW, memory_limit="1GiB", tmp_dir=tmp_path / "missing")


def test_output_into_missing_directory_writes_nothing(lw: ModuleType, tmp_path: Path) -> None:
    pred, fb = make_logs(2, n_pred=200)
    target = tmp_path / "missing" / "labeled.parquet"
    for limit in (1, 10**12):
        with pytest.raises(lw.InputFileError, match="output") as raised:
            lw.label_join(pred, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path, output=target)
        assert str(target) in str(raised.value)
    assert os.listdir(tmp_path) == []


def test_output_into_non_empty_directory_is_refused(lw: ModuleType, tmp_path: Path) -> None:
    # Parts go only into a new or empty directory: nothing of the user's is ever replaced.
    pred, fb = make_logs(2, n_pred=200)
    folder = tmp_path / "labeled"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    for limit in (1, 10**12):
        with pytest.raises(lw.InputFileError, match="not empty"):
            lw.label_join(pred, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path, output=folder)
    assert os.listdir(folder) == ["mine.txt"]
    # A trailing separator asks for a directory: an existing file there is refused too.
    with pytest.raises(lw.InputFileError, match="is a file"):
        lw.label_join(pred, fb, **LOG_KW, memory_limit=1, output=f"{folder / 'mine.txt'}/")
    assert os.listdir(folder) == ["mine.txt"]
    assert hidden_outputs(tmp_path) == [] and loopwatch_dirs(tmp_path) == []


def test_parquet_to_parquet_copies_prediction_columns(lw: ModuleType, tmp_path: Path) -> None:
    # Parquet parts sharing one Parquet schema: each input row group becomes an output row group
    # whose prediction columns are the input's chunks as they were (so each keeps its part's
    # codec), only the label columns encoded (zstd) -- and the values equal the in-memory path.
    # Row groups too big for the budget are decoded and re-encoded instead.
    pred, fb = make_logs(4, n_pred=5_000, n_users=200, n_items=20)
    pred = no_seconds(pred)
    want = lw.label_join(pred, fb, **LOG_KW)
    codecs_written = ["snappy", "gzip", "none", "zstd"]
    folder = tmp_path / "pred"
    folder.mkdir()
    for i, codec in enumerate(codecs_written):
        part = pred.slice(i * 1_250, 1_250)
        pq.write_table(
            part,
            folder / f"part-{i}.parquet",
            compression=codec,
            row_group_size=500,
            use_dictionary=i % 2 == 0,
        )
    # 600 kB: a few spilled partitions, row groups small enough to copy; 2 kB: a row group's
    # labels need over a quarter of the budget, so the predictions are re-encoded instead.
    for limit in (600_000, 10**12, 2_000):
        target = tmp_path / f"labeled-{limit}.parquet"
        lw.label_join(folder, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path, output=target)
        meta = pq.ParquetFile(target).metadata
        n_pred_columns = pred.num_columns
        if limit == 2_000:
            codecs = {
                meta.row_group(g).column(c).compression
                for g in range(meta.num_row_groups)
                for c in range(meta.num_columns)
            }
            assert codecs == {"ZSTD"}
        else:
            assert meta.num_row_groups == 4 * 3  # 1,250 rows a part in row groups of 500
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                got = [group.column(c).compression for c in range(group.num_columns)]
                codec = codecs_written[g // 3].upper().replace("NONE", "UNCOMPRESSED")
                assert got[:n_pred_columns] == [codec] * n_pred_columns, (g, got)
                assert set(got[n_pred_columns:]) == {"ZSTD"}, (g, got)
        assert_same(lw, pq.read_table(target), want, f"memory_limit={limit}")
    assert loopwatch_dirs(tmp_path) == [] and hidden_outputs(tmp_path) == []


@pytest.mark.parametrize("threads", [1, 4])
def test_large_copied_chunks_byte_for_byte(lw: ModuleType, tmp_path: Path, threads: int) -> None:
    # Column chunks of several MiB (random values, uncompressed): the output's holes span many
    # 4 MiB pieces, copied by the writing thread and (at 4 threads) by helpers through a mapping.
    # Each copied chunk must be the input's bytes exactly, and the labels the in-memory path's.
    import numpy as np

    rng = np.random.default_rng(5)
    n = 600_000
    ts = np.sort(rng.integers(0, 86_400_000_000, n)).astype("datetime64[us]")
    pred = pa.table(
        {
            "user_id": rng.integers(0, 50_000, n),
            "item_id": rng.integers(0, 200, n),
            "score": rng.random(n),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "noise": rng.integers(-(2**62), 2**62, n),
        }
    )
    clicked = rng.random(n) < 0.05
    fb_ts = ts[clicked] + rng.integers(1, 3_600_000_000, int(clicked.sum())).astype(
        "timedelta64[us]"
    )
    fb = pa.table(
        {
            "user_id": pred.column("user_id").filter(pa.array(clicked)),
            "item_id": pred.column("item_id").filter(pa.array(clicked)),
            "ts": pa.array(fb_ts, pa.timestamp("us", tz="UTC")),
        }
    )
    source = tmp_path / "pred.parquet"
    pq.write_table(pred, source, compression="none", row_group_size=300_000, use_dictionary=False)
    target = tmp_path / "labeled.parquet"
    kw: dict[str, Any] = {"on": ["user_id", "item_id"], "windows": "30m"}
    lw.label_join(source, fb, **kw, memory_limit="1GiB", output=target, threads=threads)
    want = lw.label_join(pred, fb, **kw)
    assert_same(lw, pq.read_table(target), want, f"threads={threads}")
    src_meta, out_meta = pq.ParquetFile(source).metadata, pq.ParquetFile(target).metadata
    src_bytes, out_bytes = source.read_bytes(), target.read_bytes()
    assert out_meta.num_row_groups == src_meta.num_row_groups == 2
    for g in range(2):
        for c in range(pred.num_columns):
            a, b = src_meta.row_group(g).column(c), out_meta.row_group(g).column(c)
            assert a.total_compressed_size == b.total_compressed_size > 2 << 20
            start_a = a.dictionary_page_offset or a.data_page_offset
            start_b = b.dictionary_page_offset or b.data_page_offset
            size = a.total_compressed_size
            assert src_bytes[start_a : start_a + size] == out_bytes[start_b : start_b + size]


def test_parts_with_other_parquet_schemas_are_re_encoded(lw: ModuleType, tmp_path: Path) -> None:
    # Parts with one Arrow schema but different Parquet schemas (pyarrow and Polars writers name
    # the root differently) cannot share copied chunks: the predictions are decoded and
    # re-encoded (zstd everywhere), with the same values.
    pl = pytest.importorskip("polars")
    pred, fb = make_logs(6, n_pred=3_000, n_users=100, n_items=20, tz=None)
    pred = no_seconds(pred)
    want = lw.label_join(pred, fb, **LOG_KW)
    folder = tmp_path / "pred"
    folder.mkdir()
    pq.write_table(pred.slice(0, 1_000), folder / "part-0.parquet", compression="snappy")
    pl.from_arrow(pred.slice(1_000)).write_parquet(folder / "part-1.parquet")
    assert pq.read_schema(folder / "part-1.parquet") == pred.schema.remove_metadata()
    target = tmp_path / "labeled.parquet"
    # (A budget whose share fits these row groups: only the schemas stop the chunk copying.)
    lw.label_join(folder, fb, **LOG_KW, memory_limit=600_000, tmp_dir=tmp_path, output=target)
    meta = pq.ParquetFile(target).metadata
    codecs = {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }
    assert codecs == {"ZSTD"}
    assert_same(lw, pq.read_table(target), want, "re-encoded")


def test_many_partitions_within_open_file_limit(lw: ModuleType, tmp_path: Path) -> None:
    pred, fb = make_logs(3, n_pred=3_000, n_users=300, n_items=20)
    want = lw.label_join(pred, fb, **LOG_KW)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:
        got = lw.label_join(pred, fb, **LOG_KW, memory_limit=1, tmp_dir=tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert loopwatch_dirs(tmp_path) == []
    assert got.equals(want)


# --- 4. progress -------------------------------------------------------------------------------

PROGRESS = re.compile(r"label_join \[[# ]+\]\s+(\d+)% (\d+)/(\d+) rows")


def test_progress_bar_on_stderr(
    lw: ModuleType, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pred, fb = make_logs(4, n_pred=3_000)
    pq.write_table(pred, tmp_path / "pred.parquet", row_group_size=500)
    capfd.readouterr()
    calls: list[tuple[str, Callable[[bool], Any]]] = [
        ("parquet", lambda p: lw.label_join(tmp_path / "pred.parquet", fb, **LOG_KW, progress=p)),
        (
            "memory_limit",
            lambda p: lw.label_join(
                pred, fb, **LOG_KW, memory_limit=1, tmp_dir=tmp_path, progress=p
            ),
        ),
        (
            "output",
            lambda p: lw.label_join(
                tmp_path / "pred.parquet",
                fb,
                **LOG_KW,
                output=tmp_path / "out.parquet",
                progress=p,
            ),
        ),
    ]
    for what, call in calls:
        call(False)
        quiet = capfd.readouterr()
        assert quiet.err == "" and quiet.out == "", what
        call(True)
        drawn = capfd.readouterr()
        assert drawn.out == "", what
        bars = PROGRESS.findall(drawn.err)
        assert bars, f"{what}: {drawn.err!r}"
        share, done, total = map(int, bars[-1])
        assert share == 100 and done == total, f"{what}: {bars[-1]}"
        # Rows read: every prediction and feedback row at least once.
        assert total >= pred.num_rows + fb.num_rows, what
        assert drawn.err.endswith("\n"), what


def test_progress_bar_for_in_memory_tables(
    lw: ModuleType, capfd: pytest.CaptureFixture[str]
) -> None:
    pred, fb = make_logs(4, n_pred=3_000)
    capfd.readouterr()
    lw.label_join(pred, fb, **LOG_KW, progress=True)
    assert PROGRESS.search(capfd.readouterr().err)


def _changed_input_case(tmp_path: Path) -> tuple[Path, Path, pa.Table]:
    """A directory of two prediction parts (row groups of 10k rows) and the feedback."""
    pred, fb = make_logs(13, n_pred=200_000, n_users=3_000)
    folder = tmp_path / "pred"
    folder.mkdir()
    half = pred.num_rows // 2
    pq.write_table(pred.slice(0, half), folder / "part-0.parquet", row_group_size=10_000)
    pq.write_table(pred.slice(half), folder / "part-1.parquet", row_group_size=10_000)
    return folder, folder / "part-1.parquet", fb


def _during_call(change: Callable[[], None], call: Callable[[], Any]) -> Any:
    """Run `call` while a thread keeps applying `change` (started before the call)."""
    import threading

    running, stop = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def keep_changing() -> None:
        try:
            while not stop.is_set():
                change()
                running.set()
                time.sleep(0.0005)
        except BaseException as e:  # reported by the test, not lost in the thread
            failed.append(e)
            running.set()

    changer = threading.Thread(target=keep_changing)
    changer.start()
    try:
        assert running.wait(10), "the changing thread never ran"
        assert not failed, failed
        return call()
    finally:
        stop.set()
        changer.join()
        assert not failed, failed


# 50 kB: spilled partitions, row groups re-encoded; 1 TB: one partition in memory (and, with
# `output`, the row groups' chunks copied: the spliced output).
@pytest.mark.parametrize("limit", [50_000, 10**12], ids=["re-encoded", "spliced"])
@pytest.mark.parametrize("output", [False, True], ids=["table", "output"])
def test_an_input_touched_during_the_call_fails_it_naming_the_file(
    lw: ModuleType, tmp_path: Path, output: bool, limit: int
) -> None:
    # The predictions are read twice (keys, then the rows to label) and the two reads paired
    # row by row: a file that changes in between must fail the call, not mislabel rows. Here a
    # thread keeps moving one part's modification time forward while the call runs.
    folder, moved, fb = _changed_input_case(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    extra: dict[str, Any] = {"output": out_dir / "labeled.parquet"} if output else {}
    ns = [os.stat(moved).st_mtime_ns]

    def touch() -> None:
        ns[0] += 1_000_000
        os.utime(moved, ns=(ns[0], ns[0]))

    def call() -> None:
        lw.label_join(folder, fb, **LOG_KW, memory_limit=limit, tmp_dir=tmp_path, **extra)

    with pytest.raises(lw.InputFileError, match="changed while it was being read") as raised:
        _during_call(touch, call)
    assert str(moved) in str(raised.value)
    assert loopwatch_dirs(tmp_path) == []
    assert os.listdir(out_dir) == [], "no output and no hidden temporary output"
    # Left alone, the same files label fine.
    call()


@pytest.mark.parametrize("limit", [50_000, 10**12], ids=["re-encoded", "spliced"])
def test_an_input_swapped_during_the_call_fails_it_naming_the_file(
    lw: ModuleType, tmp_path: Path, limit: int
) -> None:
    # A part replaced by other rows (renamed over it) during the call: whatever goes wrong
    # first inside (rows that no longer pair with their labels, chunks of another size), the
    # error names the changed file.
    folder, swapped, fb = _changed_input_case(tmp_path)
    versions = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    os.link(swapped, versions[0])
    table = pq.read_table(swapped)
    pq.write_table(table.slice(0, table.num_rows // 2), versions[1], row_group_size=10_000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    turn = [0]

    def swap() -> None:
        turn[0] += 1
        staged = tmp_path / "staged.parquet"
        os.link(versions[turn[0] % 2], staged)
        os.replace(staged, swapped)

    def call() -> None:
        lw.label_join(
            folder,
            fb,
            **LOG_KW,
            memory_limit=limit,
            tmp_dir=tmp_path,
            output=out_dir / "labeled.parquet",
        )

    with pytest.raises(lw.InputFileError, match="changed while it was being read") as raised:
        _during_call(swap, call)
    assert str(swapped) in str(raised.value)
    assert loopwatch_dirs(tmp_path) == []
    assert os.listdir(out_dir) == []
