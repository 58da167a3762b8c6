"""The ``popularity_metrics`` benchmark's peers (pandas, Polars) compute exactly what the
contract says: checked against the pure-Python reference on small generated logs, so the timed
comparison in ``benches/`` stays honest. loopwatch itself is not needed here."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))

from baselines_popularity import (
    ENGINES,
    adversarial_log,
    assert_close,
    reference_popularity_metrics,
)
from generate import generate_log


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("seed", [1, 2])
def test_peer_matches_reference_on_adversarial_log(engine: str, seed: int) -> None:
    pred, fb = adversarial_log(seed)
    want = reference_popularity_metrics(pred, fb)
    assert want.num_rows > 3
    assert_close(engine, ENGINES[engine](pred, fb), want, "reference")


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_peer_matches_reference_on_generated_log(engine: str) -> None:
    pred, fb = generate_log(2_000, n_users=300, n_items=500, seed=3)
    want = reference_popularity_metrics(pred, fb)
    assert want.num_rows == 24  # one day, hourly
    assert_close(engine, ENGINES[engine](pred, fb), want, "reference")


def test_assert_close_catches_a_difference() -> None:
    pred, fb = adversarial_log()
    want = reference_popularity_metrics(pred, fb)
    gini = want["gini"].to_pylist()
    gini[0] *= 1 + 1e-6
    bad = want.set_column(want.schema.get_field_index("gini"), "gini", pa.array(gini))
    with pytest.raises(AssertionError, match="gini"):
        assert_close("bad", bad, want, "reference")
