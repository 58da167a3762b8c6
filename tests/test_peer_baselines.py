"""The benchmark's peers (pandas, Polars, DuckDB) compute exactly what label_join computes:
checked here on small generated logs, so the timed comparison in benches/ stays honest."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))

from baselines import check_engines
from generate import generate_log


def test_every_engine_agrees_with_the_reference_and_each_other() -> None:
    checked = check_engines(*generate_log(3_000, n_users=300, n_items=500, seed=3))
    assert checked[0] == "loopwatch"
    assert {"pandas", "polars", "duckdb"} <= set(checked)
