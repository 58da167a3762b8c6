"""RecBole's and Elliot's popularity metrics, transcribed from their published code.

These are the oracles of ``popularity_metrics(..., compat="recbole" | "elliot")``: each function
keeps the library's own data shapes and arithmetic (numpy included), minus the plumbing
(config objects, torch tensors, logging), with the source cited above it. The rounding both
libraries apply when reporting (RecBole ``round(x, metric_decimal_place)``, default 4 places;
Elliot ``round(x, 5)`` in its log) is left out: loopwatch never rounds.

Sources (read from the stored public repositories):

* RecBole — ``RUCAIBox/RecBole``, ``recbole/evaluator/metrics.py`` (classes ``ItemCoverage``,
  ``AveragePopularity``, ``ShannonEntropy``, ``GiniIndex``, ``TailPercentage``; black-formatted
  1.x version), ``recbole/evaluator/collector.py`` (``Collector.data_collect``: where
  ``data.num_items`` and ``data.count_items`` come from) and
  ``recbole/data/dataset/dataset.py`` (``Dataset._remap``: ``mp = np.array(["[PAD]"] + list(mp))``;
  ``Dataset.num``: ``len(self.field2id_token[field])``; ``Dataset.item_counter``:
  ``Counter(self.inter_feat[self.iid_field].numpy())``).
* Elliot — ``sisinflab/elliot`` v0.3.1, ``elliot/evaluation/metrics/bias/arp/arp.py``,
  ``.../bias/aplt/aplt.py``, ``.../bias/aclt/aclt.py``, ``elliot/evaluation/metrics/base_metric.py``
  (``BaseMetric.eval``), ``elliot/evaluation/popularity_utils.py`` (class ``Popularity``,
  imported by ``elliot/evaluation/evaluator.py``) and ``elliot/dataset/dataset.py``
  (``self.items = list({k for a in self.train_dict.values() for k in a.keys()})``,
  ``self.transactions = sum(len(v) for v in self.train_dict.values())``).

How each maps onto ``lw.popularity_metrics`` (what the Rust engine implements)
==============================================================================

Common to both: ``compat`` changes only the columns named below; every other column is exactly
what the same call without ``compat`` returns (``long_tail_coverage`` and, for RecBole, ``aclt``
keep loopwatch's own Γ; ``entropy_norm`` stays -Σ p log2 p / log2 |U|). The libraries' φ is
whatever ``pop`` holds (build ``pop`` the way the library counts, see below). Lists are
loopwatch's lists (per ``list_id``, ordered by ``position``, cut to ``k``); the libraries have
one list per user. "List length" below is the length after the cut.

``compat="recbole"`` — columns arp, aplt, gini, entropy, coverage.

* φ: RecBole's ``data.count_items`` is ``Counter`` of the item column of the *training*
  interactions: ``Popularity.from_interactions(train, count="interactions")``.
* Item count ``N_rb``: RecBole divides Gini and ItemCoverage by ``data.num_items`` =
  ``train_data._dataset.num(item_id)`` = ``len(field2id_token[item_id])``, i.e. the number of
  distinct item tokens of the whole dataset after filtering (train, valid and test, plus the
  item feature file) **plus one for the padding token "[PAD]"** (id 0, never recommended).
  loopwatch: ``N_rb = |U| + 1``, U as usual (the ``catalog`` if given, else popularity items |
  recommended items). Pass ``catalog=`` the dataset's item set to reproduce RecBole exactly.
* arp (AveragePopularity@k): per list ``cumsum(φ)[k-1] / k``; cold items (not in the training
  counter) count φ = 0 (``item_count.get(row[j], 0)``); mean over lists. RecBole's lists are
  rows of a top-k matrix, so they always hold ≥ k items and "divide by k" = "divide by the
  list length": loopwatch divides by the list length (= k whenever the list has ≥ k items).
  This equals loopwatch's default arp.
* aplt (TailPercentage@k): per list (occurrences in T) / list length, duplicates counted;
  mean over lists. The tail set T is built over the items **with φ > 0** only (the keys of the
  training counter, restricted to U), never cold items:
  - ``tail_ratio=r`` (0 < r <= 1, RecBole ``tail_ratio`` <= 1): sort those items by
    ``(φ, item)`` **ascending** (Python tuple order; ties by item ascending) and take the first
    ``max(int(n * r), 1)`` items, n = their number. ``int`` truncates the IEEE double product
    ``n * r`` (Rust: ``((n as f64) * r) as usize`` — same value, e.g. int(100 * 0.29) = 28).
    Note the differences from loopwatch's tail_ratio rule: no cold/zero-φ items, and ties at
    the cut go to the *smaller* item ids (loopwatch's rule keeps the larger ones).
  - ``max_count=m`` (RecBole ``tail_ratio`` > 1, read as a threshold): T = items with
    ``0 < φ <= m``. RecBole only takes this branch for m > 1; loopwatch applies it for any m.
  - neither given: RecBole's default ``tail_ratio = 0.1`` (its ``__init__``: None or <= 0 →
    0.1); ``head_share`` is not used by the RecBole aplt.
  - Ties: RecBole's item ids are its internal remapped ids (``pd.factorize`` order of first
    appearance), so ties at the cut match only when the ids given to loopwatch sort like
    RecBole's internal ids (true when passing RecBole's own ``rec.items`` ids).
* gini (GiniIndex@k): c = occurrences per recommended item in the bucket's cut lists, sorted
  ascending, at ranks ``N_rb - r + 1 .. N_rb`` (r = distinct recommended items):
  ``Σ (2·idx - N_rb - 1)·c / Σc / N_rb``, i.e. loopwatch's Gini over U plus one extra zero
  (the padding item). RecBole's ``total_num`` is rows * k = Σc for its full lists;
  loopwatch uses Σc (the occurrences actually counted) also for shorter lists.
* entropy (ShannonEntropy@k): ``Σ -p·ln p / r`` with p = c / Σc over the recommended items:
  **natural log**, and divided by the number r of distinct recommended items (not by ln N).
* coverage (ItemCoverage@k): distinct recommended items / ``N_rb``.

``compat="elliot"`` — columns arp, aplt, aclt.

* φ: Elliot's ``Popularity.get_pop_items`` is
  ``sp_i_train.astype(bool).sum(axis=0)``: the number of **distinct training users** per item
  (its train_dict holds one entry per (user, item)). Build ``pop`` with ``count="users"``.
  Its universe is the training items only (``self.items`` comes from train_dict): every item
  there has φ >= 1.
* Short head / long tail (``get_short_head`` / ``get_long_tail``): items with φ > 0 sorted by φ
  descending (``sorted(..., key=itemgetter(1), reverse=True)``, stable); ``limit =
  transactions * pop_ratio`` with ``transactions`` = Σ over users of distinct items = Σφ;
  append items while ``limit -= φ`` stays > 0, the item that brings it to <= 0 included. That is
  loopwatch's head_share rule (``pop_ratio = head_share``, default 0.8 in both; the float
  subtraction of integers is exact below 2^53, so "limit - cum <= 0" ⇔ "cum >= h·Σφ").
  Γ = the items with **φ > 0** not in the head: cold and zero-φ items are **never** in Elliot's
  long tail (they are not in ``_sorted_pop_items``), unlike loopwatch's Γ. Σφ = 0 → empty head
  and empty Γ (Elliot: no items, the loop never runs).
  Ties: Elliot keeps its internal item order (``private_items``, the iteration order of a Python
  set), loopwatch breaks ties by item ascending; they agree when that order is ascending (the
  transcription below takes the item order as an argument).
* ``tail_ratio`` / ``max_count`` have no Elliot counterpart: ``compat="elliot"`` with either →
  ConfigError.
* arp (ARP): per list ``sum(pop_items[i] for i in list[:cutoff]) / len(list[:cutoff])`` —
  duplicates counted, divided by the list length after the cut (not by k); mean over lists
  (``np.average`` of the per-user values). Cold items raise ``KeyError`` in Elliot (it never
  recommends them); loopwatch counts φ = 0. Equals loopwatch's default arp.
* aplt (APLT): per list ``len(set(list[:cutoff]) & set(long_tail)) / len(list[:cutoff])`` —
  **distinct** Γ items in the numerator, the list length *with* duplicates in the denominator.
* aclt (ACLT): per list ``len(set(list[:cutoff]) & set(long_tail))`` — distinct Γ items.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

# --- RecBole: RUCAIBox/RecBole recbole/evaluator/metrics.py ---------------------------------
#
# ``item_matrix``: the ``rec.items`` matrix, one row per user, the top max(topk) item ids.
# Each metric at ``k`` uses ``item_matrix[:, :k]`` (coverage, entropy, gini) or column k-1 of
# a cumulative average (average popularity, tail percentage), as ``calculate_metric`` and
# ``topk_result`` do.


def recbole_num_items(dataset_items: Iterable[Any]) -> int:
    """``data.num_items`` = ``Dataset.num(item_id)`` = ``len(field2id_token[item_id])``; the
    token list is ``["[PAD]"] + list(pd.factorize(tokens)[1])`` (``Dataset._remap``)."""
    return len(set(dataset_items)) + 1


def recbole_item_coverage(item_matrix: np.ndarray, num_items: int, k: int) -> float:
    """ItemCoverage.get_coverage on ``item_matrix[:, :k]``:
    ``unique_count = np.unique(item_matrix).shape[0]; return unique_count / num_items``."""
    item_matrix = item_matrix[:, :k]
    unique_count = np.unique(item_matrix).shape[0]
    return float(unique_count / num_items)


def recbole_average_popularity(
    item_matrix: np.ndarray, item_count: Mapping[Any, int], k: int
) -> float:
    """AveragePopularity: ``get_pop`` (``value[i][j] = item_count.get(row[j], 0)``), then
    ``metric_info`` = ``values.cumsum(axis=1) / np.arange(1, values.shape[1] + 1)``, then
    ``topk_result``: ``value.mean(axis=0)[k - 1]``."""
    value = np.zeros_like(item_matrix)
    for i in range(item_matrix.shape[0]):
        row = item_matrix[i, :]
        for j in range(row.shape[0]):
            value[i][j] = item_count.get(row[j], 0)
    result = value.cumsum(axis=1) / np.arange(1, value.shape[1] + 1)
    return float(result.mean(axis=0)[k - 1])


def recbole_shannon_entropy(item_matrix: np.ndarray, k: int) -> float:
    """ShannonEntropy.get_entropy on ``item_matrix[:, :k]``: ``p = cnt / total_num`` with
    ``total_num = rows * k``; ``result += -p * np.log(p)``; ``return result / len(item_count)``."""
    item_matrix = item_matrix[:, :k]
    item_count = dict(Counter(item_matrix.flatten()))
    total_num = item_matrix.shape[0] * item_matrix.shape[1]
    result = 0.0
    for cnt in item_count.values():
        p = cnt / total_num
        result += -p * np.log(p)
    return float(result / len(item_count))


def recbole_gini_index(item_matrix: np.ndarray, num_items: int, k: int) -> float:
    """GiniIndex.get_gini on ``item_matrix[:, :k]``: sorted counts of the recommended items at
    ``idx = np.arange(num_items - num_recommended_items + 1, num_items + 1)``;
    ``np.sum((2 * idx - num_items - 1) * sorted_count) / total_num / num_items``."""
    item_matrix = item_matrix[:, :k]
    item_count = dict(Counter(item_matrix.flatten()))
    sorted_count = np.array(sorted(item_count.values()))
    num_recommended_items = sorted_count.shape[0]
    total_num = item_matrix.shape[0] * item_matrix.shape[1]
    idx = np.arange(num_items - num_recommended_items + 1, num_items + 1)
    gini_index = np.sum((2 * idx - num_items - 1) * sorted_count) / total_num
    gini_index /= num_items
    return float(gini_index)


def recbole_tail_items(count_items: Mapping[Any, int], tail: float | None) -> list[Any]:
    """TailPercentage.__init__ (``tail`` None or <= 0 -> 0.1) and the first half of
    ``get_tail``: ``tail > 1`` -> ``[item for item, cnt in count_items.items() if cnt <= tail]``;
    else ``sorted(count_items.items(), key=lambda kv: (kv[1], kv[0]))`` cut to
    ``max(int(len(count_items) * tail), 1)``."""
    if tail is None or tail <= 0:
        tail = 0.1
    if tail > 1:
        return [item for item, cnt in count_items.items() if cnt <= tail]
    ordered = sorted(count_items.items(), key=lambda kv: (kv[1], kv[0]))
    cut = max(int(len(ordered) * tail), 1)
    return [item for item, _cnt in ordered[:cut]]


def recbole_tail_percentage(
    item_matrix: np.ndarray, count_items: Mapping[Any, int], k: int, tail: float | None
) -> float:
    """TailPercentage: ``value[i][j] = 1 if row[j] in tail_items else 0``, then the same
    cumulative average and ``topk_result`` as AveragePopularity."""
    tail_items = recbole_tail_items(count_items, tail)
    value = np.zeros_like(item_matrix)
    for i in range(item_matrix.shape[0]):
        row = item_matrix[i, :]
        for j in range(row.shape[0]):
            value[i][j] = 1 if row[j] in tail_items else 0
    result = value.cumsum(axis=1) / np.arange(1, value.shape[1] + 1)
    return float(result.mean(axis=0)[k - 1])


# --- Elliot: sisinflab/elliot v0.3.1 ---------------------------------------------------------
#
# ``recommendations``: ``{user: [(item, score), ...]}`` best first, as Elliot passes them.
# ``train_dict``: ``{user: {item: rating}}`` (Elliot's ``DataSet.train_dict``).


class ElliotPopularity:
    """``elliot/evaluation/popularity_utils.py`` class ``Popularity``.

    ``get_pop_items``: ``{private_items[p]: pop for p, pop in
    enumerate(sp_i_train.astype(bool).sum(axis=0).tolist()[0])}`` — distinct users per item, in
    ``private_items`` order. ``items`` is that order (Elliot: ``list({k for a in
    train_dict.values() for k in a.keys()})``, a set's iteration order); it decides ties.
    """

    def __init__(
        self,
        train_dict: Mapping[Any, Mapping[Any, Any]],
        items: Sequence[Any],
        pop_ratio: float = 0.8,
    ) -> None:
        self._train_dict = train_dict
        self._items = list(items)
        self._pop_ratio = pop_ratio
        # dataset.py: self.transactions = sum(len(v) for v in self.train_dict.values())
        self.transactions = sum(len(v) for v in train_dict.values())

    def get_pop_items(self) -> dict[Any, int]:
        users_per_item = Counter(i for items in self._train_dict.values() for i in items)
        return {i: users_per_item[i] for i in self._items}

    def get_sorted_pop_items(self) -> dict[Any, int]:
        pop_items = self.get_pop_items()
        return dict(sorted(pop_items.items(), key=operator.itemgetter(1), reverse=True))

    def get_short_head(self) -> list[Any]:
        sorted_pop_items = self.get_sorted_pop_items()
        short_head_limit = self.transactions * self._pop_ratio
        short_head = []
        for i, pop in sorted_pop_items.items():
            short_head.append(i)
            short_head_limit -= pop
            if short_head_limit <= 0:
                break
        return short_head

    def get_long_tail(self) -> list[Any]:
        short_head = set(self.get_short_head())
        return [i for i in self.get_sorted_pop_items() if i not in short_head]


def _elliot_eval(per_user: Mapping[Any, float]) -> float:
    """base_metric.py ``BaseMetric.eval``:
    ``np.average(list(self.eval_user_metric().values()))``."""
    return float(np.average(list(per_user.values())))


def elliot_arp(
    recommendations: Mapping[Any, Sequence[tuple[Any, float]]],
    cutoff: int,
    pop_items: Mapping[Any, int],
) -> float:
    """bias/arp/arp.py ``__user_arp``: ``sum([pop_items[i] for i, v in
    user_recommendations[:cutoff]]) / len(user_recommendations[:cutoff])``."""
    return _elliot_eval(
        {
            u: sum([pop_items[i] for i, _v in recs[:cutoff]]) / len(recs[:cutoff])
            for u, recs in recommendations.items()
        }
    )


def elliot_aplt(
    recommendations: Mapping[Any, Sequence[tuple[Any, float]]],
    cutoff: int,
    long_tail: Sequence[Any],
) -> float:
    """bias/aplt/aplt.py ``__user_aplt``: ``len(set([i for i, v in user_recommendations[:cutoff]])
    & set(long_tail)) / len(user_recommendations[:cutoff])``."""
    return _elliot_eval(
        {
            u: len({i for i, _v in recs[:cutoff]} & set(long_tail)) / len(recs[:cutoff])
            for u, recs in recommendations.items()
        }
    )


def elliot_aclt(
    recommendations: Mapping[Any, Sequence[tuple[Any, float]]],
    cutoff: int,
    long_tail: Sequence[Any],
) -> float:
    """bias/aclt/aclt.py ``__user_aclt``: ``len(set([i for i, v in user_recommendations[:cutoff]])
    & set(long_tail))``."""
    return _elliot_eval(
        {
            u: len({i for i, _v in recs[:cutoff]} & set(long_tail))
            for u, recs in recommendations.items()
        }
    )
