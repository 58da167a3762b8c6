"""A slow, obviously-correct reference of SPEC §5: popularity, long tail and hit rate.

Mirrors, rule by rule, ``/work/contract.md`` §5 for ``lw.Popularity.from_interactions``,
``lw.Popularity.trailing``, ``lw.popularity_metrics`` and ``lw.hit_rate_by_popularity``. Inputs
are ``pyarrow`` tables (anything ``pa.table`` accepts); outputs are ``pyarrow`` tables with the
contract's exact schema. Everything is plain loops, dicts and sets over Python values: a trailing
popularity recounts its window from the raw rows for every bucket, the long tail is recomputed
for every bucket, nothing is cached or vectorized, so each rule can be checked by reading it.

Times are handled as Python ints: nanoseconds since the epoch for timestamp columns (so two
columns of different units compare as instants), the raw values for integer time columns. The
``bucket_start`` written out is converted back to the recommendations' time column type.

Decisions where the contract is silent (flagged to the Rust engineer; change both sides together):

* the items "in the popularity source" are the non-null items of every interaction row, at any
  time (a trailing source too, rows with a null time included); ``N_users`` counts the distinct
  non-null users of the rows whose item is not null;
* under a trailing popularity a list whose bucket is null (null time) sees an empty window:
  every item has ``φ = 0`` and ``N_users = 0``; ``novelty`` is null when ``N_users = 0``;
* ``Σφ`` of the head_share rule is summed over ``U`` (popularity items outside a given catalog
  do not count);
* within a list, rows are ordered by ``position`` ascending with null positions last, ties in
  input order;
* ``cold_share`` pools the bucket: occurrences with ``φ = 0`` / all occurrences (not a mean of
  per-list shares);
* ``hit_rate_by_popularity`` lists only non-empty buckets; a null item there is an error like in
  ``popularity_metrics``; a prediction's popularity bucket uses its own row's time.

Compat semantics (``compat="recbole"`` / ``"elliot"``) are documented, with the libraries'
source cited, in ``reference_compat.py``; this module implements them as that note says.
Errors are loopwatch's own classes (``loopwatch.errors``): ``SchemaError`` for a missing column
or unusable type, ``ConfigError`` for a bad argument, ``DataError`` for bad values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from loopwatch.errors import ConfigError, DataError, SchemaError

# --- schemas -------------------------------------------------------------------------------

METRIC_COLUMNS = [
    "n_lists",
    "arp",
    "aplt",
    "aclt",
    "long_tail_coverage",
    "coverage",
    "gini",
    "entropy",
    "entropy_norm",
    "novelty",
    "cold_share",
]
HIT_RATE_SCHEMA = pa.schema(
    [
        ("bucket", pa.string()),
        ("pop_min", pa.int64()),
        ("pop_max", pa.int64()),
        ("predictions", pa.int64()),
        ("labeled", pa.int64()),
        ("positives", pa.int64()),
        ("positive_rate", pa.float64()),
    ]
)
COMPATS = (None, "recbole", "elliot")
RECBOLE_DEFAULT_TAIL_RATIO = 0.1  # TailPercentage.__init__: tail_ratio None or <= 0 -> 0.1

# --- values and times ----------------------------------------------------------------------

UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
DURATION_NS = {
    "d": 86_400 * UNIT_NS["s"],
    "h": 3_600 * UNIT_NS["s"],
    "m": 60 * UNIT_NS["s"],
    "s": UNIT_NS["s"],
    "ms": UNIT_NS["ms"],
    "us": UNIT_NS["us"],
    "ns": 1,
}
_DURATION_PART = re.compile(r"(\d+)(ms|us|ns|d|h|m|s)")


def column_values(table: pa.Table, name: str) -> list[Any]:
    """Plain Python values of a column: dictionaries decoded, timestamps as ints in their unit."""
    if name not in table.column_names:
        raise SchemaError(f"column {name!r} not found; columns: {table.column_names}")
    col = table.column(name)
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
    elif pa.types.is_timestamp(t) or pa.types.is_duration(t):
        col = col.cast(pa.int64())
    return col.to_pylist()


def value_type(t: pa.DataType) -> pa.DataType:
    """The output type of a ``by`` column: its own type, a dictionary's value type."""
    return t.value_type if pa.types.is_dictionary(t) else t


@dataclass(frozen=True)
class TimeAxis:
    """How a time column maps to the common integer axis (ns for timestamps)."""

    arrow_type: pa.DataType
    factor: int  # axis ticks per stored unit (1 for integer columns)

    @property
    def is_integer(self) -> bool:
        return not pa.types.is_timestamp(self.arrow_type)


def time_axis(table: pa.Table, name: str) -> TimeAxis:
    t = table.schema.field(name).type
    if pa.types.is_timestamp(t):
        return TimeAxis(t, UNIT_NS[t.unit])
    if pa.types.is_integer(t):
        return TimeAxis(t, 1)
    raise SchemaError(f"time column {name!r}: expected a timestamp or integer column, got {t}")


def time_ticks(table: pa.Table, name: str) -> list[int | None]:
    """A time column on the common axis: ns since the epoch, or the raw integers."""
    axis = time_axis(table, name)
    return [None if v is None else v * axis.factor for v in column_values(table, name)]


def duration_ticks(value: Any, *, integer_time: bool, what: str) -> int:
    """``every`` / ``lookback`` on the common axis (ns, or the raw integer unit)."""
    if integer_time:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{what}: an integer time column needs an integer, got {value!r}")
        return value
    if isinstance(value, dt.timedelta):
        return (value // dt.timedelta(microseconds=1)) * UNIT_NS["us"]
    if isinstance(value, str):
        parts = _DURATION_PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ConfigError(f"{what}: cannot parse duration {value!r}")
        return sum(int(n) * DURATION_NS[u] for n, u in parts)
    raise ConfigError(f"{what}: expected a duration string or timedelta, got {value!r}")


def bucket_of(t: int | None, every: int | None) -> int | None:
    """Epoch-aligned tumbling bucket: ``floor(t / every) * every`` (Python ``//`` floors)."""
    if t is None or every is None:
        return None
    return t // every * every


def sort_key(v: Any) -> tuple[bool, Any]:
    """Ascending with nulls last."""
    return (v is None, 0 if v is None else v)


# --- popularity ----------------------------------------------------------------------------


@dataclass
class PopState:
    """Popularity as seen by one bucket: φ per item, φ_users per item, N_users."""

    phi: dict[Any, int]
    phi_users: dict[Any, int] | None  # None without a user column
    n_users: int | None

    def of(self, item: Any) -> int:
        return self.phi.get(item, 0)


def count_popularity(rows: Iterable[tuple[Any, Any]], count: str, has_users: bool) -> PopState:
    """φ (rows per item, or distinct non-null users per item), φ_users and N_users."""
    n_rows: dict[Any, int] = {}
    users_of: dict[Any, set[Any]] = {}
    all_users: set[Any] = set()
    for item, user in rows:
        n_rows[item] = n_rows.get(item, 0) + 1
        users_of.setdefault(item, set())
        if user is not None:
            users_of[item].add(user)
            all_users.add(user)
    if count == "interactions":
        phi = n_rows
    else:
        phi = {i: len(us) for i, us in users_of.items()}
    if not has_users:
        return PopState(phi, None, None)
    return PopState(phi, {i: len(us) for i, us in users_of.items()}, len(all_users))


@dataclass
class RefPopularity:
    """``lw.Popularity`` as raw rows; φ is recounted from them whenever it is needed."""

    count: str
    has_users: bool
    rows: list[tuple[Any, Any, int | None]]  # (item, user, time on the axis), item not null
    ignored_rows: int
    lookback: int | None = None  # None: fixed popularity
    axis: TimeAxis | None = None

    @staticmethod
    def _read(
        interactions: Any, item: str, user: str | None, time: str | None, count: str
    ) -> tuple[list[tuple[Any, Any, int | None]], int]:
        if count not in ("interactions", "users"):
            raise ConfigError(f"count: expected 'interactions' or 'users', got {count!r}")
        if count == "users" and user is None:
            raise ConfigError("count='users' needs the user column (user=...)")
        table = pa.table(interactions)
        items = column_values(table, item)
        users = column_values(table, user) if user else [None] * len(items)
        times = time_ticks(table, time) if time else [None] * len(items)
        rows = [(i, u, t) for i, u, t in zip(items, users, times, strict=True) if i is not None]
        return rows, len(items) - len(rows)

    @classmethod
    def from_interactions(
        cls,
        interactions: Any,
        *,
        item: str = "item_id",
        user: str | None = None,
        count: str = "interactions",
    ) -> RefPopularity:
        rows, ignored = cls._read(interactions, item, user, None, count)
        return cls(count=count, has_users=user is not None, rows=rows, ignored_rows=ignored)

    @classmethod
    def trailing(
        cls,
        interactions: Any,
        *,
        lookback: Any,
        item: str = "item_id",
        time: str = "ts",
        user: str | None = None,
        count: str = "interactions",
    ) -> RefPopularity:
        table = pa.table(interactions)
        axis = time_axis(table, time)
        ticks = duration_ticks(lookback, integer_time=axis.is_integer, what="lookback")
        if ticks <= 0:
            raise ConfigError(f"lookback: must be positive, got {lookback!r}")
        rows, ignored = cls._read(table, item, user, time, count)
        return cls(count, user is not None, rows, ignored, lookback=ticks, axis=axis)

    @property
    def is_trailing(self) -> bool:
        return self.lookback is not None

    def items(self) -> set[Any]:
        """Every item of the source (any time)."""
        return {i for i, _, _ in self.rows}

    def state(self, bucket: int | None) -> PopState:
        """Fixed: every row. Trailing: the rows with ``bucket - lookback <= t < bucket``,
        counted from scratch (a null bucket sees no row)."""
        if self.lookback is None:
            rows = [(i, u) for i, u, _ in self.rows]
        elif bucket is None:
            rows = []
        else:
            lo = bucket - self.lookback
            rows = [(i, u) for i, u, t in self.rows if t is not None and lo <= t < bucket]
        return count_popularity(rows, self.count, self.has_users)


# --- long tail -----------------------------------------------------------------------------


def popularity_order(universe: Iterable[Any], phi: PopState) -> list[Any]:
    """U sorted by φ descending, ties by item ascending."""
    return sorted(universe, key=lambda i: (-phi.of(i), i))


def head_by_share(order: Sequence[Any], phi: PopState, head_share: float) -> set[Any]:
    """Shortest prefix of ``order`` whose φ sum >= head_share * Σφ (empty when Σφ = 0)."""
    total = sum(phi.of(i) for i in order)
    head: set[Any] = set()
    if total == 0:
        return head
    cum = 0
    for i in order:
        head.add(i)
        cum += phi.of(i)
        if cum >= head_share * total:
            break
    return head


def long_tail(
    universe: Iterable[Any],
    phi: PopState,
    *,
    head_share: float = 0.8,
    tail_ratio: float | None = None,
    max_count: int | None = None,
) -> set[Any]:
    """Γ by one of the three rules of the contract."""
    order = popularity_order(universe, phi)
    if max_count is not None:
        return {i for i in order if phi.of(i) <= max_count}
    if tail_ratio is not None:
        n = max(math.floor(tail_ratio * len(order)), 1)
        return set(order[max(len(order) - n, 0) :])
    return set(order) - head_by_share(order, phi, head_share)


def recbole_tail(
    universe: Iterable[Any], phi: PopState, tail_ratio: float | None, max_count: int | None
) -> set[Any]:
    """RecBole's TailPercentage set T over the items of U with φ > 0 (``count_items``):
    ``max_count`` -> φ <= max_count; else ratio r (default 0.1): the first max(int(n·r), 1)
    items in (φ, item) ascending order."""
    seen = [i for i in universe if phi.of(i) > 0]
    if max_count is not None:
        return {i for i in seen if phi.of(i) <= max_count}
    ratio = RECBOLE_DEFAULT_TAIL_RATIO if tail_ratio is None else tail_ratio
    ascending = sorted(seen, key=lambda i: (phi.of(i), i))
    return set(ascending[: max(int(len(ascending) * ratio), 1)])


def elliot_tail(universe: Iterable[Any], phi: PopState, head_share: float) -> set[Any]:
    """Elliot's long tail: the items with φ > 0 not in the short head (head_share rule)."""
    seen = [i for i in universe if phi.of(i) > 0]
    order = popularity_order(seen, phi)
    return set(order) - head_by_share(order, phi, head_share)


# --- recommendation lists ------------------------------------------------------------------


@dataclass
class RecList:
    bucket: int | None
    by_values: tuple[Any, ...]
    items: list[Any]  # ordered and cut to k, duplicates kept


def _as_list(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def build_lists(
    recs: pa.Table,
    *,
    list_id: list[str],
    item: str,
    position: str | None,
    k: int | None,
    time: str | None,
    every: int | None,
    by: list[str],
) -> list[RecList]:
    """Group rows by list_id; order by position (nulls last, ties in input order); cut to k.
    Bucket and by values come from the list's first row in input order."""
    items = column_values(recs, item)
    keys = list(zip(*(column_values(recs, c) for c in list_id), strict=True))
    positions = column_values(recs, position) if position else [None] * len(items)
    times = time_ticks(recs, time) if time else [None] * len(items)
    by_cols = [column_values(recs, c) for c in by]
    rows_of: dict[tuple[Any, ...], list[int]] = {}
    for r in range(len(items)):
        if any(v is None for v in keys[r]):
            raise DataError(f"list_id: null value at row {r}")
        if items[r] is None:
            raise DataError(f"{item}: null item at row {r}")
        rows_of.setdefault(keys[r], []).append(r)
    lists = []
    for rows in rows_of.values():
        first = rows[0]
        ordered = sorted(rows, key=lambda r: (*sort_key(positions[r]), r))
        if k is not None:
            ordered = ordered[:k]
        lists.append(
            RecList(
                bucket=bucket_of(times[first], every),
                by_values=tuple(col[first] for col in by_cols),
                items=[items[r] for r in ordered],
            )
        )
    return lists


# --- popularity_metrics --------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def group_metrics(
    lists: Sequence[RecList],
    state: PopState,
    universe: set[Any],
    *,
    head_share: float,
    tail_ratio: float | None,
    max_count: int | None,
    compat: str | None,
) -> dict[str, Any]:
    """Every metric column of one (bucket, by) group, straight from the contract's formulas."""
    gamma = long_tail(
        universe, state, head_share=head_share, tail_ratio=tail_ratio, max_count=max_count
    )
    n_u = len(universe)
    occurrences = [i for lst in lists for i in lst.items]
    counts = Counter(occurrences)
    total = len(occurrences)

    arp = _mean([_mean([state.of(i) for i in lst.items]) for lst in lists])
    aplt = _mean([sum(i in gamma for i in lst.items) / len(lst.items) for lst in lists])
    aclt = _mean([float(sum(i in gamma for i in lst.items)) for lst in lists])
    recommended = set(counts)
    ltc = len(recommended & gamma) / len(gamma) if gamma else None
    coverage = len(recommended) / n_u

    c_sorted = sorted(counts.get(i, 0) for i in universe)  # zeros included
    gini = sum((2 * j - n_u - 1) * c for j, c in enumerate(c_sorted, start=1)) / (n_u * total)
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    entropy_norm = entropy / math.log2(n_u) if n_u > 1 else None

    novelty = None
    if state.phi_users is not None and state.n_users:
        n_users, phi_u = state.n_users, state.phi_users
        novelty = _mean(
            [
                _mean([-math.log2(max(phi_u.get(i, 0), 1) / n_users) for i in lst.items])
                for lst in lists
            ]
        )
    cold_share = sum(1 for i in occurrences if state.of(i) == 0) / total

    if compat == "recbole":
        # Transcribed in reference_compat.py (RecBole recbole/evaluator/metrics.py).
        tail = recbole_tail(universe, state, tail_ratio, max_count)
        aplt = _mean([sum(i in tail for i in lst.items) / len(lst.items) for lst in lists])
        n_items = n_u + 1  # RecBole's data.num_items counts the "[PAD]" token
        c_padded = [0, *c_sorted]
        gini = sum((2 * j - n_items - 1) * c for j, c in enumerate(c_padded, start=1)) / (
            n_items * total
        )
        entropy = -sum(c / total * math.log(c / total) for c in counts.values()) / len(counts)
        coverage = len(recommended) / n_items
    elif compat == "elliot":
        # Transcribed in reference_compat.py (Elliot bias/aplt, bias/aclt, popularity_utils).
        tail = elliot_tail(universe, state, head_share)
        aplt = _mean([len(set(lst.items) & tail) / len(lst.items) for lst in lists])
        aclt = _mean([float(len(set(lst.items) & tail)) for lst in lists])

    return {
        "n_lists": len(lists),
        "arp": arp,
        "aplt": aplt,
        "aclt": aclt,
        "long_tail_coverage": ltc,
        "coverage": coverage,
        "gini": gini,
        "entropy": entropy,
        "entropy_norm": entropy_norm,
        "novelty": novelty,
        "cold_share": cold_share,
    }


def metrics_schema(recs: pa.Table, time: str | None, every: Any, by: list[str]) -> pa.Schema:
    fields = []
    if every is not None:
        assert time is not None
        fields.append(pa.field("bucket_start", recs.schema.field(time).type))
    fields += [pa.field(c, value_type(recs.schema.field(c).type)) for c in by]
    fields.append(pa.field("n_lists", pa.int64()))
    fields += [pa.field(c, pa.float64()) for c in METRIC_COLUMNS[1:]]
    return pa.schema(fields)


def check_tail_args(
    head_share: float, tail_ratio: float | None, max_count: int | None, compat: str | None
) -> None:
    if not 0 < head_share <= 1:
        raise ConfigError(f"head_share: expected a value in (0, 1], got {head_share!r}")
    if tail_ratio is not None and max_count is not None:
        raise ConfigError("tail_ratio, max_count: give at most one")
    if tail_ratio is not None and not 0 < tail_ratio <= 1:
        raise ConfigError(f"tail_ratio: expected a value in (0, 1], got {tail_ratio!r}")
    if compat not in COMPATS:
        raise ConfigError(f"compat: expected one of {COMPATS}, got {compat!r}")
    if compat == "elliot" and (tail_ratio is not None or max_count is not None):
        raise ConfigError("compat='elliot': Elliot only has the head_share (pop_ratio) rule")


def popularity_metrics(
    recommendations: Any,
    pop: RefPopularity,
    *,
    list_id: str | Sequence[str] = "request_id",
    item: str = "item_id",
    position: str | None = None,
    k: int | None = None,
    time: str | None = None,
    every: Any = None,
    by: str | Sequence[str] | None = None,
    catalog: Any = None,
    head_share: float = 0.8,
    tail_ratio: float | None = None,
    max_count: int | None = None,
    compat: str | None = None,
) -> pa.Table:
    """``lw.popularity_metrics`` by brute force (see the module docstring)."""
    recs = pa.table(recommendations)
    by_cols = _as_list(by)
    check_tail_args(head_share, tail_ratio, max_count, compat)
    if k is not None and k < 1:
        raise ConfigError(f"k: expected k >= 1, got {k}")
    if every is not None and time is None:
        raise ConfigError("every needs time")
    if pop.is_trailing and (time is None or every is None):
        raise ConfigError("a trailing popularity needs time and every")
    every_ticks = None
    if every is not None:
        assert time is not None
        axis = time_axis(recs, time)
        every_ticks = duration_ticks(every, integer_time=axis.is_integer, what="every")
        if every_ticks <= 0:
            raise ConfigError(f"every: must be positive, got {every!r}")
        if every_ticks % axis.factor:
            raise ConfigError(f"every: {every!r} is not a whole number of the time column's unit")
        if pop.is_trailing:
            assert pop.lookback is not None and pop.axis is not None
            if pop.axis.is_integer != axis.is_integer:
                raise SchemaError("time: popularity and recommendations time kinds differ")
            if pop.lookback % every_ticks:
                raise ConfigError("lookback: must be a whole multiple of every")
    schema = metrics_schema(recs, time, every, by_cols)

    lists = build_lists(
        recs,
        list_id=_as_list(list_id),
        item=item,
        position=position,
        k=k,
        time=time,
        every=every_ticks,
        by=by_cols,
    )
    recommended = {i for lst in lists for i in lst.items}
    if catalog is not None:
        universe = {i for i in column_values(pa.table(catalog), item) if i is not None}
        missing = recommended - universe
        if missing:
            raise DataError(f"{item}: recommended items not in the catalog: {sorted(missing)}")
    else:
        universe = pop.items() | recommended

    groups: dict[tuple[Any, ...], list[RecList]] = {}
    for lst in lists:
        groups.setdefault((lst.bucket, *lst.by_values), []).append(lst)
    out_rows = []
    for key in sorted(groups, key=lambda g: tuple(sort_key(v) for v in g)):
        bucket = key[0]
        state = pop.state(bucket)
        row = dict(zip(by_cols, key[1:], strict=True))
        row.update(
            group_metrics(
                groups[key],
                state,
                universe,
                head_share=head_share,
                tail_ratio=tail_ratio,
                max_count=max_count,
                compat=compat,
            )
        )
        if every_ticks is not None:
            assert time is not None
            factor = time_axis(recs, time).factor  # divides every, hence every bucket start
            row["bucket_start"] = None if bucket is None else bucket // factor
        out_rows.append(row)
    return pa.table(
        {f.name: pa.array([r[f.name] for r in out_rows], type=f.type) for f in schema},
        schema=schema,
    )


# --- hit_rate_by_popularity ----------------------------------------------------------------


@dataclass
class RefHitRate:
    """``lw.HitRateByPopularity``: the bucket table and the head/tail summary."""

    table: pa.Table
    head_rate: float | None
    tail_rate: float | None
    head_tail_ratio: float | None


def log10_bucket(phi: int) -> tuple[int, str]:
    """(sort rank, name): 0 -> "0", 1..9 -> "1-9", 10..99 -> "10-99", ..."""
    if phi == 0:
        return 0, "0"
    digits = len(str(phi))
    return digits, f"{10 ** (digits - 1)}-{10**digits - 1}"


def quantile_edges(phis: Sequence[int], q: int) -> list[int]:
    """e_j = φ at 0-based rank ceil(j·n/q) - 1 of the φ-ascending predictions, deduplicated."""
    ranked = sorted(phis)
    n = len(ranked)
    edges: list[int] = []
    for j in range(1, q + 1):
        e = ranked[-(-j * n // q) - 1]
        if e not in edges:
            edges.append(e)
    return edges


def quantile_bucket(phi: int, edges: Sequence[int]) -> tuple[int, str]:
    """The first j with φ <= e_j, named "<=e_1" or "e_{j-1}-e_j"."""
    for j, e in enumerate(edges):
        if phi <= e:
            return j, f"<={e}" if j == 0 else f"{edges[j - 1]}-{e}"
    raise AssertionError("the last edge is the greatest φ")


def hit_rate_by_popularity(
    labeled: Any,
    pop: RefPopularity,
    *,
    label: str,
    item: str = "item_id",
    buckets: str | int = "log10",
    time: str | None = None,
    every: Any = None,
    head_share: float = 0.8,
) -> RefHitRate:
    """``lw.hit_rate_by_popularity`` by brute force."""
    table = pa.table(labeled)
    if not 0 < head_share <= 1:
        raise ConfigError(f"head_share: expected a value in (0, 1], got {head_share!r}")
    quantiles = not isinstance(buckets, str)
    if quantiles and (isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1):
        raise ConfigError(f"buckets: expected 'log10' or an int >= 1, got {buckets!r}")
    if not quantiles and buckets != "log10":
        raise ConfigError(f"buckets: expected 'log10' or an int >= 1, got {buckets!r}")
    if pop.is_trailing and (time is None or every is None):
        raise ConfigError("a trailing popularity needs time and every")
    every_ticks = None
    if every is not None:
        assert time is not None
        axis = time_axis(table, time)
        every_ticks = duration_ticks(every, integer_time=axis.is_integer, what="every")
        if every_ticks <= 0:
            raise ConfigError(f"every: must be positive, got {every!r}")
        if pop.is_trailing:
            assert pop.lookback is not None
            if pop.lookback % every_ticks:
                raise ConfigError("lookback: must be a whole multiple of every")

    items = column_values(table, item)
    labels = [None if v is None else int(v) for v in column_values(table, label)]
    if any(v not in (0, 1, None) for v in labels):
        raise DataError(f"{label}: values must be 0, 1 or null")
    if any(i is None for i in items):
        raise DataError(f"{item}: null item")
    times = time_ticks(table, time) if time else [None] * len(items)
    rows_bucket = [bucket_of(t, every_ticks) for t in times]
    states = {b: pop.state(b) for b in set(rows_bucket)}
    phis = [states[b].of(i) for b, i in zip(rows_bucket, items, strict=True)]

    # Bucket table.
    edges = quantile_edges(phis, int(buckets)) if quantiles and phis else []
    per_bucket: dict[tuple[int, str], list[int]] = {}
    for r, phi in enumerate(phis):
        key = quantile_bucket(phi, edges) if quantiles else log10_bucket(phi)
        per_bucket.setdefault(key, []).append(r)
    out = []
    for rank, name in sorted(per_bucket):
        rows = per_bucket[(rank, name)]
        lab = [labels[r] for r in rows if labels[r] is not None]
        out.append(
            {
                "bucket": name,
                "pop_min": min(phis[r] for r in rows),
                "pop_max": max(phis[r] for r in rows),
                "predictions": len(rows),
                "labeled": len(lab),
                "positives": sum(lab),
                "positive_rate": sum(lab) / len(lab) if lab else None,
            }
        )
    result = pa.table(
        {f.name: pa.array([r[f.name] for r in out], type=f.type) for f in HIT_RATE_SCHEMA},
        schema=HIT_RATE_SCHEMA,
    )

    # Head / tail rates.
    universe = pop.items() | set(items)
    heads = {
        b: head_by_share(popularity_order(universe, s), s, head_share) for b, s in states.items()
    }
    head_lab: list[int] = []
    tail_lab: list[int] = []
    for b, i, y in zip(rows_bucket, items, labels, strict=True):
        if y is not None:
            (head_lab if i in heads[b] else tail_lab).append(y)
    head_rate = sum(head_lab) / len(head_lab) if head_lab else None
    tail_rate = sum(tail_lab) / len(tail_lab) if tail_lab else None
    ratio = None
    if head_rate is not None and tail_rate:
        ratio = head_rate / tail_rate
    return RefHitRate(result, head_rate, tail_rate, ratio)
