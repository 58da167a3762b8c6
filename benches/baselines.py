"""``label_join`` written by hand in pandas, Polars and DuckDB, as a careful user would.

Each function computes exactly what ``lw.label_join(pred, fb, on=KEYS, windows="30m")`` does
(last-touch attribution, watermark ``A`` = greatest click time) and returns, in prediction input
order, ``label_30m`` (int8, null = pending), ``feedback_count`` (int64) and
``first_feedback_delay`` (duration[us]). The recipe, in every engine:

1. as-of join each click to the last impression of its key with ``t_p <= t_f``; ties in ``t_p``
   go to the later input row; a click more than 30 min after that impression is credited to
   nobody (no fall-back to earlier impressions, so the tolerance is applied after the as-of);
2. group the credited clicks by impression: count and smallest delay;
3. label 1 if credited within 30 min; else 0 if ``A >= t_p + 30m`` or the key's next impression
   (in (ts, input row) order) has ``ts <= A``; else null.

``polars_tuned_label_join`` ("polars-tuned") adds two exact shortcuts, see its docstring.

Inputs are assumed to have no null keys or times in the predictions (the generated data has
none); feedback rows with nulls are dropped, as loopwatch does.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

KEYS = ["user_id", "item_id"]
WINDOW = timedelta(minutes=30)
WINDOW_US = WINDOW // timedelta(microseconds=1)
OUT = ["label_30m", "feedback_count", "first_feedback_delay"]
Engine = Callable[[pa.Table, pa.Table], pa.Table]


def _result(label: np.ndarray, count: np.ndarray, delay: pa.Array) -> pa.Table:
    """label: int array with -1 for pending."""
    return pa.table(
        {
            "label_30m": pa.array(label.astype(np.int8), mask=label < 0),
            "feedback_count": pa.array(count.astype(np.int64)),
            "first_feedback_delay": delay.cast(pa.duration("us")),
        }
    )


def pandas_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    p = pred.select([*KEYS, "ts"]).to_pandas()
    p["row"] = np.arange(len(p))
    f = fb.select([*KEYS, "ts"]).to_pandas().dropna()
    a = f["ts"].max()
    # merge_asof takes the *last* of equal right keys: a stable sort by ts keeps input order.
    right = p.rename(columns={"ts": "ts_p"}).sort_values("ts_p", kind="stable")
    m = pd.merge_asof(
        f.sort_values("ts", kind="stable"),
        right,
        left_on="ts",
        right_on="ts_p",
        by=KEYS,
        direction="backward",
        tolerance=pd.Timedelta(WINDOW),  # inclusive: delay <= 30m is kept
    )
    m = m[m["row"].notna()].assign(delay=lambda d: d["ts"] - d["ts_p"])
    agg = m.groupby(m["row"].astype(np.int64)).agg(n=("ts", "size"), d=("delay", "min"))
    agg = agg.reindex(p.index)
    count = agg["n"].fillna(0).to_numpy(np.int64)
    delay = agg["d"]

    # The key's next impression in (ts, row) order: shift within the key groups of the
    # ts-sorted frame (groupby keeps each group's rows in frame order); aligned on the index.
    p["t_next"] = right.groupby(KEYS, sort=False)["ts_p"].shift(-1)
    closed = ((p["ts"] + WINDOW) <= a) | (p["t_next"] <= a)  # NaT compares False
    positive = (delay <= WINDOW).to_numpy()
    label = np.where(positive, 1, np.where(closed.to_numpy(), 0, -1))
    return _result(label, count, pa.array(delay))


def _polars_credit(p: pl.DataFrame, f: pl.DataFrame) -> pl.DataFrame:
    """Per credited impression ``row``: click count ``n`` and smallest delay ``d``."""
    # join_asof also takes the last of equal right keys; maintain_order keeps input order.
    return (
        f.sort("ts", maintain_order=True)
        .join_asof(
            p.rename({"ts": "ts_p"}).sort("ts_p", maintain_order=True),
            left_on="ts",
            right_on="ts_p",
            by=KEYS,
            strategy="backward",
            tolerance=WINDOW,  # inclusive
            check_sortedness=False,  # sorted above; Polars cannot check it with `by`
        )
        .drop_nulls("row")
        .group_by("row")
        .agg(n=pl.len(), d=(pl.col("ts") - pl.col("ts_p")).min())
    )


def _polars_label(a: object) -> dict[str, pl.Expr]:
    return {
        "label_30m": pl.when(pl.col("d") <= WINDOW)
        .then(1)
        .when((pl.col("ts") + WINDOW <= a) | (pl.col("t_next") <= a))
        .then(0)
        .cast(pl.Int8),
        "feedback_count": pl.col("n").fill_null(0).cast(pl.Int64),
        "first_feedback_delay": pl.col("d"),
    }


# The key's next impression in (ts, row) order, on a frame sorted by (keys, ts, row): sorting
# and comparing neighbours is several times faster here than
# pl.col("ts").shift(-1).over(KEYS, order_by=["ts", "row"]).
_SAME_KEY = pl.all_horizontal(pl.col(k) == pl.col(k).shift(-1) for k in KEYS)
_T_NEXT = pl.when(_SAME_KEY).then(pl.col("ts").shift(-1)).alias("t_next")


def polars_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    p = pl.from_arrow(pred.select([*KEYS, "ts"])).with_row_index("row")
    f = pl.from_arrow(fb.select([*KEYS, "ts"])).drop_nulls()
    a = f["ts"].max()
    out = (
        p.sort([*KEYS, "ts", "row"])
        .with_columns(_T_NEXT)
        .join(_polars_credit(p, f), on="row", how="left")
        .select("row", **_polars_label(a))
        .sort("row")  # back to input order
        .drop("row")
    )
    return out.to_arrow()


def polars_tuned_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    """Polars with two exact shortcuts a performance-minded user may find: only impressions
    whose key has clicks can be credited (semi-join before the as-of join), and only those
    with ``t_p + W > A`` need their next impression (it is then also after ``A - W``)."""
    p = pl.from_arrow(pred.select([*KEYS, "ts"])).with_row_index("row")
    f = pl.from_arrow(fb.select([*KEYS, "ts"])).drop_nulls()
    a = f["ts"].max()
    clicked = p.join(f.select(KEYS).unique(), on=KEYS, how="semi")
    recent = p.filter(pl.col("ts") + WINDOW > a).sort([*KEYS, "ts", "row"])
    out = (
        p.join(_polars_credit(clicked, f), on="row", how="left", maintain_order="left")
        .join(recent.select("row", _T_NEXT), on="row", how="left", maintain_order="left")
        .select(**_polars_label(a))
    )
    return out.to_arrow()


DUCKDB_SQL = f"""
WITH last_p AS (  -- ASOF JOIN picks an arbitrary one of tied t_p: keep the last row per tie
    SELECT user_id, item_id, ts, max("row") AS "row" FROM p GROUP BY ALL
), credit AS (
    SELECT lp."row", epoch_us(f.ts) - epoch_us(lp.ts) AS delay
    FROM f ASOF JOIN last_p lp
      ON f.user_id = lp.user_id AND f.item_id = lp.item_id AND f.ts >= lp.ts
    WHERE epoch_us(f.ts) - epoch_us(lp.ts) <= {WINDOW_US}  -- after the as-of: no fall-back
), agg AS (
    SELECT "row", count(*) AS n, min(delay) AS d FROM credit GROUP BY "row"
), wm AS (
    SELECT max(ts) AS a FROM f
), nxt AS (
    SELECT "row", ts, lead(ts) OVER (PARTITION BY user_id, item_id ORDER BY ts, "row") AS t_next
    FROM p
)
SELECT
    CASE WHEN agg.d <= {WINDOW_US} THEN 1
         WHEN wm.a >= nxt.ts + INTERVAL {WINDOW_US} MICROSECOND OR nxt.t_next <= wm.a THEN 0
    END::TINYINT AS label_30m,
    coalesce(agg.n, 0)::BIGINT AS feedback_count,
    agg.d AS first_feedback_delay
FROM nxt CROSS JOIN wm LEFT JOIN agg USING ("row")
ORDER BY nxt."row"
"""


def duckdb_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    p = pred.select([*KEYS, "ts"]).append_column("row", pa.array(np.arange(pred.num_rows)))
    f = fb.select([*KEYS, "ts"]).drop_null()
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("p", p)
        con.register("f", f)
        t = con.sql(DUCKDB_SQL).to_arrow_table()
    delay = t["first_feedback_delay"].cast(pa.duration("us"))
    return t.set_column(2, "first_feedback_delay", delay)


def loopwatch_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    import loopwatch as lw

    return lw.label_join(pred, fb, on=KEYS, windows="30m").select(OUT)


def reference_label_join(pred: pa.Table, fb: pa.Table) -> pa.Table:
    """Brute force in plain Python, straight from SPEC §2; for small inputs only."""
    pk = list(zip(*(pred[c].to_pylist() for c in KEYS), strict=True))
    pt = pred["ts"].cast(pa.int64()).to_pylist()
    by_key: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for row, (k, t) in enumerate(zip(pk, pt, strict=True)):
        by_key[k].append((t, row))
    for v in by_key.values():
        v.sort()
    fk = zip(*(fb[c].to_pylist() for c in KEYS), strict=True)
    ft = fb["ts"].cast(pa.int64()).to_pylist()
    events = [(k, t) for k, t in zip(fk, ft, strict=True) if t is not None and None not in k]
    a = max(t for _, t in events)
    count = np.zeros(len(pt), np.int64)
    delay: list[int | None] = [None] * len(pt)
    for k, t in events:
        i = bisect.bisect_right(by_key.get(k, []), (t, len(pt))) - 1  # last (t_p, row) <= t
        if i >= 0 and t - by_key[k][i][0] <= WINDOW_US:
            tp, row = by_key[k][i]
            count[row] += 1
            delay[row] = min(t - tp, delay[row] if delay[row] is not None else t - tp)
    label = np.full(len(pt), -1)
    for v in by_key.values():
        for j, (tp, row) in enumerate(v):
            if delay[row] is not None and delay[row] <= WINDOW_US:
                label[row] = 1
            elif a >= tp + WINDOW_US or (j + 1 < len(v) and v[j + 1][0] <= a):
                label[row] = 0
    return _result(label, count, pa.array(delay, pa.int64()))


ENGINES: dict[str, Engine] = {
    "pandas": pandas_label_join,
    "polars": polars_label_join,
    "duckdb": duckdb_label_join,
    "polars-tuned": polars_tuned_label_join,
}


def engines() -> dict[str, Engine]:
    """loopwatch first, then the peers. A missing build is an error, never a silent skip."""
    import loopwatch  # noqa: F401  (build it first: make build)

    return {"loopwatch": loopwatch_label_join, **ENGINES}


def assert_same(name: str, got: pa.Table, want: pa.Table, want_name: str) -> None:
    for col in OUT:
        g, w = got[col].combine_chunks(), want[col].combine_chunks()
        if g.type != w.type or len(g) != len(w):
            raise AssertionError(f"{name}.{col}: {g.type}[{len(g)}] vs {want_name} {w.type}")
        if not g.equals(w):
            same = pc.equal(g, w).fill_null(False)
            same = pc.or_(same, pc.and_(g.is_null(), w.is_null()))
            rows = np.flatnonzero(~same.to_numpy(zero_copy_only=False))
            r = int(rows[0])
            raise AssertionError(
                f"{name}.{col} differs from {want_name} at {rows.size} rows, first row {r}: "
                f"{g[r]} vs {w[r]}"
            )


def tie_heavy_log(seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """Small adversarial log: few keys, minute-rounded times (many ties), shuffled rows."""
    from generate import generate_log

    pred, fb = generate_log(2_000, 10, n_users=30, n_items=40, ctr=0.2, seed=seed)
    minute = 60_000_000

    def coarse(t: pa.Table) -> pa.Table:
        us = t["ts"].cast(pa.int64()).to_numpy() // minute * minute
        return t.set_column(t.schema.get_field_index("ts"), "ts", pa.array(us, pa.timestamp("us")))

    perm = np.random.default_rng(seed).permutation(pred.num_rows)
    return coarse(pred).take(perm), coarse(fb)


def check_engines(
    pred: pa.Table, fb: pa.Table, *, only: list[str] | None = None, semantics: bool = True
) -> list[str]:
    """Raise AssertionError unless every engine (or those in ``only``) agrees exactly.

    With ``semantics``, first compare each engine with the brute-force reference on a small
    tie-heavy, shuffled log (equal times within a key, late clicks, orphans, pending labels).
    Returns the names of the engines checked.
    """
    unknown = set(only or []) - set(engines())
    if unknown:
        raise ValueError(f"unknown engines {sorted(unknown)}; known: {sorted(engines())}")
    runs = {n: fn for n, fn in engines().items() if only is None or n in only}
    if semantics:
        tp, tf = tie_heavy_log()
        want = reference_label_join(tp, tf)
        for name, fn in runs.items():
            assert_same(name, fn(tp, tf), want, "reference")
    results = {name: fn(pred, fb) for name, fn in runs.items()}
    first = next(iter(results))
    for name, got in results.items():
        assert_same(name, got, results[first], first)
    return list(runs)


if __name__ == "__main__":
    from generate import generate_log

    checked = check_engines(*generate_log(100_000))
    print("agree exactly:", ", ".join(checked))
