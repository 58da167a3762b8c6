"""pytest-benchmark: ``lw.label_join`` vs pandas, Polars and DuckDB on one generated log.

Run on demand (the normal ``pytest`` run only collects ``tests/``)::

    pytest benches/ --benchmark-only
    LOOPWATCH_BENCH_REQUESTS=100000 pytest benches/ --benchmark-only   # quick

The log (``LOOPWATCH_BENCH_REQUESTS`` requests x 10 impressions, default 1M -> 10M rows) is
generated once per module, and every engine is checked to agree exactly before any timing.
``LOOPWATCH_BENCH_ROUNDS`` (default 3) sets the timed rounds per engine.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from baselines import ENGINES, check_engines, engines
from generate import generate_log

REQUESTS = int(os.environ.get("LOOPWATCH_BENCH_REQUESTS", "1000000"))
ROUNDS = int(os.environ.get("LOOPWATCH_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="module")
def log() -> tuple[pa.Table, pa.Table]:
    pred, fb = generate_log(REQUESTS)
    check_engines(pred, fb)  # raises on any disagreement; doubles as a warm-up
    return pred, fb


@pytest.mark.parametrize("engine", ["loopwatch", *ENGINES])
def test_label_join(benchmark, log: tuple[pa.Table, pa.Table], engine: str) -> None:
    available = engines()
    if engine not in available:
        pytest.skip(f"{engine} is not importable")
    benchmark.group = f"label_join 30m, {log[0].num_rows:,} impressions"
    benchmark.extra_info["impressions"] = log[0].num_rows
    benchmark.extra_info["clicks"] = log[1].num_rows
    out = benchmark.pedantic(available[engine], args=log, rounds=ROUNDS, iterations=1)
    assert out.num_rows == log[0].num_rows
