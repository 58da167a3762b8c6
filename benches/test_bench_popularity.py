"""pytest-benchmark: ``lw.popularity_metrics`` vs pandas and Polars on one generated log.

    pytest benches/test_bench_popularity.py --benchmark-only
    LOOPWATCH_BENCH_REQUESTS=100000 pytest benches/test_bench_popularity.py --benchmark-only

Every engine is checked to agree before any timing.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from baselines_popularity import ENGINES, check_engines, engines
from generate import generate_log

REQUESTS = int(os.environ.get("LOOPWATCH_BENCH_REQUESTS", "1000000"))
ROUNDS = int(os.environ.get("LOOPWATCH_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="module")
def log() -> tuple[pa.Table, pa.Table]:
    pred, fb = generate_log(REQUESTS)
    check_engines(pred, fb)
    return pred, fb


@pytest.mark.parametrize("engine", ["loopwatch", *ENGINES])
def test_popularity_metrics(benchmark, log: tuple[pa.Table, pa.Table], engine: str) -> None:
    available = engines()
    if engine not in available:
        pytest.skip(f"{engine} is not importable")
    benchmark.group = f"popularity_metrics 1h, {log[0].num_rows:,} impressions"
    out = benchmark.pedantic(available[engine], args=log, rounds=ROUNDS, iterations=1)
    assert out.num_rows > 0
