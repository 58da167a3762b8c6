"""The pure-Python reference of SPEC §5 (``reference_popularity.py``) checked on its own.

* hand-computed cases, one or two rules each, with exact expected values (these are what the
  engine will be held to through the reference, so they pin the contract's formulas);
* the trailing popularity against a brute-force recount per bucket (a fixed popularity built
  from exactly that bucket's window);
* consistency checks on random data (bounds and identities between columns).

Nothing here needs the extension: it runs before ``lw.popularity_metrics`` exists.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from reference_popularity import (
    METRIC_COLUMNS,
    RefPopularity,
    hit_rate_by_popularity,
    popularity_metrics,
)

from loopwatch.errors import ConfigError, DataError

INT64 = pa.int64()


def log2(x: float) -> float:
    return math.log2(x)


def one_row(table: pa.Table) -> dict[str, Any]:
    assert table.num_rows == 1
    row: dict[str, Any] = table.to_pylist()[0]
    return row


def assert_row(got: dict[str, Any], want: dict[str, Any]) -> None:
    for name, value in want.items():
        if value is None or isinstance(value, int):
            assert got[name] == value, name
        else:
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


# --- a small worked example ----------------------------------------------------------------
#
# Interactions: item 1 by users 1, 2, 2; item 2 by users 1, 3; item 3 by user 3; a null item
# (ignored, so user 4 is not counted). φ = {1: 3, 2: 2, 3: 1}; item 4 is only recommended
# (cold). U = {1, 2, 3, 4}, Σφ = 6, head_share 0.8 → target 4.8: 1 (cum 3), 2 (cum 5 >= 4.8)
# → head {1, 2}, Γ = {3, 4}. Lists: r1 = [1, 2, 4], r2 = [3, 1].

INTERACTIONS = pa.table(
    {"item_id": [1, 1, 1, 2, 2, 3, None], "user_id": [1, 2, 2, 1, 3, 3, 4]},
    schema=pa.schema([("item_id", pa.int64()), ("user_id", pa.int64())]),
)
RECS = pa.table({"request_id": [1, 1, 1, 2, 2], "item_id": [1, 2, 4, 3, 1]})


def test_worked_example_every_column() -> None:
    pop = RefPopularity.from_interactions(INTERACTIONS, user="user_id")
    assert pop.ignored_rows == 1
    out = popularity_metrics(RECS, pop)
    assert out.column_names == METRIC_COLUMNS
    assert out.schema.field("n_lists").type == pa.int64()
    assert all(out.schema.field(c).type == pa.float64() for c in METRIC_COLUMNS[1:])
    # φ_users = {1: 2, 2: 2, 3: 1, 4: 0 -> 1}, N_users = 3.
    nov1 = (-log2(2 / 3) - log2(2 / 3) - log2(1 / 3)) / 3
    nov2 = (-log2(1 / 3) - log2(2 / 3)) / 2
    # Counts c = {1: 2, 2: 1, 3: 1, 4: 1}, sorted [1, 1, 1, 2], n = 4, Σc = 5.
    gini = ((2 - 5) * 1 + (4 - 5) * 1 + (6 - 5) * 1 + (8 - 5) * 2) / (4 * 5)
    entropy = -(3 * (1 / 5) * log2(1 / 5) + (2 / 5) * log2(2 / 5))
    assert_row(
        one_row(out),
        {
            "n_lists": 2,
            "arp": ((3 + 2 + 0) / 3 + (1 + 3) / 2) / 2,
            "aplt": (1 / 3 + 1 / 2) / 2,
            "aclt": 1.0,
            "long_tail_coverage": 1.0,
            "coverage": 1.0,
            "gini": gini,
            "entropy": entropy,
            "entropy_norm": entropy / 2,
            "novelty": (nov1 + nov2) / 2,
            "cold_share": 1 / 5,
        },
    )


def test_count_users_and_no_user_column() -> None:
    by_users = RefPopularity.from_interactions(INTERACTIONS, user="user_id", count="users")
    # φ = {1: 2, 2: 2, 3: 1}: list means (2 + 2 + 0) / 3 and (1 + 2) / 2.
    row = one_row(popularity_metrics(RECS, by_users))
    assert row["arp"] == pytest.approx((4 / 3 + 3 / 2) / 2)
    no_users = RefPopularity.from_interactions(INTERACTIONS)
    assert one_row(popularity_metrics(RECS, no_users))["novelty"] is None
    with pytest.raises(ConfigError, match="user"):
        RefPopularity.from_interactions(INTERACTIONS, count="users")


# --- the long tail -------------------------------------------------------------------------


def fixed_pop(phi: dict[Any, int], item_type: pa.DataType = INT64) -> RefPopularity:
    items = [i for i, n in phi.items() for _ in range(n)]
    return RefPopularity.from_interactions(pa.table({"item_id": pa.array(items, item_type)}))


def one_list(items: list[Any], item_type: pa.DataType = INT64) -> pa.Table:
    return pa.table(
        {"request_id": [0] * len(items), "item_id": pa.array(items, type=item_type)},
    )


def tail_of(pop: RefPopularity, items: list[Any], **kwargs: Any) -> set[Any]:
    """Γ as seen through aclt: recommend each item of ``items`` alone (``items`` is U)."""
    recs = pa.table({"request_id": list(range(len(items))), "item_id": items})
    catalog = pa.table({"item_id": items})
    gamma = set()
    for i in items:
        one = recs.filter(pc.equal(recs["item_id"], i))
        out = popularity_metrics(one, pop, catalog=catalog, **kwargs)
        if one_row(out)["aclt"] == 1.0:
            gamma.add(i)
    return gamma


def test_head_share_ties_broken_by_item_ascending_and_crossing_item_in_head() -> None:
    pop = fixed_pop({4: 2, 3: 2, 2: 2, 1: 2})
    # Σφ = 8, head_share 0.5 → target 4, reached exactly by 1, 2 (the crossing item is in).
    assert tail_of(pop, [1, 2, 3, 4], head_share=0.5) == {3, 4}
    # target 4.8: 1, 2 (4), 3 (6) → head {1, 2, 3}.
    assert tail_of(pop, [1, 2, 3, 4], head_share=0.6) == {4}
    # head_share 1: everything with φ > 0 is head; a zero-φ (cold) item is always tail.
    assert tail_of(pop, [1, 2, 3, 4, 5], head_share=1.0) == {5}


def test_string_items_tie_by_bytes() -> None:
    pop = fixed_pop({"é": 1, "z": 1, "a": 1, "B": 1}, pa.string())
    # Bytes order: "B" (0x42) < "a" < "z" < "é" (0xC3 0xA9). Target 0.5 * 4 = 2: head {B, a}.
    assert tail_of(pop, ["B", "a", "z", "é"], head_share=0.5) == {"z", "é"}


def test_tail_ratio_and_max_count_rules() -> None:
    pop = fixed_pop({1: 5, 2: 3, 3: 3, 4: 1})
    items = [1, 2, 3, 4, 5]  # 5 is cold
    # Order: 1 (5), 2 (3), 3 (3), 4 (1), 5 (0). floor(0.5 * 5) = 2 → the last two.
    assert tail_of(pop, items, tail_ratio=0.5) == {4, 5}
    # floor(0.1 * 5) = 0 → at least one item.
    assert tail_of(pop, items, tail_ratio=0.1) == {5}
    # floor(0.6 * 5) = 3 → {3, 4, 5}: of the tied 2 and 3 the larger id is further down.
    assert tail_of(pop, items, tail_ratio=0.6) == {3, 4, 5}
    assert tail_of(pop, items, max_count=3) == {2, 3, 4, 5}
    assert tail_of(pop, items, max_count=0) == {5}
    with pytest.raises(ConfigError, match="at most one"):
        popularity_metrics(one_list([1]), pop, tail_ratio=0.5, max_count=2)
    for bad in ({"head_share": 0.0}, {"head_share": 1.5}, {"tail_ratio": 0.0}, {"k": 0}):
        with pytest.raises(ConfigError):
            popularity_metrics(one_list([1]), pop, **bad)


def test_sum_phi_zero_empty_head_everything_tail_and_novelty_null() -> None:
    empty = pa.table({"item_id": pa.array([], pa.int64()), "user_id": pa.array([], pa.int64())})
    pop = RefPopularity.from_interactions(empty, user="user_id")
    row = one_row(popularity_metrics(one_list([1, 2, 2]), pop))
    assert_row(
        row,
        {
            "n_lists": 1,
            "arp": 0.0,
            "aplt": 1.0,
            "aclt": 3.0,
            "long_tail_coverage": 1.0,
            "cold_share": 1.0,
            "novelty": None,  # N_users = 0
        },
    )


def test_single_item_universe() -> None:
    pop = fixed_pop({7: 3})
    row = one_row(popularity_metrics(one_list([7, 7]), pop))
    # U = {7}: head {7}, Γ empty; Gini over one item is 0; entropy 0, entropy_norm undefined.
    assert_row(
        row,
        {
            "arp": 3.0,
            "aplt": 0.0,
            "aclt": 0.0,
            "long_tail_coverage": None,
            "coverage": 1.0,
            "gini": 0.0,
            "entropy": 0.0,
            "entropy_norm": None,
            "cold_share": 0.0,
        },
    )


# --- lists ---------------------------------------------------------------------------------


def test_position_order_ties_in_input_order_nulls_last_and_cut_to_k() -> None:
    pop = fixed_pop({1: 1, 2: 2, 3: 3, 4: 4})
    recs = pa.table(
        {
            "request_id": [9, 9, 9, 9],
            "item_id": [4, 3, 2, 1],
            "position": pa.array([None, 2, 1, 2], pa.int32()),
        }
    )
    # Ordered: 2 (pos 1), 3 (pos 2, earlier row), 1 (pos 2), 4 (null). k = 2 → [2, 3].
    assert one_row(popularity_metrics(recs, pop, position="position", k=2))["arp"] == 2.5
    assert one_row(popularity_metrics(recs, pop, position="position", k=3))["arp"] == 2.0
    # No position: input order → [4, 3].
    assert one_row(popularity_metrics(recs, pop, k=2))["arp"] == 3.5


def test_lists_shorter_than_k_and_duplicates() -> None:
    pop = fixed_pop({1: 4, 2: 1, 3: 1})  # Σφ = 6, target 4.8: head {1, 2}; Γ = {3}
    recs = pa.table({"request_id": [1, 1, 1, 2, 2, 2, 2], "item_id": [3, 3, 1, 2, 3, 1, 1]})
    row = one_row(popularity_metrics(recs, pop, k=3))
    # Lists after the cut: [3, 3, 1] and [2, 3, 1]; duplicates count everywhere but coverage.
    assert_row(
        row,
        {
            "arp": ((1 + 1 + 4) / 3 + (1 + 1 + 4) / 3) / 2,
            "aplt": (2 / 3 + 1 / 3) / 2,
            "aclt": (2 + 1) / 2,
            "coverage": 1.0,
            # c = {1: 2, 2: 1, 3: 3}: sorted [1, 2, 3], n = 3, Σc = 6.
            "gini": ((2 - 4) * 1 + (4 - 4) * 2 + (6 - 4) * 3) / (3 * 6),
        },
    )
    # A list of one item with k = 5 divides by its own length.
    assert one_row(popularity_metrics(one_list([2]), pop, k=5))["arp"] == 1.0


def test_compound_list_id_and_nulls_are_errors() -> None:
    pop = fixed_pop({1: 1, 2: 1})
    recs = pa.table({"a": [1, 1, 2], "b": ["x", "y", "x"], "item_id": [1, 2, 2]})
    assert one_row(popularity_metrics(recs, pop, list_id=["a", "b"]))["n_lists"] == 3
    assert one_row(popularity_metrics(recs, pop, list_id="a"))["n_lists"] == 2
    with pytest.raises(DataError, match="list_id"):
        popularity_metrics(pa.table({"a": [1, None], "item_id": [1, 2]}), pop, list_id="a")
    with pytest.raises(DataError, match="null item"):
        popularity_metrics(pa.table({"a": [1, 1], "item_id": [1, None]}), pop, list_id="a")


def test_catalog_is_the_universe() -> None:
    pop = fixed_pop({1: 3, 2: 1})
    catalog = pa.table({"item_id": [1, 2, 3, 4, 5, 6, 7, 8]})
    row = one_row(popularity_metrics(one_list([1, 2]), pop, catalog=catalog))
    # Γ = U \ {1} (target 3.2: 1 (3), 2 (4)) → head {1, 2}; Γ = {3..8}, none recommended.
    assert_row(row, {"coverage": 2 / 8, "long_tail_coverage": 0.0, "entropy_norm": 1 / 3})
    with pytest.raises(DataError, match="catalog"):
        popularity_metrics(one_list([9]), pop, catalog=catalog)


# --- layout --------------------------------------------------------------------------------


def test_buckets_by_segments_sorted_nulls_last_and_first_row_decides() -> None:
    pop = fixed_pop({1: 2, 2: 1})
    hour = 3_600_000_000  # us
    base = 1_717_200_000_000_000 + 30 * 60 * 1_000_000  # 00:30
    ts = [base + hour, base, None, base, base + hour, base]
    recs = pa.table(
        {
            "request_id": [1, 1, 2, 3, 4, 5],
            "item_id": [1, 2, 1, 2, 1, 2],
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "seg": pa.array(["b", "b", None, "a", None, "a"]).dictionary_encode(),
        }
    )
    out = popularity_metrics(recs, pop, time="ts", every="1h", by="seg")
    assert out.schema.field("bucket_start").type == pa.timestamp("us", tz="UTC")
    assert out.schema.field("seg").type == pa.string()
    assert out.column_names == ["bucket_start", "seg", *METRIC_COLUMNS]
    start = base - 30 * 60 * 1_000_000
    got = [
        (r["bucket_start"], r["seg"], r["n_lists"], r["arp"])
        for r in out.cast(out.schema.set(0, pa.field("bucket_start", pa.int64()))).to_pylist()
    ]
    # List 1 (first row at 01:30) → 01:00 bucket, its second row at 00:30 does not matter.
    assert got == [
        (start, "a", 2, 1.0),
        (start + hour, "b", 1, 1.5),
        (start + hour, None, 1, 2.0),
        (None, None, 1, 2.0),
    ]


def test_integer_time_negative_times_floor_and_timedelta_every() -> None:
    pop = fixed_pop({1: 1})
    recs = pa.table(
        {"request_id": [1, 2, 3], "item_id": [1, 1, 1], "t": pa.array([-1, 0, 9], pa.int32())}
    )
    out = popularity_metrics(recs, pop, time="t", every=5)
    assert out.schema.field("bucket_start").type == pa.int32()
    assert out["bucket_start"].to_pylist() == [-5, 0, 5]
    ts = pa.table(
        {
            "request_id": [1],
            "item_id": [1],
            "ts": pa.array([90_061], pa.timestamp("s")),  # 1d 1h 1m 1s
        }
    )
    a = popularity_metrics(ts, pop, time="ts", every=dt.timedelta(hours=1))
    b = popularity_metrics(ts, pop, time="ts", every="60m")
    assert a.equals(b)
    assert a["bucket_start"].cast(pa.int64()).to_pylist() == [90_000]
    with pytest.raises(ConfigError, match="whole number"):
        popularity_metrics(ts, pop, time="ts", every="1500ms")
    with pytest.raises(ConfigError, match="integer"):
        popularity_metrics(recs, pop, time="t", every="5s")


def test_empty_input_zero_rows_full_schema() -> None:
    pop = fixed_pop({1: 1})
    recs = pa.table(
        {
            "request_id": pa.array([], pa.int64()),
            "item_id": pa.array([], pa.int64()),
            "ts": pa.array([], pa.timestamp("ms")),
            "seg": pa.array([], pa.dictionary(pa.int8(), pa.string())),
            "flag": pa.array([], pa.bool_()),
        }
    )
    out = popularity_metrics(recs, pop, time="ts", every="1d", by=["seg", "flag"])
    assert out.num_rows == 0
    assert out.schema == pa.schema(
        [
            ("bucket_start", pa.timestamp("ms")),
            ("seg", pa.string()),
            ("flag", pa.bool_()),
            ("n_lists", pa.int64()),
            *[(c, pa.float64()) for c in METRIC_COLUMNS[1:]],
        ]
    )


# --- trailing popularity -------------------------------------------------------------------


def test_trailing_window_boundaries() -> None:
    # lookback 2 (integer time), every 1: bucket s counts s - 2 <= t < s.
    inter = pa.table({"item_id": [1, 1, 1, 2], "t": [0, 1, 2, 2]})
    pop = RefPopularity.trailing(inter, lookback=2, time="t")
    recs = pa.table({"request_id": [1, 2, 3, 4], "item_id": [1, 1, 1, 1], "t": [0, 1, 2, 3]})
    out = popularity_metrics(recs, pop, time="t", every=1)
    # s=0: nothing; s=1: t=0 → 1; s=2: t=0,1 → 2; s=3: t=1,2 → 2.
    assert out["arp"].to_pylist() == [0.0, 1.0, 2.0, 2.0]
    assert out["cold_share"].to_pylist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match="multiple"):
        popularity_metrics(
            recs, RefPopularity.trailing(inter, lookback=3, time="t"), time="t", every=2
        )
    with pytest.raises(ConfigError, match="time and every"):
        popularity_metrics(recs, pop)


def random_log(seed: int, n_lists: int = 40, n_items: int = 12) -> tuple[pa.Table, pa.Table]:
    """Interactions and recommendation lists over six hours (minute times, microseconds):
    power-law items, a few null items/users, lists of 1-6 rows with duplicates, cold items,
    tied and null positions, two segments, rows shuffled within the list order."""
    rng = np.random.default_rng(seed)
    minute = 60_000_000
    base = 1_717_200_000_000_000
    n_int = 200
    items = np.minimum(rng.zipf(1.6, n_int) - 1, n_items - 1)
    inter = pa.table(
        {
            "item_id": pa.array(items, mask=rng.random(n_int) < 0.03),
            "user_id": pa.array(rng.integers(0, 15, n_int), mask=rng.random(n_int) < 0.05),
            "ts": pa.array(base + rng.integers(0, 360, n_int) * minute, pa.timestamp("us")),
        }
    )
    rows: dict[str, list[Any]] = {k: [] for k in ("request_id", "item_id", "position", "ts", "seg")}
    for rid in range(n_lists):
        length = int(rng.integers(1, 7))
        t0 = base + int(rng.integers(0, 360)) * minute
        for _ in range(length):
            rows["request_id"].append(rid)
            rows["item_id"].append(int(rng.integers(0, n_items + 3)))  # some cold
            rows["position"].append(None if rng.random() < 0.1 else int(rng.integers(1, 4)))
            rows["ts"].append(t0 + int(rng.integers(0, 90)) * minute)
            rows["seg"].append(["x", "y"][rid % 2])
    recs = pa.table(
        rows,
        schema=pa.schema(
            [
                ("request_id", pa.int64()),
                ("item_id", pa.int64()),
                ("position", pa.int32()),
                ("ts", pa.timestamp("us")),
                ("seg", pa.string()),
            ]
        ),
    )
    return inter, recs


@pytest.mark.parametrize("seed", range(6))
def test_trailing_equals_fixed_popularity_of_each_window(seed: int) -> None:
    inter, recs = random_log(seed)
    kwargs: dict[str, Any] = {"position": "position", "k": 4, "time": "ts", "by": "seg"}
    pop = RefPopularity.trailing(inter, lookback="2h", user="user_id")
    out = popularity_metrics(recs, pop, every="1h", **kwargs)
    universe = pa.table(
        {
            "item_id": sorted(
                set(inter["item_id"].drop_null().to_pylist()) | set(recs["item_id"].to_pylist())
            )
        }
    )
    hour = 3_600_000_000
    ts_us = recs["ts"].cast(pa.int64()).to_pylist()
    checked = 0
    starts = out["bucket_start"].cast(pa.int64()).to_pylist()
    for s, row in zip(starts, out.to_pylist(), strict=True):
        # Brute force: the window's rows as a fixed popularity; this bucket's lists only.
        t = inter["ts"].cast(pa.int64())
        window = inter.filter(pc.and_(pc.greater_equal(t, s - 2 * hour), pc.less(t, s)))
        fixed = RefPopularity.from_interactions(window, user="user_id")
        first_ts = {}
        for rid, t_us in zip(recs["request_id"].to_pylist(), ts_us, strict=True):
            first_ts.setdefault(rid, t_us)
        mine = [rid for rid, t_us in first_ts.items() if t_us // hour * hour == s]
        sub = recs.filter(pc.is_in(recs["request_id"], pa.array(mine, pa.int64())))
        sub = sub.filter(pc.equal(sub["seg"], row["seg"]))
        want = one_row(popularity_metrics(sub, fixed, catalog=universe, **kwargs))
        for c in METRIC_COLUMNS:
            w = want[c]
            assert row[c] == (w if w is None or isinstance(w, int) else pytest.approx(w)), c
        checked += 1
    assert checked == out.num_rows > 3


# --- consistency on random data ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_random_data_bounds_and_identities(seed: int) -> None:
    inter, recs = random_log(seed, n_lists=60)
    pop = RefPopularity.from_interactions(inter, user="user_id")
    k = 3
    out = popularity_metrics(recs, pop, position="position", k=k, time="ts", every="1h")
    assert out.num_rows > 1
    n_lists = len(set(recs["request_id"].to_pylist()))
    assert sum(out["n_lists"].to_pylist()) == n_lists
    for row in out.to_pylist():
        assert 0 <= row["aplt"] <= 1
        assert 0 <= row["aclt"] <= k
        assert 0 < row["coverage"] <= 1
        assert 0 <= row["gini"] < 1
        assert 0 <= row["entropy_norm"] <= 1 + 1e-12
        assert 0 <= row["cold_share"] <= 1
        assert row["long_tail_coverage"] is None or 0 <= row["long_tail_coverage"] <= 1
        assert row["novelty"] is not None and row["novelty"] >= 0
        assert row["arp"] >= 0

    # Lists of exactly k items: aclt = k · aplt.
    long_ids = [
        rid
        for rid, n in zip(*np.unique(recs["request_id"], return_counts=True), strict=True)
        if n >= k
    ]
    full = recs.filter(pc.is_in(recs["request_id"], pa.array(long_ids, pa.int64())))
    for row in popularity_metrics(full, pop, k=k, time="ts", every="1h").to_pylist():
        assert row["aclt"] == pytest.approx(k * row["aplt"])

    # Whole lists permuted: same result (up to float summation order).
    perm = np.random.default_rng(seed).permutation(n_lists)
    order = {int(old): new for new, old in enumerate(perm)}
    keys = pa.array([order[r] for r in recs["request_id"].to_pylist()])
    shuffled = recs.take(pc.sort_indices(pa.table({"key": keys}), [("key", "ascending")]))
    again = popularity_metrics(shuffled, pop, position="position", k=k, time="ts", every="1h")
    for a, b in zip(out.to_pylist(), again.to_pylist(), strict=True):
        for c in METRIC_COLUMNS:
            assert a[c] == pytest.approx(b[c], rel=1e-12), c


def test_constant_popularity_gives_constant_arp_and_even_lists_gini_zero() -> None:
    pop = fixed_pop({1: 5, 2: 5, 3: 5})
    recs = pa.table({"request_id": [1, 1, 2, 2, 3, 3], "item_id": [1, 2, 3, 1, 2, 3]})
    row = one_row(popularity_metrics(recs, pop))
    assert_row(row, {"arp": 5.0, "gini": 0.0, "entropy": log2(3), "entropy_norm": 1.0})


# --- hit_rate_by_popularity ----------------------------------------------------------------


def test_hit_rate_log10_buckets_and_head_tail() -> None:
    pop = fixed_pop({1: 150, 2: 20, 3: 5, 4: 1})  # Σφ = 176, target 140.8: head {1}
    labeled = pa.table(
        {
            "item_id": [1, 1, 1, 2, 3, 3, 4, 5, 5],
            "y": pa.array([1, 1, 0, 0, 1, None, 0, 1, 1], pa.int8()),
        }
    )
    res = hit_rate_by_popularity(labeled, pop, label="y")
    assert res.table.to_pylist() == [
        {"bucket": "0", "pop_min": 0, "pop_max": 0, "predictions": 2, "labeled": 2,
         "positives": 2, "positive_rate": 1.0},
        {"bucket": "1-9", "pop_min": 1, "pop_max": 5, "predictions": 3, "labeled": 2,
         "positives": 1, "positive_rate": 0.5},
        {"bucket": "10-99", "pop_min": 20, "pop_max": 20, "predictions": 1, "labeled": 1,
         "positives": 0, "positive_rate": 0.0},
        {"bucket": "100-999", "pop_min": 150, "pop_max": 150, "predictions": 3, "labeled": 3,
         "positives": 2, "positive_rate": 2 / 3},
    ]  # fmt: skip
    assert res.table.schema.field("bucket").type == pa.string()
    assert res.head_rate == pytest.approx(2 / 3)
    assert res.tail_rate == pytest.approx(3 / 5)  # items 2, 3, 4, 5 (cold)
    assert res.head_tail_ratio == pytest.approx((2 / 3) / (3 / 5))


def test_hit_rate_quantile_edges_dedup_and_names() -> None:
    pop = fixed_pop({1: 1, 2: 2, 3: 3, 4: 10})
    labeled = pa.table({"item_id": [1, 1, 1, 2, 3, 4], "y": [True, False, True, True, False, None]})
    # φ ascending: [1, 1, 1, 2, 3, 10], n = 6, q = 4: ranks ceil(6j/4) - 1 = 1, 2, 4, 5
    # → edges 1, 1, 3, 10 → dedup [1, 3, 10].
    res = hit_rate_by_popularity(labeled, pop, label="y", buckets=4)
    got = [
        (r["bucket"], r["pop_min"], r["pop_max"], r["predictions"]) for r in res.table.to_pylist()
    ]
    assert got == [("<=1", 1, 1, 3), ("1-3", 2, 3, 2), ("3-10", 10, 10, 1)]
    # Head: Σφ over U = 16, target 12.8: 4 (10), 3 (13) → head {3, 4}; tail {1, 2}.
    assert res.head_rate == 0.0
    assert res.tail_rate == pytest.approx(3 / 4)
    assert res.head_tail_ratio == 0.0
    one = hit_rate_by_popularity(labeled, pop, label="y", buckets=1)
    assert one.table["bucket"].to_pylist() == ["<=10"]
    with pytest.raises(ConfigError, match="buckets"):
        hit_rate_by_popularity(labeled, pop, label="y", buckets=0)


def test_hit_rate_ratio_null_when_tail_rate_zero_or_missing_and_empty_input() -> None:
    pop = fixed_pop({1: 9, 2: 1})  # head {1}
    res = hit_rate_by_popularity(pa.table({"item_id": [1, 2], "y": [1, 0]}), pop, label="y")
    assert (res.head_rate, res.tail_rate, res.head_tail_ratio) == (1.0, 0.0, None)
    res = hit_rate_by_popularity(pa.table({"item_id": [1, 2], "y": [1, None]}), pop, label="y")
    assert (res.tail_rate, res.head_tail_ratio) == (None, None)
    empty = pa.table({"item_id": pa.array([], pa.int64()), "y": pa.array([], pa.int64())})
    res = hit_rate_by_popularity(empty, pop, label="y", buckets=3)
    assert res.table.num_rows == 0 and res.table.schema.field("pop_min").type == pa.int64()
    with pytest.raises(DataError, match="0, 1 or null"):
        hit_rate_by_popularity(pa.table({"item_id": [1], "y": [2]}), pop, label="y")


def test_hit_rate_with_trailing_popularity_uses_each_rows_bucket() -> None:
    inter = pa.table({"item_id": [1, 1, 2], "t": [0, 1, 5]})
    pop = RefPopularity.trailing(inter, lookback=4, time="t")
    labeled = pa.table({"item_id": [1, 1, 2], "y": [1, 0, 1], "t": [2, 6, 6]})
    res = hit_rate_by_popularity(labeled, pop, label="y", time="t", every=2)
    # Row 1: bucket 2 → window [-2, 2): item 1 twice → φ 2. Rows 2, 3: bucket 6 → [2, 6):
    # item 2 once → item 1 φ 0, item 2 φ 1.
    got = [(r["bucket"], r["predictions"], r["positives"]) for r in res.table.to_pylist()]
    assert got == [("0", 1, 0), ("1-9", 2, 2)]
