"""The README's main job, and the engine's behaviour across processes (fork, thread setting)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import loopwatch as lw
from loopwatch import demo


def test_demo_runs_end_to_end(tmp_path: Path, capsys: object) -> None:
    assert demo.main(["--out", str(tmp_path), "--requests", "2000"]) == 0
    path = tmp_path / "labeled.parquet"
    stats = lw.join_stats(path)
    assert stats["predictions"]["total"] == 20_000
    assert stats["events"]["credited"] > 0
    labeled = pq.read_table(path)
    assert {"label_5m", "label_30m", "label_1d"} <= set(labeled.column_names)


def _child_join(queue: multiprocessing.Queue[int]) -> None:
    table = pa.table({"k": [1, 2, 3], "ts": [0, 1, 2]})
    out = lw.label_join(table, table, on="k", windows=[1])
    queue.put(out.num_rows)


def test_works_in_a_forked_child_after_use_in_the_parent() -> None:
    # A rayon pool started before fork() hangs the child unless it is rebuilt there.
    table = pa.table({"k": [1, 2], "ts": [0, 1]})
    lw.label_join(table, table, on="k", windows=[1])
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_child_join, args=(queue,))
    child.start()
    try:
        child.join(timeout=60)
        assert child.exitcode == 0, "the forked child hung or failed"
        assert queue.get(timeout=5) == 3
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
