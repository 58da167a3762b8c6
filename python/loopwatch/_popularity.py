"""Popularity, long tail and feedback-loop metrics (SPEC §5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from . import _core
from ._args import compact_duration, source_arg
from .errors import ConfigError

Count = Literal["interactions", "users"]
Compat = Literal["recbole", "elliot"]
Duration = str | int | dt.timedelta


def _duration(value: Duration | None, name: str) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a duration or an integer, got {value!r}")
    if isinstance(value, dt.timedelta):
        return compact_duration(value)
    if isinstance(value, str | int):
        return value
    raise ConfigError(f"{name}: expected a duration string, timedelta or integer, got {value!r}")


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Popularity:
    """Popularity φ(i) of each item, fixed or over a trailing window.

    φ(i) = number of rows of item ``i`` (``count="interactions"``) or of distinct non-null
    users (``count="users"``, needs ``user``). Rows with a null item are ignored and counted in
    :attr:`ignored_rows`. With ``user``, φ_users (distinct users per item) and ``N_users``
    (distinct non-null users of the rows with an item) feed ``novelty``.

    Build one with :meth:`from_interactions` or :meth:`trailing`.
    """

    def __init__(self, inner: _core.PopularitySource) -> None:
        self._inner = inner

    @classmethod
    def from_interactions(
        cls,
        interactions: Any,
        *,
        item: str = "item_id",
        user: str | None = None,
        count: Count = "interactions",
    ) -> Popularity:
        """Fixed ("training") popularity from every row of ``interactions``.

        Example::

            pop = lw.Popularity.from_interactions(clicks, item="item_id")
        """
        return cls(
            _core.PopularitySource(source_arg(interactions, "interactions"), item, user, count)
        )

    @classmethod
    def trailing(
        cls,
        interactions: Any,
        *,
        lookback: Duration,
        item: str = "item_id",
        time: str = "ts",
        user: str | None = None,
        count: Count = "interactions",
    ) -> Popularity:
        """Popularity over a trailing window ending at the start of each time bucket.

        For a bucket starting at ``s``, φ counts the interactions with
        ``s - lookback <= t < s`` (``N_users`` too). ``lookback`` must be a whole multiple of the
        ``every`` of the metrics call (ConfigError otherwise); rows with a null time never fall
        in a window but their items still belong to the universe. A list with a null time sees an
        empty window.

        Example::

            pop = lw.Popularity.trailing(clicks, lookback="28d", time="ts")
        """
        lb = _duration(lookback, "lookback")
        return cls(
            _core.PopularitySource(
                source_arg(interactions, "interactions"), item, user, count, time, lb
            )
        )

    @property
    def ignored_rows(self) -> int:
        """Rows with a null item (ignored)."""
        return self._inner.ignored_rows

    @property
    def is_trailing(self) -> bool:
        return self._inner.is_trailing

    @property
    def count(self) -> str:
        return self._inner.count

    @property
    def n_items(self) -> int:
        """Distinct non-null items of the source (at any time)."""
        return self._inner.n_items

    def __repr__(self) -> str:
        kind = "trailing" if self.is_trailing else "fixed"
        return f"Popularity({kind}, count={self.count!r}, items={self.n_items})"


def _metric_args(
    pop: Popularity,
    list_id: str | Sequence[str],
    item: str,
    position: str | None,
    k: int | None,
    time: str | None,
    every: Duration | None,
    by: str | Sequence[str] | None,
    catalog: Any,
    head_share: float,
    tail_ratio: float | None,
    max_count: int | None,
    compat: Compat | None,
) -> tuple[Any, ...]:
    if not isinstance(pop, Popularity):
        raise ConfigError(f"pop: expected a loopwatch.Popularity, got {type(pop).__name__}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ConfigError(f"k: expected an integer k >= 1, got {k!r}")
    return (
        pop._inner,
        _names(list_id),
        item,
        position,
        k,
        time,
        _duration(every, "every"),
        _names(by),
        None if catalog is None else source_arg(catalog, "catalog"),
        float(head_share),
        None if tail_ratio is None else float(tail_ratio),
        max_count,
        compat,
    )


def popularity_metrics(
    recommendations: Any,
    pop: Popularity,
    *,
    list_id: str | Sequence[str] = "request_id",
    item: str = "item_id",
    position: str | None = None,
    k: int | None = None,
    time: str | None = None,
    every: Duration | None = None,
    by: str | Sequence[str] | None = None,
    catalog: Any = None,
    head_share: float = 0.8,
    tail_ratio: float | None = None,
    max_count: int | None = None,
    compat: Compat | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Popularity-bias metrics of recommendation lists, per time bucket and segment.

    **Lists.** Rows are grouped by ``list_id`` (one or more columns; a null → DataError),
    ordered by ``position`` (nulls last; ties and ``position=None``: input order) and cut to the
    first ``k`` (``k < 1`` → ConfigError). A list's bucket (``floor(t / every) * every`` of
    ``time``) and ``by`` values come from its first row in input order. A null item →
    DataError. Duplicates within a list are kept.

    **Universe U** = the ``catalog`` items (a table with the ``item`` column) if given, else
    every item of the popularity source ∪ every recommended item. A recommended item missing
    from a given catalog → DataError.

    **Long tail Γ** (per bucket for a trailing popularity): sort U by φ descending, ties by
    item ascending. Default ``head_share`` rule: head = shortest prefix whose φ sum
    ``>= head_share × Σφ`` (the crossing item is in the head; Σφ = 0 → empty head), Γ = U \\
    head (zero-φ and cold items included). ``tail_ratio=r``: Γ = the last
    ``max(floor(r |U|), 1)`` items of that order. ``max_count=m``: Γ = items with ``φ <= m``.

    **Columns** (``[bucket_start]``, ``*by``, then): ``n_lists``; with L_l the list's items
    after the cut and ``n`` lists,

    * ``arp`` = (1/n) Σ_l mean_{i∈L_l} φ(i)
    * ``aplt`` = (1/n) Σ_l |{occurrences of L_l in Γ}| / |L_l|; ``aclt`` = (1/n) Σ_l
      |{occurrences in Γ}|
    * ``long_tail_coverage`` = distinct recommended Γ items / |Γ| (null when Γ is empty)
    * ``coverage`` = distinct recommended items / |U|
    * ``gini`` = Σ_j (2j − |U| − 1) c_(j) / (|U| Σc), c_i = occurrences of item i in the
      group's lists, over all of U (zeros included), sorted ascending
    * ``entropy`` = −Σ p log2 p, p = c_i / Σc over c_i > 0; ``entropy_norm`` = entropy /
      log2 |U| (null when |U| <= 1)
    * ``novelty`` = (1/n) Σ_l mean_{i∈L_l} −log2(max(φ_users(i), 1) / N_users) (null without a
      ``user`` column in the popularity, or when N_users = 0)
    * ``cold_share`` = occurrences with φ = 0 / all occurrences of the group (pooled).

    **compat="recbole"** (RecBole's AveragePopularity, TailPercentage, GiniIndex,
    ShannonEntropy, ItemCoverage): ``arp`` unchanged; ``aplt`` uses RecBole's tail T over the
    items of U with φ > 0 only: ``max_count=m`` → φ <= m, else ratio r (``tail_ratio``, default
    0.1) → the first ``max(int(n r), 1)`` items in (φ, item) *ascending* order; ``gini`` and
    ``coverage`` divide by |U| + 1 (RecBole counts its "[PAD]" item); ``entropy`` uses the
    natural log divided by the number of distinct recommended items. **compat="elliot"**
    (Elliot's ARP, APLT, ACLT): Γ = items with φ > 0 outside the head_share head (cold and
    zero-φ items are never in Elliot's tail); ``aplt`` and ``aclt`` count *distinct* Γ items
    per list (aplt still divides by the list length); ``tail_ratio``/``max_count`` →
    ConfigError. Other columns are unchanged. Build ``pop`` the way the library counts
    (RecBole: interactions, Elliot: ``count="users"``).

    Output rows are sorted by ``bucket_start`` then ``by``, nulls last; an empty input gives
    a zero-row table with the full schema. Results are identical at any ``threads`` and batch
    split.

    **Parquet paths** (a file, a directory of parts, globs, or a list of them) stream in
    bounded memory: only the columns used are read, batch by batch, and a list's rows may lie
    in any files. Over the memory budget (``LOOPWATCH_MEMORY_LIMIT``, e.g. ``"2GiB"``, else a
    quarter of RAM) the rows are split by list id into partitions spilled to a private
    temporary directory (removed afterwards), each counted whole; results are identical to
    the same rows given as a table.

    Example::

        pop = lw.Popularity.from_interactions(clicks)
        lw.popularity_metrics(impressions, pop, list_id="request_id", time="ts", every="1h")
    """
    args = _metric_args(
        pop,
        list_id,
        item,
        position,
        k,
        time,
        every,
        by,
        catalog,
        head_share,
        tail_ratio,
        max_count,
        compat,
    )
    run: Any = _core.popularity_metrics  # called with the argument tuple built above
    table: pa.Table = run(source_arg(recommendations, "recommendations"), *args, threads)
    return table


class PopularityMetricsState:
    """The mergeable state behind :func:`popularity_metrics` (SPEC §6).

    Same arguments as :func:`popularity_metrics` (without the table). ``update(table)`` adds
    the lists of a table (a list must lie within one update: rows of one list id given to two
    updates count as two lists), ``merge(other)`` adds another state's counts (refused with
    ConfigError when the options, popularity, catalog or grouping differ), ``finalize()``
    returns the same table as :func:`popularity_metrics` over all updates, and
    ``to_bytes()`` / ``from_bytes()`` round-trip it (the popularity travels inside).

    The state keeps, per (bucket, segment), the number of lists and integer counts per
    (list length, item); every metric is exact arithmetic on them, so any split gives the
    same result.
    """

    def __init__(
        self,
        pop: Popularity,
        *,
        list_id: str | Sequence[str] = "request_id",
        item: str = "item_id",
        position: str | None = None,
        k: int | None = None,
        time: str | None = None,
        every: Duration | None = None,
        by: str | Sequence[str] | None = None,
        catalog: Any = None,
        head_share: float = 0.8,
        tail_ratio: float | None = None,
        max_count: int | None = None,
        compat: Compat | None = None,
    ) -> None:
        args = _metric_args(
            pop,
            list_id,
            item,
            position,
            k,
            time,
            every,
            by,
            catalog,
            head_share,
            tail_ratio,
            max_count,
            compat,
        )
        self._inner = _core.PopularityMetricsState(*args)

    def update(self, recommendations: Any, *, threads: int | None = None) -> PopularityMetricsState:
        """Add the lists of ``recommendations``; returns ``self``.

        Parquet paths stream in bounded memory as in :func:`popularity_metrics` (a list may
        span their files; split by list id into partitions spilled to a temporary directory
        over ``LOOPWATCH_MEMORY_LIMIT`` / a quarter of RAM). A failed update adds nothing.
        """
        self._inner.update(source_arg(recommendations, "recommendations"), threads)
        return self

    def merge(self, other: PopularityMetricsState) -> PopularityMetricsState:
        """Add ``other``'s counts (associative, commutative); returns ``self``."""
        if not isinstance(other, PopularityMetricsState):
            raise ConfigError("merge: expected a PopularityMetricsState")
        if other is self:  # merging a state into itself: merge a copy
            other = type(self).from_bytes(self.to_bytes())
        self._inner.merge(other._inner)
        return self

    def finalize(self) -> pa.Table:
        """The metrics table (see :func:`popularity_metrics`)."""
        table: pa.Table = self._inner.finalize()
        return table

    def to_bytes(self) -> bytes:
        """Versioned bytes of the state, popularity included."""
        return self._inner.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> PopularityMetricsState:
        """Read bytes written by :meth:`to_bytes` (refuses other kinds and versions)."""
        state = cls.__new__(cls)
        state._inner = _core.PopularityMetricsState.from_bytes(data)
        return state


@dataclass(frozen=True)
class HitRateByPopularity:
    """Result of :func:`hit_rate_by_popularity`."""

    table: pa.Table
    head_rate: float | None
    tail_rate: float | None
    head_tail_ratio: float | None


def hit_rate_by_popularity(
    labeled: Any,
    pop: Popularity,
    *,
    label: str,
    item: str = "item_id",
    buckets: Literal["log10"] | int = "log10",
    time: str | None = None,
    every: Duration | None = None,
    head_share: float = 0.8,
) -> HitRateByPopularity:
    """Positive rate of predictions grouped by the popularity of their item.

    Each prediction gets φ of its item (for a trailing popularity: the window of its own row's
    bucket). ``buckets="log10"``: φ = 0 → "0", 1–9 → "1-9", 10–99 → "10-99", …; an int ``q``:
    edges e_j = φ at 0-based rank ceil(j n / q) − 1 of the φ-ascending predictions, j = 1..q,
    deduplicated; a prediction goes to the first j with φ <= e_j, named "<=e_1", "e_1-e_2", ….
    Table columns: ``bucket``, ``pop_min``, ``pop_max``, ``predictions``, ``labeled``,
    ``positives``, ``positive_rate`` (over labeled; null when none), sorted by popularity; only
    non-empty buckets. ``label`` holds 0/1/null (else DataError); a null item → DataError.

    ``head_rate`` / ``tail_rate``: positive rate of the labeled predictions whose item is in /
    out of the head_share head over U = popularity items ∪ labeled items;
    ``head_tail_ratio`` = head_rate / tail_rate (null when either is null or tail_rate = 0).

    Example::

        hr = lw.hit_rate_by_popularity(labeled, pop, label="label_30m")
        hr.table, hr.head_tail_ratio
    """
    if not isinstance(pop, Popularity):
        raise ConfigError(f"pop: expected a loopwatch.Popularity, got {type(pop).__name__}")
    if isinstance(buckets, str):
        if buckets != "log10":
            raise ConfigError(f"buckets: expected 'log10' or an int >= 1, got {buckets!r}")
        quantiles = None
    elif isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1:
        raise ConfigError(f"buckets: expected 'log10' or an int >= 1, got {buckets!r}")
    else:
        quantiles = buckets
    table, head, tail, ratio = _core.hit_rate_by_popularity(
        source_arg(labeled, "labeled"),
        pop._inner,
        label,
        item,
        quantiles,
        time,
        _duration(every, "every"),
        float(head_share),
    )
    return HitRateByPopularity(table, head, tail, ratio)
