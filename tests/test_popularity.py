"""Hand-computed cases for ``lw.popularity_metrics`` / ``lw.hit_rate_by_popularity`` and errors."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

import loopwatch as lw


def interactions(counts: dict[int, int]) -> pa.Table:
    items = [i for i, c in counts.items() for _ in range(c)]
    return pa.table({"item_id": pa.array(items, pa.int64())})


def metrics(recs: dict[str, Any], counts: dict[int, int], **kw: Any) -> dict[str, Any]:
    pop = lw.Popularity.from_interactions(interactions(counts))
    out = lw.popularity_metrics(pa.table(recs), pop, **kw)
    assert out.num_rows == 1
    row: dict[str, Any] = out.to_pylist()[0]
    return row


def test_two_lists_every_metric() -> None:
    # φ: 1→6, 2→3, 3→1, 4 cold. U = {1,2,3,4}; Σφ = 10, head = {1, 2} (6 < 8 <= 9), Γ = {3, 4}.
    row = metrics({"request_id": [1, 1, 2, 2], "item_id": [1, 3, 2, 4]}, {1: 6, 2: 3, 3: 1})
    assert row["n_lists"] == 2
    assert row["arp"] == pytest.approx(((6 + 1) / 2 + (3 + 0) / 2) / 2)
    assert row["aplt"] == pytest.approx(0.5)
    assert row["aclt"] == pytest.approx(1.0)
    assert row["long_tail_coverage"] == pytest.approx(1.0)
    assert row["coverage"] == pytest.approx(1.0)
    assert row["gini"] == pytest.approx(0.0)
    assert row["entropy"] == pytest.approx(2.0)
    assert row["entropy_norm"] == pytest.approx(1.0)
    assert row["novelty"] is None
    assert row["cold_share"] == pytest.approx(0.25)


def test_tie_at_the_head_cut_goes_to_the_smaller_item() -> None:
    # φ: 1→5, 2→5; head_share 0.5 → head = {1} (ties by item ascending), Γ = {2}.
    row = metrics({"request_id": [1, 1], "item_id": [1, 2]}, {2: 5, 1: 5}, head_share=0.5)
    assert row["aplt"] == pytest.approx(0.5)
    assert row["long_tail_coverage"] == pytest.approx(1.0)


def test_position_k_duplicates_and_short_lists() -> None:
    recs = {
        "request_id": [1, 1, 1, 2],
        "item_id": [9, 1, 1, 2],
        "position": pa.array([3, 1, 2, 1], pa.int32()),
    }
    # list 1 ordered [1, 1, 9] cut to k=2 → [1, 1]; list 2 = [2] (shorter than k).
    row = metrics(recs, {1: 4, 2: 2}, position="position", k=2)
    assert row["arp"] == pytest.approx((4 + 2) / 2)
    # c = {1: 2, 2: 1}; U = {1, 2} (9 cut off, so not recommended).
    assert row["coverage"] == pytest.approx(1.0)
    p = [2 / 3, 1 / 3]
    assert row["entropy"] == pytest.approx(-sum(x * math.log2(x) for x in p))
    assert row["gini"] == pytest.approx((-1 * 1 + 1 * 2) / (2 * 3))


def test_novelty_and_users() -> None:
    inter = pa.table({"item_id": [1, 1, 2], "user": [10, 11, 10]})
    pop = lw.Popularity.from_interactions(inter, user="user", count="users")
    out = lw.popularity_metrics(pa.table({"request_id": [1, 1], "item_id": [1, 3]}), pop)
    row = out.to_pylist()[0]
    assert row["arp"] == pytest.approx(1.0)  # (2 + 0) / 2
    assert row["novelty"] == pytest.approx((-math.log2(2 / 2) - math.log2(1 / 2)) / 2)


def test_trailing_popularity_window() -> None:
    inter = pa.table({"item_id": [1, 1, 2], "ts": [0, 5, 12]})
    pop = lw.Popularity.trailing(inter, lookback=10, time="ts")
    recs = pa.table({"request_id": [1, 2], "item_id": [1, 2], "ts": [10, 20]})
    out = lw.popularity_metrics(recs, pop, time="ts", every=10).to_pylist()
    assert [r["bucket_start"] for r in out] == [10, 20]
    assert [r["arp"] for r in out] == [2.0, 1.0]  # [0, 10): item 1 twice; [10, 20): item 2


def test_compat_presets() -> None:
    recs = {"request_id": [1, 1, 2, 2], "item_id": [1, 1, 2, 3]}
    rb = metrics(recs, {1: 6, 2: 3, 3: 1}, compat="recbole")
    assert rb["coverage"] == pytest.approx(3 / 4)  # |U| + 1 for RecBole's [PAD]
    el = metrics(recs, {1: 6, 2: 3, 3: 1}, compat="elliot")
    # Elliot Γ = {3} (φ > 0 outside the head {1, 2}); distinct per list.
    assert el["aclt"] == pytest.approx(0.5)


def test_hit_rate_log10_buckets() -> None:
    pop = lw.Popularity.from_interactions(interactions({1: 12, 2: 3}))
    labeled = pa.table({"item_id": [1, 1, 2, 3], "label": pa.array([1, 0, 1, None], pa.int8())})
    hr = lw.hit_rate_by_popularity(labeled, pop, label="label")
    assert hr.table.column("bucket").to_pylist() == ["0", "1-9", "10-99"]
    assert hr.table.column("positive_rate").to_pylist() == [None, 1.0, 0.5]
    assert hr.head_rate == pytest.approx(0.5)
    assert hr.tail_rate == pytest.approx(1.0)
    assert hr.head_tail_ratio == pytest.approx(0.5)


def test_empty_input_gives_empty_table_with_schema() -> None:
    pop = lw.Popularity.from_interactions(interactions({1: 1}))
    recs = pa.table(
        {
            "request_id": pa.array([], pa.int64()),
            "item_id": pa.array([], pa.int64()),
            "ts": pa.array([], pa.timestamp("us")),
        }
    )
    out = lw.popularity_metrics(recs, pop, time="ts", every="1h")
    assert out.num_rows == 0
    assert out.schema.field("bucket_start").type == pa.timestamp("us")
    assert out.column_names[1:3] == ["n_lists", "arp"]


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"k": 0}, lw.ConfigError, "k"),
        ({"list_id": "nope"}, lw.SchemaError, "list_id"),
        ({"item": "nope"}, lw.SchemaError, "item"),
        ({"tail_ratio": 0.1, "max_count": 2}, lw.ConfigError, "tail_ratio"),
        ({"head_share": 0.0}, lw.ConfigError, "head_share"),
        ({"compat": "x"}, lw.ConfigError, "compat"),
        ({"compat": "elliot", "tail_ratio": 0.5}, lw.ConfigError, "elliot"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], needle: str) -> None:
    pop = lw.Popularity.from_interactions(interactions({1: 1}))
    recs = pa.table({"request_id": [1], "item_id": [1]})
    with pytest.raises(error, match=needle):
        lw.popularity_metrics(recs, pop, **kwargs)


def test_null_list_id_and_item_are_data_errors() -> None:
    pop = lw.Popularity.from_interactions(interactions({1: 1}))
    with pytest.raises(lw.DataError, match="list_id"):
        lw.popularity_metrics(pa.table({"request_id": [1, None], "item_id": [1, 1]}), pop)
    with pytest.raises(lw.DataError, match="item"):
        lw.popularity_metrics(pa.table({"request_id": [1, 1], "item_id": [1, None]}), pop)


def test_lookback_must_be_a_multiple_of_every() -> None:
    inter = pa.table({"item_id": [1], "ts": [0]})
    pop = lw.Popularity.trailing(inter, lookback=15, time="ts")
    recs = pa.table({"request_id": [1], "item_id": [1], "ts": [20]})
    with pytest.raises(lw.ConfigError, match="lookback"):
        lw.popularity_metrics(recs, pop, time="ts", every=10)
    with pytest.raises(lw.ConfigError, match="trailing"):
        lw.popularity_metrics(recs, pop)


def test_catalog_and_ignored_rows() -> None:
    pop = lw.Popularity.from_interactions(pa.table({"item_id": pa.array([1, None, 2])}))
    assert pop.ignored_rows == 1
    recs = pa.table({"request_id": [1], "item_id": [3]})
    with pytest.raises(lw.DataError, match="catalog"):
        lw.popularity_metrics(recs, pop, catalog=pa.table({"item_id": [1, 2]}))
    out = lw.popularity_metrics(recs, pop, catalog=pa.table({"item_id": [1, 2, 3, 4]}))
    assert out.column("coverage").to_pylist() == [0.25]
