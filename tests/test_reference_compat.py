"""RecBole / Elliot transcriptions (``reference_compat.py``) and ``compat=`` in the reference.

* the transcriptions on small hand-computed cases (so a wrong transcription fails here, not
  only "agrees with itself");
* hypothesis: ``reference_popularity.popularity_metrics(..., compat=...)`` equals the
  transcriptions on random data shaped the way each library sees it, and leaves every other
  column as it is without ``compat``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_compat import (
    ElliotPopularity,
    elliot_aclt,
    elliot_aplt,
    elliot_arp,
    recbole_average_popularity,
    recbole_gini_index,
    recbole_item_coverage,
    recbole_num_items,
    recbole_shannon_entropy,
    recbole_tail_items,
    recbole_tail_percentage,
)
from reference_popularity import METRIC_COLUMNS, RefPopularity, popularity_metrics
from strategies import examples

from loopwatch.errors import ConfigError

# --- RecBole transcriptions, by hand -------------------------------------------------------

MATRIX = np.array([[1, 2, 3], [1, 4, 2]])
COUNT_ITEMS = {1: 10, 2: 4, 3: 1, 5: 2}  # item 4 never seen in training


def test_recbole_num_items_counts_the_padding_token() -> None:
    assert recbole_num_items([1, 2, 3, 4, 5, 5]) == 6


def test_recbole_item_coverage() -> None:
    assert recbole_item_coverage(MATRIX, 6, 3) == 4 / 6
    assert recbole_item_coverage(MATRIX, 6, 1) == 1 / 6


def test_recbole_average_popularity_divides_by_k_cold_is_zero() -> None:
    # k=3: rows (10+4+1)/3 = 5 and (10+0+4)/3; k=2: 7 and 5.
    assert recbole_average_popularity(MATRIX, COUNT_ITEMS, 3) == pytest.approx((5 + 14 / 3) / 2)
    assert recbole_average_popularity(MATRIX, COUNT_ITEMS, 2) == pytest.approx(6.0)


def test_recbole_shannon_entropy_natural_log_over_distinct_items() -> None:
    # Counts {1: 2, 2: 2, 3: 1, 4: 1} of 6; divided by 4 distinct items.
    want = -(2 * (1 / 3) * math.log(1 / 3) + 2 * (1 / 6) * math.log(1 / 6)) / 4
    assert recbole_shannon_entropy(MATRIX, 3) == pytest.approx(want)


def test_recbole_gini_ranks_the_recommended_items_at_the_top_of_num_items() -> None:
    # Sorted counts [1, 1, 2, 2] at idx 3..6 of 6: (2·idx - 7) = [-1, 1, 3, 5] → 16 / 6 / 6.
    assert recbole_gini_index(MATRIX, 6, 3) == pytest.approx(16 / 36)


def test_recbole_tail_items_ratio_threshold_and_default() -> None:
    # (cnt, item) ascending: (1, 3), (2, 5), (4, 2), (10, 1).
    assert recbole_tail_items(COUNT_ITEMS, 0.5) == [3, 5]
    assert recbole_tail_items(COUNT_ITEMS, 0.7) == [3, 5]  # int(2.8) = 2
    assert recbole_tail_items(COUNT_ITEMS, None) == [3]  # 0.1 → int(0.4) = 0 → at least 1
    assert recbole_tail_items(COUNT_ITEMS, 4) == [2, 3, 5]  # > 1: a count threshold
    assert recbole_tail_items({7: 1, 6: 1, 5: 1}, 0.5) == [5]  # ties: smaller id first
    # A cold item (4) is never in the tail.
    assert recbole_tail_percentage(MATRIX, COUNT_ITEMS, 3, 0.5) == pytest.approx((1 / 3 + 0) / 2)
    assert recbole_tail_percentage(MATRIX, COUNT_ITEMS, 3, 4) == pytest.approx((2 / 3 + 1 / 3) / 2)


# --- Elliot transcriptions, by hand --------------------------------------------------------

TRAIN = {"u1": {1: 5, 2: 3}, "u2": {1: 4, 3: 1}, "u3": {1: 2, 2: 2}, "u4": {4: 1}}


def test_elliot_popularity_short_head_and_tie_order() -> None:
    pop = ElliotPopularity(TRAIN, items=[1, 2, 3, 4])
    assert pop.get_pop_items() == {1: 3, 2: 2, 3: 1, 4: 1}
    assert pop.transactions == 7
    # limit 5.6: -3 → 2.6, -2 → 0.6, -1 → -0.4 <= 0: head [1, 2, 3]; ties follow `items`.
    assert pop.get_short_head() == [1, 2, 3]
    assert pop.get_long_tail() == [4]
    assert ElliotPopularity(TRAIN, items=[1, 2, 4, 3]).get_long_tail() == [3]
    assert ElliotPopularity(TRAIN, items=[1, 2, 3, 4], pop_ratio=0.5).get_long_tail() == [3, 4]


RECOMMENDATIONS = {"a": [(1, 0.9), (4, 0.8), (4, 0.7)], "b": [(2, 0.9), (3, 0.5)]}


def test_elliot_arp_aplt_aclt() -> None:
    pop_items = {1: 3, 2: 2, 3: 1, 4: 1}
    assert elliot_arp(RECOMMENDATIONS, 3, pop_items) == pytest.approx((5 / 3 + 3 / 2) / 2)
    # Distinct long-tail items over the list length (duplicates in the denominator only).
    assert elliot_aplt(RECOMMENDATIONS, 3, [4]) == pytest.approx((1 / 3 + 0) / 2)
    assert elliot_aclt(RECOMMENDATIONS, 3, [4]) == pytest.approx(0.5)
    assert elliot_aplt(RECOMMENDATIONS, 1, [4]) == 0.0
    with pytest.raises(KeyError):  # Elliot never expects a cold item
        elliot_arp({"c": [(9, 1.0)]}, 3, pop_items)


# --- compat="recbole" in the reference vs the transcriptions --------------------------------


def recs_table(rows: list[list[Any]]) -> pa.Table:
    return pa.table(
        {
            "request_id": [u for u, row in enumerate(rows) for _ in row],
            "item_id": [i for row in rows for i in row],
            "position": [p for row in rows for p in range(1, len(row) + 1)],
        }
    )


@st.composite
def recbole_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A RecBole-shaped case: internal item ids 1..N, a training log, a top-K matrix."""
    n_items = draw(st.integers(1, 12))
    item = st.integers(1, n_items)
    train = draw(st.lists(item, min_size=1, max_size=40))
    width = draw(st.integers(1, 5))
    distinct = draw(st.booleans()) and width <= n_items  # RecBole's rows are distinct
    row = st.lists(item, min_size=width, max_size=width, unique=distinct)
    matrix = draw(st.lists(row, min_size=1, max_size=8))
    rule = draw(
        st.one_of(
            st.just({}),
            st.builds(lambda r: {"tail_ratio": r}, st.sampled_from([0.1, 0.29, 0.5, 0.7, 1.0])),
            st.builds(lambda m: {"max_count": m}, st.integers(2, 6)),
        )
    )
    return {
        "n_items": n_items,
        "train": train,
        "matrix": matrix,
        "k": draw(st.integers(1, width)),
        "rule": rule,
    }


@settings(max_examples=examples(150), deadline=None)
@given(recbole_cases())
def test_compat_recbole_equals_transcription(case: dict[str, Any]) -> None:
    matrix = np.array(case["matrix"])
    k = case["k"]
    count_items = dict(Counter(case["train"]))
    num_items = recbole_num_items(range(1, case["n_items"] + 1))
    tail = case["rule"].get("tail_ratio", case["rule"].get("max_count"))

    pop = RefPopularity.from_interactions(pa.table({"item_id": case["train"]}))
    catalog = pa.table({"item_id": list(range(1, case["n_items"] + 1))})
    kwargs = {"position": "position", "k": k, "catalog": catalog, **case["rule"]}
    recs = recs_table(case["matrix"])
    got = popularity_metrics(recs, pop, compat="recbole", **kwargs).to_pylist()[0]
    assert got["arp"] == pytest.approx(recbole_average_popularity(matrix, count_items, k))
    assert got["aplt"] == pytest.approx(recbole_tail_percentage(matrix, count_items, k, tail))
    assert got["gini"] == pytest.approx(recbole_gini_index(matrix, num_items, k), abs=1e-12)
    assert got["entropy"] == pytest.approx(recbole_shannon_entropy(matrix, k), abs=1e-12)
    assert got["coverage"] == pytest.approx(recbole_item_coverage(matrix, num_items, k))

    plain = popularity_metrics(recs, pop, **kwargs).to_pylist()[0]
    for c in set(METRIC_COLUMNS) - {"arp", "aplt", "gini", "entropy", "coverage"}:
        assert got[c] == plain[c], c


# --- compat="elliot" in the reference vs the transcriptions ---------------------------------


@st.composite
def elliot_cases(draw: st.DrawFn) -> dict[str, Any]:
    """An Elliot-shaped case: a training log of (user, item) rows, repeats allowed (Elliot's
    train_dict keeps one per pair), lists of training items of varying length."""
    n_items = draw(st.integers(1, 10))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, 6), st.integers(0, n_items - 1)), min_size=1, max_size=40)
    )
    seen = sorted({i for _, i in pairs})
    lst = st.lists(st.sampled_from(seen), min_size=1, max_size=6)
    return {
        "pairs": pairs,
        "lists": draw(st.lists(lst, min_size=1, max_size=8)),
        "cutoff": draw(st.integers(1, 6)),
        "head_share": draw(st.sampled_from([0.2, 0.5, 0.8, 1.0])),
        "extra_catalog": draw(st.booleans()),
        "n_items": n_items,
    }


@settings(max_examples=examples(150), deadline=None)
@given(elliot_cases())
def test_compat_elliot_equals_transcription(case: dict[str, Any]) -> None:
    train: dict[int, dict[int, int]] = {}
    for u, i in case["pairs"]:
        train.setdefault(u, {})[i] = 1
    items = sorted({i for u in train.values() for i in u})  # ties: ascending, like loopwatch
    elliot = ElliotPopularity(train, items, pop_ratio=case["head_share"])
    recommendations = {u: [(i, 1.0) for i in lst] for u, lst in enumerate(case["lists"])}
    cutoff = case["cutoff"]

    users, its = zip(*case["pairs"], strict=True)
    pop = RefPopularity.from_interactions(
        pa.table({"item_id": list(its), "user_id": list(users)}), user="user_id", count="users"
    )
    kwargs: dict[str, Any] = {"k": cutoff, "head_share": case["head_share"]}
    if case["extra_catalog"]:  # cold catalog items are never in Elliot's long tail
        kwargs["catalog"] = pa.table({"item_id": list(range(case["n_items"] + 3))})
    recs = recs_table(case["lists"])
    got = popularity_metrics(recs, pop, compat="elliot", **kwargs).to_pylist()[0]
    long_tail = elliot.get_long_tail()
    assert got["arp"] == pytest.approx(elliot_arp(recommendations, cutoff, elliot.get_pop_items()))
    assert got["aplt"] == pytest.approx(elliot_aplt(recommendations, cutoff, long_tail))
    assert got["aclt"] == pytest.approx(elliot_aclt(recommendations, cutoff, long_tail))

    plain = popularity_metrics(recs, pop, **kwargs).to_pylist()[0]
    for c in set(METRIC_COLUMNS) - {"arp", "aplt", "aclt"}:
        assert got[c] == plain[c], c


def test_compat_elliot_rejects_other_tail_rules_and_unknown_compat() -> None:
    pop = RefPopularity.from_interactions(pa.table({"item_id": [1]}))
    recs = recs_table([[1]])
    with pytest.raises(ConfigError, match="elliot"):
        popularity_metrics(recs, pop, compat="elliot", tail_ratio=0.5)
    with pytest.raises(ConfigError, match="compat"):
        popularity_metrics(recs, pop, compat="lenskit")


def test_compat_differs_from_default_where_the_libraries_do() -> None:
    """Guards against a compat branch that silently falls back to the default formulas."""
    pop = RefPopularity.from_interactions(pa.table({"item_id": [1, 1, 1, 2, 3]}))
    recs = recs_table([[1, 4, 4], [2, 3]])
    plain = popularity_metrics(recs, pop).to_pylist()[0]
    rb = popularity_metrics(recs, pop, compat="recbole").to_pylist()[0]
    el = popularity_metrics(recs, pop, compat="elliot").to_pylist()[0]
    # U = {1, 2, 3, 4}: RecBole divides by 5; Elliot's tail drops the cold item 4.
    assert plain["coverage"] == 1.0 and rb["coverage"] == 4 / 5
    assert rb["entropy"] == pytest.approx(
        -(3 * (1 / 5) * math.log(1 / 5) + (2 / 5) * math.log(2 / 5)) / 4
    )
    # Σφ = 5, target 4: head {1, 2}; loopwatch Γ = {3, 4}, Elliot Γ = {3}.
    assert plain["aclt"] == 1.5 and el["aclt"] == 0.5
    # RecBole default tail ratio 0.1 over the 3 seen items → 1 item: (1, 2) ascending → {2}.
    assert rb["aplt"] == pytest.approx((0 + 1 / 2) / 2)
