"""Differential tests: ``lw.popularity_metrics`` vs the slow reference
(tests/reference_popularity.py) on random data; invariance to threads, batch splits and state
merges; state bytes; fast paths vs their general fallbacks."""

from __future__ import annotations

import math
import random
from typing import Any

import pyarrow as pa
import pytest
import reference_popularity as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples, rechunk

import loopwatch as lw

RULES: list[dict[str, Any]] = [
    {},
    {"head_share": 0.5},
    {"tail_ratio": 0.3},
    {"max_count": 1},
    {"compat": "recbole"},
    {"compat": "recbole", "tail_ratio": 0.5},
    {"compat": "recbole", "max_count": 2},
    {"compat": "elliot"},
]


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 40))
    opt = st.one_of(st.none(), st.integers(1, 3))
    recs = pa.table(
        {
            "request_id": pa.array(
                draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), pa.int64()
            ),
            "item_id": pa.array(
                draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), pa.int64()
            ),
            "position": pa.array(draw(st.lists(opt, min_size=n, max_size=n)), pa.int32()),
            "ts": pa.array(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), pa.int64()),
            "seg": pa.array(
                draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n)),
                pa.string(),
            ),
        }
    )
    m = draw(st.integers(0, 30))
    inter = pa.table(
        {
            "item_id": pa.array(
                draw(st.lists(st.sampled_from([None, 0, 1, 2, 3, 10]), min_size=m, max_size=m)),
                pa.int64(),
            ),
            "user": pa.array(draw(st.lists(opt, min_size=m, max_size=m)), pa.int64()),
            "ts": pa.array(
                draw(st.lists(st.integers(-10, 30), min_size=m, max_size=m)), pa.int64()
            ),
        }
    )
    kw: dict[str, Any] = {
        "position": draw(st.sampled_from([None, "position"])),
        "k": draw(st.sampled_from([None, 1, 2, 3])),
        "time": "ts",
        "every": draw(st.sampled_from([5, 10])),
        "by": draw(st.sampled_from([None, "seg"])),
    }
    kw.update(draw(st.sampled_from(RULES)))
    return {
        "recs": recs,
        "inter": inter,
        "kw": kw,
        "trailing": draw(st.booleans()),
        "count": draw(st.sampled_from(["interactions", "users"])),
        "sizes": draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)),
    }


def pops(case: dict[str, Any]) -> tuple[lw.Popularity, ref.RefPopularity]:
    args = {"user": "user", "count": case["count"]}
    if case["trailing"]:
        return (
            lw.Popularity.trailing(case["inter"], lookback=10, time="ts", **args),
            ref.RefPopularity.trailing(case["inter"], lookback=10, time="ts", **args),
        )
    return (
        lw.Popularity.from_interactions(case["inter"], **args),
        ref.RefPopularity.from_interactions(case["inter"], **args),
    )


def assert_rows_close(got: pa.Table, want: pa.Table) -> None:
    assert got.schema == want.schema
    for g, w in zip(got.to_pylist(), want.to_pylist(), strict=True):
        for col, v in g.items():
            if isinstance(v, float):
                assert w[col] is not None and math.isclose(
                    v, w[col], rel_tol=1e-9, abs_tol=1e-12
                ), col
            else:
                assert v == w[col], col
    assert got.num_rows == want.num_rows


@settings(max_examples=examples(150), deadline=None)
@given(cases())
def test_matches_reference(case: dict[str, Any]) -> None:
    pop, rpop = pops(case)
    got = lw.popularity_metrics(case["recs"], pop, **case["kw"])
    want = ref.popularity_metrics(case["recs"], rpop, **case["kw"])
    assert_rows_close(got, want)


@settings(max_examples=examples(60), deadline=None)
@given(cases())
def test_threads_batches_and_merges_are_bit_identical(case: dict[str, Any]) -> None:
    pop, _ = pops(case)
    kw = case["kw"]
    one = lw.popularity_metrics(case["recs"], pop, **kw, threads=1)
    split = rechunk(case["recs"], case["sizes"])
    many = lw.popularity_metrics(split, pop, **kw, threads=3)
    assert one.equals(many)
    # Two states over a split at a list boundary, merged, then through bytes.
    recs = case["recs"]
    ids = recs.column("request_id").to_pylist()
    left = pa.array([i % 2 == 0 for i in ids], pa.bool_())
    a = lw.PopularityMetricsState(pop, **kw).update(recs.filter(left))
    b = lw.PopularityMetricsState(pop, **kw).update(recs.filter(pa.compute.invert(left)))
    merged = lw.PopularityMetricsState.from_bytes(a.merge(b).to_bytes())
    assert merged.finalize().equals(one)


def _recode(table: pa.Table, column: str, how: str) -> pa.Table:
    """Order-preserving recoding of an integer column: far apart (no lookup-table fast path)
    or as zero-padded strings (hash interning)."""
    values = table.column(column).to_pylist()
    if how == "wide":
        arr = pa.array([None if v is None else v * 10**12 for v in values], pa.int64())
    else:
        arr = pa.array([None if v is None else f"{v:04d}" for v in values], pa.string())
    return table.set_column(table.schema.get_field_index(column), column, arr)


@settings(max_examples=examples(40), deadline=None)
@given(cases(), st.sampled_from(["wide", "text"]), st.sampled_from(["wide", "text"]))
def test_fast_paths_match_general_fallbacks(case: dict[str, Any], items: str, lists: str) -> None:
    """Small-range integer items and list ids take checked fast paths (value-offset counters,
    bitmap uniqueness of list ids); recoded the same values take the general ones."""
    if case["count"] == "users" or case["trailing"]:
        return  # popularity kinds are covered above; this is about the recommendations side
    pop, _ = pops(case)
    kw = case["kw"]
    want = lw.popularity_metrics(case["recs"], pop, **kw, threads=2)
    recs = _recode(_recode(case["recs"], "item_id", items), "request_id", lists)
    inter = _recode(case["inter"], "item_id", items)
    pop2 = lw.Popularity.from_interactions(inter, user="user", count=case["count"])
    got = lw.popularity_metrics(rechunk(recs, case["sizes"]), pop2, **kw, threads=2)
    assert got.equals(want)


@pytest.mark.parametrize("recommended", [3, 1_000])
def test_counts_read_in_id_order_whatever_the_item_range(recommended: int) -> None:
    """Item ids follow first-seen order (here: descending values), not value order. Counters
    over a value range are read out in id order by a scan of the ids when the range holds most
    items, else by a sort of the counters used: both against the reference."""
    clicked = list(range(999, -1, -1)) * 2
    inter = pa.table({"item_id": pa.array(clicked, pa.int64())})
    n = 4_000  # 2,000 rows a bucket: the halves below share most items
    rng = random.Random(5)
    recs = pa.table(
        {
            "request_id": pa.array([i // 5 for i in range(n)], pa.int64()),
            "item_id": pa.array([rng.randrange(recommended) for _ in range(n)], pa.int64()),
            "ts": pa.array([i // 500 for i in range(n)], pa.int64()),
        }
    )
    kw: dict[str, Any] = {"time": "ts", "every": 4}
    pop = lw.Popularity.from_interactions(inter)
    got = lw.popularity_metrics(recs, pop, **kw)
    want = ref.popularity_metrics(recs, ref.RefPopularity.from_interactions(inter), **kw)
    assert_rows_close(got, want)
    # Merging relies on that order: two halves merged give the same table exactly.
    odd = pa.array([i % 2 == 1 for i in recs.column("request_id").to_pylist()])
    a = lw.PopularityMetricsState(pop, **kw).update(recs.filter(odd))
    b = lw.PopularityMetricsState(pop, **kw).update(recs.filter(pa.compute.invert(odd)))
    assert a.merge(b).finalize().equals(got)


def test_merge_refuses_incompatible_states() -> None:
    pop = lw.Popularity.from_interactions(pa.table({"item_id": [1, 2]}))
    other = lw.Popularity.from_interactions(pa.table({"item_id": [1, 3]}))
    a = lw.PopularityMetricsState(pop, k=2)
    for b in (
        lw.PopularityMetricsState(pop, k=3),
        lw.PopularityMetricsState(other, k=2),
        lw.PopularityMetricsState(pop, k=2, tail_ratio=0.5),
    ):
        with pytest.raises(lw.ConfigError, match="cannot merge"):
            a.merge(b)
    with pytest.raises(lw.ConfigError):
        lw.PopularityMetricsState.from_bytes(b"LWST\x01\x00" + b"\x05" + b"\x00" * 7 + b"other")


@settings(max_examples=examples(60), deadline=None)
@given(cases(), st.sampled_from(["log10", 1, 2, 3]))
def test_hit_rate_matches_reference(case: dict[str, Any], buckets: Any) -> None:
    pop, rpop = pops(case)
    recs = case["recs"]
    labels = pa.array([[0, 1, None][i % 3] for i in range(recs.num_rows)], pa.int8())
    labeled = recs.append_column("label", labels)
    kw = {"time": "ts", "every": 10} if case["trailing"] else {}
    got = lw.hit_rate_by_popularity(labeled, pop, label="label", buckets=buckets, **kw)
    want = ref.hit_rate_by_popularity(labeled, rpop, label="label", buckets=buckets, **kw)
    assert got.table.equals(want.table)
    for name in ("head_rate", "tail_rate", "head_tail_ratio"):
        g, w = getattr(got, name), getattr(want, name)
        assert (g is None and w is None) or math.isclose(g, w, rel_tol=1e-12)
