"""The built-in simulator: deterministic, well-formed, and its feedback loop degenerates.

The popularity metrics are computed here with plain numpy (the engine's are tested on their
own): per day, over every recommended row,

* coverage = distinct items recommended / catalog size;
* Gini = sum_j (2j - n - 1) c_(j) / (n sum c) over the catalog's recommendation counts;
* relative ARP = mean popularity of recommended items / catalog mean popularity, with the
  popularity fixed as the clicks of the reference period (a trailing window would jump);
* long-tail share = share of recommended rows whose item is outside the reference period's
  head (the items covering 80 % of its clicks, fixed — see SIMULATOR.md's traps).

Thresholds come from seeds 0-2 at the default size (reference → last week, no exploration:
coverage 0.94-0.99 → 0.19-0.25, Gini 0.41-0.55 → 0.96-0.98, relative ARP x3.4-3.6,
long-tail share 0.38-0.39 → 0.01; with exploration 0.1 in the last week: coverage 0.72-0.75,
Gini 0.87-0.89, long-tail share 0.09-0.10) with wide margins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from loopwatch import ConfigError
from loopwatch.simulate import Simulation, feedback_loop

US_PER_DAY = 86_400_000_000


@dataclass
class Daily:
    coverage: np.ndarray
    gini: np.ndarray
    relative_arp: np.ndarray
    long_tail_share: np.ndarray


def _day_index(ts: pa.ChunkedArray, start_us: int) -> np.ndarray:
    return (ts.cast(pa.int64()).to_numpy() - start_us) // US_PER_DAY


def daily_metrics(sim: Simulation, items: int, reference: range) -> Daily:
    start_us = _epoch_us(sim)
    day = _day_index(sim.predictions.column("ts"), start_us)
    item = sim.predictions.column("item_id").to_numpy()
    click_day = _day_index(sim.feedback.column("ts"), start_us)
    click_item = sim.feedback.column("item_id").to_numpy()
    in_reference = (click_day >= reference.start) & (click_day < reference.stop)
    phi = np.bincount(click_item[in_reference], minlength=items).astype(float)
    order = np.lexsort((np.arange(items), -phi))
    head_size = int(np.searchsorted(np.cumsum(phi[order]), 0.8 * phi.sum()) + 1)
    tail = np.ones(items, dtype=bool)
    tail[order[:head_size]] = False
    out: dict[str, list[float]] = {k: [] for k in Daily.__dataclass_fields__}
    n = items
    j = np.arange(1, n + 1)
    for d in range(int(day.max()) + 1):
        shown = item[day == d]
        counts = np.sort(np.bincount(shown, minlength=items))
        out["coverage"].append(float((counts > 0).mean()))
        out["gini"].append(float(((2 * j - n - 1) * counts).sum() / (n * counts.sum())))
        out["relative_arp"].append(float(phi[shown].mean() / phi.mean()))
        out["long_tail_share"].append(float(tail[shown].mean()))
    return Daily(**{k: np.array(v) for k, v in out.items()})


def _epoch_us(sim: Simulation) -> int:
    return int(pa.scalar(sim.start, pa.timestamp("us")).value)


REFERENCE = range(3, 17)  # warm-up 3 days, 14 reference days (the defaults)


@pytest.fixture(scope="module", params=[0, 1])
def arms(request: pytest.FixtureRequest) -> tuple[Daily, Daily]:
    """Daily metrics without and with exploration (ε = 0.1), same seed, default size."""
    seed = request.param
    plain = feedback_loop(exploration=0.0, seed=seed)
    explored = feedback_loop(exploration=0.1, seed=seed)
    return daily_metrics(plain, 1_000, REFERENCE), daily_metrics(explored, 1_000, REFERENCE)


def _reference_and_last_week(values: np.ndarray) -> tuple[float, float]:
    return float(values[REFERENCE.start : REFERENCE.stop].mean()), float(values[-7:].mean())


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a = feedback_loop(days=8, users=200, items=150, exploration=0.2, seed=7, reference_days=3)
    b = feedback_loop(days=8, users=200, items=150, exploration=0.2, seed=7, reference_days=3)
    c = feedback_loop(days=8, users=200, items=150, exploration=0.2, seed=8, reference_days=3)
    for name in ["predictions", "feedback", "interactions"]:
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.predictions.equals(c.predictions)


def test_schema_and_values(tmp_path: Path) -> None:
    sim = feedback_loop(
        days=10, users=300, items=200, exploration=0.3, seed=3, reference_days=3, out=tmp_path
    )
    p = sim.predictions
    assert p.schema == pa.schema(
        [
            ("request_id", pa.int64()),
            ("user_id", pa.int64()),
            ("item_id", pa.int64()),
            ("position", pa.int32()),
            ("score", pa.float64()),
            ("explored", pa.bool_()),
            ("ts", pa.timestamp("us")),
        ]
    )
    clicks = pa.schema(
        [("user_id", pa.int64()), ("item_id", pa.int64()), ("ts", pa.timestamp("us"))]
    )
    assert sim.feedback.schema == clicks
    assert sim.interactions.schema == clicks
    assert p.num_rows > 0 and sim.feedback.num_rows > 0
    score = p.column("score").to_numpy()
    assert np.all((score >= 0) & (score <= 1))
    assert set(p.column("position").to_numpy()) == set(range(1, 11))
    # every list holds 10 distinct items, at positions 1..10
    frame = (
        p.select(["request_id", "item_id"])
        .group_by("request_id")
        .aggregate([("item_id", "count_distinct")])
    )
    assert set(frame.column("item_id_count_distinct").to_numpy()) == {10}
    # logs sorted by time; every click comes after an impression of its (user, item)
    for table in [p, sim.feedback]:
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        assert np.all(np.diff(ts) >= 0)
    shown = set(zip(p.column("user_id").to_pylist(), p.column("item_id").to_pylist(), strict=True))
    fb = sim.feedback
    assert all(
        key in shown
        for key in zip(
            fb.column("user_id").to_pylist(), fb.column("item_id").to_pylist(), strict=True
        )
    )
    # the logs stop at the end of the last day (later clicks have not happened yet)
    end_us = _epoch_us(sim) + 10 * US_PER_DAY
    assert sim.feedback.column("ts").cast(pa.int64()).to_numpy().max() < end_us
    assert int(pa.scalar(sim.end, pa.timestamp("us")).value) == end_us
    # exploration: none in the warm-up (random lists anyway), about ε afterwards
    explored = p.column("explored").to_numpy()
    day = _day_index(p.column("ts"), _epoch_us(sim))
    assert not explored[day < 3].any()
    assert 0.25 < explored[day >= 3].mean() < 0.35
    # out= wrote the same tables
    for name in ["predictions", "feedback", "interactions"]:
        assert pq.read_table(tmp_path / f"{name}.parquet").equals(getattr(sim, name))


def test_no_exploration_flag_without_exploration() -> None:
    sim = feedback_loop(days=6, users=100, items=100, seed=1, reference_days=2)
    assert not pc.any(sim.predictions.column("explored")).as_py()


def test_without_exploration_the_loop_degenerates(arms: tuple[Daily, Daily]) -> None:
    plain, _ = arms
    coverage_ref, coverage_last = _reference_and_last_week(plain.coverage)
    gini_ref, gini_last = _reference_and_last_week(plain.gini)
    arp_ref, arp_last = _reference_and_last_week(plain.relative_arp)
    tail_ref, tail_last = _reference_and_last_week(plain.long_tail_share)
    assert coverage_last < 0.5 * coverage_ref
    assert gini_last > gini_ref + 0.25
    assert arp_last > 2.0 * arp_ref
    assert tail_last < 0.25 * tail_ref
    # the reference period itself is flat (the frozen model)
    reference = plain.coverage[REFERENCE.start : REFERENCE.stop]
    assert reference.max() - reference.min() < 0.1


def test_exploration_keeps_the_last_week_healthier(arms: tuple[Daily, Daily]) -> None:
    plain, explored = arms
    _, coverage_plain = _reference_and_last_week(plain.coverage)
    _, coverage_explored = _reference_and_last_week(explored.coverage)
    _, gini_plain = _reference_and_last_week(plain.gini)
    _, gini_explored = _reference_and_last_week(explored.gini)
    _, tail_plain = _reference_and_last_week(plain.long_tail_share)
    _, tail_explored = _reference_and_last_week(explored.long_tail_share)
    assert coverage_explored > 1.8 * coverage_plain
    assert gini_explored < gini_plain - 0.04
    assert tail_explored > tail_plain + 0.04


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"days": 0}, "days"),
        ({"days": 10, "reference_days": 9}, "days"),
        ({"users": 0}, "users"),
        ({"items": 5, "list_size": 10}, "list_size"),
        ({"items": 15, "exploration": 0.1}, "items"),
        ({"exploration": 1.5}, "exploration"),
        ({"exploration": float("nan")}, "exploration"),
        ({"warmup_days": 0}, "warmup_days"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, float], argument: str) -> None:
    with pytest.raises(ConfigError, match=f"^{argument}:"):
        feedback_loop(**kwargs)  # type: ignore[arg-type]
