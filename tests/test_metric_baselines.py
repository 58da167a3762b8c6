"""The label_metrics benchmark's peers (pandas + scikit-learn, Polars) compute exactly what the
reference computes, on small logs: the timed comparison in benches/ stays honest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import reference_metrics as rm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))

from baselines_metrics import ENGINES, LW_KWARGS, Engine, labeled_log

HOUR_US = 3_600_000_000
T0_US = 1_717_200_000 * 1_000_000


def awkward_log(seed: int, n: int = 1_500) -> pa.Table:
    """Tied and extreme scores, pending rows, null times, a one-class and an all-pending
    bucket, a dictionary segment with nulls."""
    rng = np.random.default_rng(seed)
    score = np.round(rng.beta(1.0, 3.0, n), 2)
    score[:4] = [0.0, 1.0, 0.9, 1.0]
    label = (rng.random(n) < score).astype(np.int8)
    pending = rng.random(n) < 0.15
    ts = T0_US + rng.integers(0, 6 * HOUR_US, n)
    ts[:10] = T0_US - 3 * HOUR_US + np.arange(10)  # one bucket, all positives
    label[:10] = 1
    pending[:10] = False
    ts[10:20] = T0_US + 7 * HOUR_US  # one bucket, all pending
    pending[10:20] = True
    seg = rng.choice(np.array(["web", "app", "tv", None], dtype=object), n)
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("us"), mask=rng.random(n) < 0.03),
            "label_30m": pa.array(label, mask=pending),
            "score": pa.array(score),
            "seg": pa.array(seg, pa.string()).dictionary_encode(),
            "position": pa.array(rng.integers(1, 4, n).astype(np.int32)),
        }
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("by", [(), ("seg",), ("seg", "position")])
@pytest.mark.parametrize("seed", range(3))
def test_baseline_matches_reference(engine: str, by: tuple[str, ...], seed: int) -> None:
    table = awkward_log(seed)
    want = rm.label_metrics(table, by=list(by) or None, **LW_KWARGS)
    assert want["roc_auc"].null_count >= 2  # the one-class and all-pending buckets
    rm.assert_tables_match(ENGINES[engine](table, by), want)


@pytest.mark.parametrize("engine", ENGINES)
def test_baseline_on_a_labeled_generated_log(engine: str) -> None:
    table = labeled_log(2_000)
    assert table.num_rows == 20_000 and table["label_30m"].null_count > 0
    rm.assert_tables_match(ENGINES[engine](table), rm.label_metrics(table, **LW_KWARGS))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rows", [(0, 0), (10, 10)], ids=["empty", "all-pending"])
def test_baseline_degenerate_input(engine: str, rows: tuple[int, int]) -> None:
    table = awkward_log(0).slice(*rows)
    fn: Engine = ENGINES[engine]
    rm.assert_tables_match(fn(table, ["seg"]), rm.label_metrics(table, by="seg", **LW_KWARGS))
