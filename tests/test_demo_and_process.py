"""The demo in a process of its own (deterministic per seed), and the engine's behaviour across
processes (fork, thread setting). The full-size demo is ``test_demo_end_to_end.py``."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import loopwatch as lw

SMALL = ["--days", "20", "--users", "150", "--items", "120", "--seed", "3"]


def _demo(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwatch.cli", "demo", "--out", str(out), *SMALL],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_is_deterministic_across_processes(tmp_path: Path) -> None:
    first, second = _demo(tmp_path / "a"), _demo(tmp_path / "b")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stderr == ""
    assert first.stdout.replace(str(tmp_path / "a"), "X") == second.stdout.replace(
        str(tmp_path / "b"), "X"
    )
    a = pq.read_table(tmp_path / "a" / "labeled.parquet")
    b = pq.read_table(tmp_path / "b" / "labeled.parquet")
    assert a.equals(b) and a.num_rows > 10_000
    assert {"label_5m", "label_30m", "label_1d", "explored"} <= set(a.column_names)
    assert lw.join_stats(a)["events"]["credited"] > 0
    report_a = (tmp_path / "a" / "report.html").read_bytes()
    assert report_a == (tmp_path / "b" / "report.html").read_bytes()


def _child_join(queue: multiprocessing.Queue[int]) -> None:
    table = pa.table({"k": [1, 2, 3], "ts": [0, 1, 2]})
    out = lw.label_join(table, table, on="k", windows=[1])
    # The bounded-memory path too, spilling (several partitions, its output threads).
    streamed = lw.label_join(table, table, on="k", windows=[1], memory_limit=1)
    queue.put(out.num_rows + streamed.num_rows)


def test_works_in_a_forked_child_after_use_in_the_parent() -> None:
    # A rayon pool started before fork() hangs the child unless it is rebuilt there.
    table = pa.table({"k": [1, 2], "ts": [0, 1]})
    lw.label_join(table, table, on="k", windows=[1])
    lw.label_join(table, table, on="k", windows=[1], memory_limit=1)
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_child_join, args=(queue,))
    child.start()
    try:
        child.join(timeout=60)
        assert child.exitcode == 0, "the forked child hung or failed"
        assert queue.get(timeout=5) == 6
    finally:
        if child.is_alive():
            child.kill()
            child.join()


def test_thread_count_from_the_environment() -> None:
    code = (
        "import pyarrow as pa, loopwatch as lw;"
        "t = pa.table({'k': [1, 1], 'ts': [0, 5]});"
        "print(lw._core.default_threads(),"
        " lw.label_join(t, t, on='k', windows=[1]).column('label_1').to_pylist())"
    )
    env = {**os.environ, "LOOPWATCH_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1 [1, 1]"
