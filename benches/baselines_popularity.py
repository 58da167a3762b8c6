"""``popularity_metrics`` written by hand in pandas and Polars, as a careful user would.

The benchmark's call, on the log of ``generate.py`` (impressions = recommendation lists of 10
items per request, clicks = the popularity source)::

    pop = lw.Popularity.from_interactions(fb, item="item_id", user="user_id")
    lw.popularity_metrics(pred, pop, list_id="request_id", item="item_id", time="ts", every="1h")

i.e. fixed popularity φ = clicks per item, φ_users = distinct clicking users per item, hourly
buckets, no ``k`` (whole lists), the default head_share = 0.8 long tail, U = clicked items |
recommended items. Every engine returns the contract's table: ``bucket_start`` (the ``ts``
type), ``n_lists`` (int64) and the ten float64 metric columns, sorted by ``bucket_start``. The
recipe, in both engines:

1. per item of U: φ (0 when never clicked), then Γ by the head_share rule: sort by
   (φ desc, item asc); an item is in the head iff the φ sum *before* it is < 0.8 * Σφ;
2. per impression: the list's bucket (its first row's hour), φ, Γ flag, the novelty term
   -log2(max(φ_users, 1) / N_users); per list: length, sums; per bucket: means over lists;
3. per (bucket, item): the count c; per bucket: coverage, long-tail coverage, Gini over U with
   the |U| - r zero counts placed first (rank j = |U| - r + rank of c), entropy.

Inputs are assumed to have no null ``request_id``, ``item_id`` or ``ts`` in the impressions
(the generated data has none); clicks with a null item are dropped, as loopwatch does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

HEAD_SHARE = 0.8
EVERY = "1h"
FLOAT_COLUMNS = [
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
COLUMNS = ["bucket_start", "n_lists", *FLOAT_COLUMNS]
Engine = Callable[[pa.Table, pa.Table], pa.Table]


def _contract_table(columns: dict[str, object], ts_type: pa.DataType) -> pa.Table:
    """The result with the contract's column order and types."""
    schema = pa.schema(
        [
            ("bucket_start", ts_type),
            ("n_lists", pa.int64()),
            *[(c, pa.float64()) for c in FLOAT_COLUMNS],
        ]
    )
    arrays = [pa.array(columns[f.name]).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# --- pandas --------------------------------------------------------------------------------


def pandas_popularity_metrics(pred: pa.Table, fb: pa.Table) -> pa.Table:
    f = fb.select(["item_id", "user_id"]).to_pandas()
    f = f[f["item_id"].notna()]
    by_item = f.groupby("item_id")
    phi = by_item.size().rename("phi")
    phi_users = by_item["user_id"].nunique().rename("phi_users")  # nunique skips nulls
    n_users = f["user_id"].nunique()

    p = pred.select(["request_id", "item_id", "ts"]).to_pandas()

    # 1. U with φ and the long-tail flag.
    items = pd.Index(phi.index).union(pd.Index(p["item_id"].unique()))
    u = pd.DataFrame({"item_id": items})
    u = u.merge(phi.reset_index(), on="item_id", how="left")
    u = u.merge(phi_users.reset_index(), on="item_id", how="left")
    u[["phi", "phi_users"]] = u[["phi", "phi_users"]].fillna(0).astype(np.int64)
    u = u.sort_values(["phi", "item_id"], ascending=[False, True], kind="stable")
    before = u["phi"].cumsum() - u["phi"]
    u["tail"] = ~(before < HEAD_SHARE * u["phi"].sum())  # Σφ = 0: nothing is head
    n_universe, n_tail = len(u), int(u["tail"].sum())

    # 2. Impressions: the list's bucket (first row in input order), φ, Γ, novelty term.
    p["row_bucket"] = p["ts"].dt.floor(EVERY)
    first = p.drop_duplicates("request_id", keep="first").set_index("request_id")["row_bucket"]
    p["bucket"] = p["request_id"].map(first)
    p = p.merge(u, on="item_id", how="left")
    p["nov"] = -np.log2(np.maximum(p["phi_users"], 1) / n_users)
    p["cold"] = p["phi"] == 0

    lists = p.groupby("request_id", sort=False).agg(
        bucket=("bucket", "first"),
        n=("item_id", "size"),
        phi=("phi", "sum"),
        tail=("tail", "sum"),
        nov=("nov", "sum"),
        cold=("cold", "sum"),
    )
    lists["mean_phi"] = lists["phi"] / lists["n"]
    lists["share"] = lists["tail"] / lists["n"]
    lists["mean_nov"] = lists["nov"] / lists["n"]
    per_list = lists.groupby("bucket").agg(
        n_lists=("n", "size"),
        arp=("mean_phi", "mean"),
        aplt=("share", "mean"),
        aclt=("tail", "mean"),
        novelty=("mean_nov", "mean"),
        cold=("cold", "sum"),
        occurrences=("n", "sum"),
    )
    per_list["cold_share"] = per_list["cold"] / per_list["occurrences"]

    # 3. Item counts per bucket.
    c = p.groupby(["bucket", "item_id"]).agg(c=("tail", "size"), tail=("tail", "first"))
    c = c.reset_index()
    g = c.groupby("bucket")["c"]
    c["total"] = g.transform("sum")
    c["r"] = g.transform("size")
    c["j"] = n_universe - c["r"] + g.rank(method="first").astype(np.int64)
    c["gini_term"] = (2 * c["j"] - n_universe - 1) * c["c"]
    share = c["c"] / c["total"]
    c["h"] = -share * np.log2(share)
    per_item = c.groupby("bucket").agg(
        r=("c", "size"),
        tail_items=("tail", "sum"),
        gini_num=("gini_term", "sum"),
        total=("c", "sum"),
        entropy=("h", "sum"),
    )

    out = per_list.join(per_item).sort_index()
    out["coverage"] = out["r"] / n_universe
    out["long_tail_coverage"] = out["tail_items"] / n_tail if n_tail else np.nan
    out["gini"] = out["gini_num"] / (n_universe * out["total"])
    out["entropy_norm"] = out["entropy"] / math.log2(n_universe) if n_universe > 1 else np.nan
    cols: dict[str, object] = {"bucket_start": out.index.to_numpy()}
    cols["n_lists"] = out["n_lists"].to_numpy()
    for name in FLOAT_COLUMNS:
        cols[name] = pa.array(out[name].to_numpy(np.float64), from_pandas=True)  # NaN → null
    return _contract_table(cols, pred.schema.field("ts").type)


# --- Polars (lazy) -------------------------------------------------------------------------


def polars_popularity_metrics(pred: pa.Table, fb: pa.Table) -> pa.Table:
    f = pl.from_arrow(fb.select(["item_id", "user_id"])).lazy().drop_nulls("item_id")
    p = pl.from_arrow(pred.select(["request_id", "item_id", "ts"])).lazy()
    pop = f.group_by("item_id").agg(
        phi=pl.len(), phi_users=pl.col("user_id").drop_nulls().n_unique()
    )

    # 1. U with φ and the long-tail flag (|U| rows: collected, its sizes are needed below).
    u = (
        pl.concat([pop.select("item_id"), p.select("item_id")])
        .unique()
        .join(pop, on="item_id", how="left")
        .with_columns(pl.col("phi", "phi_users").fill_null(0).cast(pl.Int64))
        .sort(["phi", "item_id"], descending=[True, False])
        .with_columns(
            tail=~((pl.col("phi").cum_sum() - pl.col("phi")) < HEAD_SHARE * pl.col("phi").sum())
        )
    )
    u_df, n_users_df = pl.collect_all([u, f.select(pl.col("user_id").drop_nulls().n_unique())])
    n_universe, n_tail, n_users = u_df.height, int(u_df["tail"].sum()), n_users_df.item()

    # 2. Impressions: the list's bucket (first row in input order), φ, Γ, novelty term.
    rows = (
        p.with_columns(bucket=pl.col("ts").dt.truncate(EVERY).first().over("request_id"))
        .join(u_df.lazy(), on="item_id", how="left")
        .with_columns(
            nov=-(pl.max_horizontal("phi_users", 1) / n_users).log(2),
            cold=pl.col("phi") == 0,
        )
    )
    per_list = (
        rows.group_by("request_id")
        .agg(
            pl.col("bucket").first(),
            n=pl.len(),
            phi=pl.col("phi").sum(),
            tail=pl.col("tail").sum(),
            nov=pl.col("nov").sum(),
            cold=pl.col("cold").sum(),
        )
        .group_by("bucket")
        .agg(
            n_lists=pl.len(),
            arp=(pl.col("phi") / pl.col("n")).mean(),
            aplt=(pl.col("tail") / pl.col("n")).mean(),
            aclt=pl.col("tail").mean(),
            novelty=(pl.col("nov") / pl.col("n")).mean(),
            cold_share=pl.col("cold").sum() / pl.col("n").sum(),
        )
    )

    # 3. Item counts per bucket.
    share = pl.col("c") / pl.col("c").sum()
    j = n_universe - pl.len() + pl.col("c").rank("ordinal").cast(pl.Int64)
    ltc = pl.col("tail").sum() / n_tail if n_tail else pl.lit(None, pl.Float64)
    entropy_norm = pl.col("entropy") / math.log2(n_universe) if n_universe > 1 else None
    per_item = (
        rows.group_by("bucket", "item_id")
        .agg(c=pl.len().cast(pl.Int64), tail=pl.col("tail").first())
        .group_by("bucket")
        .agg(
            coverage=pl.len() / n_universe,
            long_tail_coverage=ltc,
            gini=((2 * j - n_universe - 1) * pl.col("c")).sum() / (n_universe * pl.col("c").sum()),
            entropy=-(share * share.log(2)).sum(),
        )
        .with_columns(
            entropy_norm=pl.lit(None, pl.Float64) if entropy_norm is None else entropy_norm
        )
    )
    out = (
        per_list.join(per_item, on="bucket")
        .sort("bucket")
        .select(
            pl.col("bucket").alias("bucket_start"), pl.col("n_lists").cast(pl.Int64), *FLOAT_COLUMNS
        )
        .collect()
    )
    return _contract_table({c: out[c].to_arrow() for c in COLUMNS}, pred.schema.field("ts").type)


# --- loopwatch and the reference ------------------------------------------------------------


def loopwatch_popularity_metrics(pred: pa.Table, fb: pa.Table) -> pa.Table:
    import loopwatch as lw

    pop = lw.Popularity.from_interactions(fb, item="item_id", user="user_id")
    out: pa.Table = lw.popularity_metrics(
        pred, pop, list_id="request_id", item="item_id", time="ts", every=EVERY
    )
    return out


def reference_popularity_metrics(pred: pa.Table, fb: pa.Table) -> pa.Table:
    """The pure-Python reference (``tests/reference_popularity.py``); small inputs only."""
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from reference_popularity import RefPopularity, popularity_metrics

    pop = RefPopularity.from_interactions(fb, item="item_id", user="user_id")
    return popularity_metrics(
        pred, pop, list_id="request_id", item="item_id", time="ts", every=EVERY
    )


ENGINES: dict[str, Engine] = {
    "pandas": pandas_popularity_metrics,
    "polars": polars_popularity_metrics,
}


def engines() -> dict[str, Engine]:
    """loopwatch first, then the peers. A missing build is an error, never a silent skip."""
    import loopwatch  # noqa: F401  (build it first: make build)

    return {"loopwatch": loopwatch_popularity_metrics, **ENGINES}


def assert_close(
    name: str, got: pa.Table, want: pa.Table, want_name: str, rel: float = 1e-9
) -> None:
    """Same schema and rows; integers and nulls exact, floats to ``rel`` relative."""
    if got.schema != want.schema:
        raise AssertionError(
            f"{name} schema differs from {want_name}:\n{got.schema}\nvs\n{want.schema}"
        )
    if got.num_rows != want.num_rows:
        raise AssertionError(f"{name}: {got.num_rows} rows vs {want_name} {want.num_rows}")
    for col in got.column_names:
        g, w = got[col].combine_chunks(), want[col].combine_chunks()
        if not pa.types.is_floating(g.type):
            if not g.equals(w):
                raise AssertionError(f"{name}.{col} differs from {want_name}: {g} vs {w}")
            continue
        if not g.is_null().equals(w.is_null()):
            raise AssertionError(f"{name}.{col} nulls differ from {want_name}")
        gv = g.to_numpy(zero_copy_only=False)
        wv = w.to_numpy(zero_copy_only=False)
        ok = np.isclose(gv, wv, rtol=rel, atol=1e-12) | (np.isnan(gv) & np.isnan(wv))
        if not ok.all():
            r = int(np.flatnonzero(~ok)[0])
            raise AssertionError(
                f"{name}.{col} differs from {want_name} at {int((~ok).sum())} rows, "
                f"first row {r}: {gv[r]!r} vs {wv[r]!r}"
            )


def adversarial_log(seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """Small log where lists straddle hours (the first row in input order decides), rows are
    shuffled across lists, items repeat within a list and many are never clicked."""
    from generate import generate_log

    pred, fb = generate_log(300, 6, n_users=40, n_items=80, ctr=0.2, seed=seed)
    rng = np.random.default_rng(seed)
    minute = 60_000_000
    ts = pred["ts"].cast(pa.int64()).to_numpy() + rng.integers(-90, 90, pred.num_rows) * minute
    items = pred["item_id"].to_numpy().copy()
    dup = rng.random(pred.num_rows) < 0.1
    items[dup] = np.roll(items, 1)[dup]
    pred = pred.set_column(
        pred.schema.get_field_index("ts"), "ts", pa.array(ts, pa.timestamp("us"))
    )
    pred = pred.set_column(pred.schema.get_field_index("item_id"), "item_id", pa.array(items))
    fb = fb.append_column("keep", pa.array(rng.random(fb.num_rows) < 0.7))
    fb = fb.filter(pc.field("keep")).drop(["keep"])
    return pred.take(rng.permutation(pred.num_rows)), fb


def check_engines(
    pred: pa.Table, fb: pa.Table, *, only: list[str] | None = None, semantics: bool = True
) -> list[str]:
    """Raise AssertionError unless every engine (or those in ``only``) agrees; with
    ``semantics``, first compare each with the reference on :func:`adversarial_log`."""
    everything = {**ENGINES}
    try:
        everything = engines()
    except ImportError:
        if only is None or "loopwatch" in only:
            raise
    runs = {n: fn for n, fn in everything.items() if only is None or n in only}
    if semantics:
        sp, sf = adversarial_log()
        want = reference_popularity_metrics(sp, sf)
        for name, fn in runs.items():
            assert_close(name, fn(sp, sf), want, "reference")
    results = {name: fn(pred, fb) for name, fn in runs.items()}
    first = next(iter(results))
    for name, got in results.items():
        assert_close(name, got, results[first], first)
    return list(runs)


if __name__ == "__main__":
    # python benches/baselines_popularity.py [N_REQUESTS] [ENGINES]: one timed run per engine.
    import os
    import sys

    from generate import generate_log

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (other work skews timings)")

    n_requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    pred, fb = generate_log(n_requests)
    print(
        f"{pred.num_rows:,} impressions, {fb.num_rows:,} clicks ({time.perf_counter() - t0:.1f}s)"
    )
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(ENGINES)
    results = {}
    for name in names:
        fn = {**ENGINES, "loopwatch": loopwatch_popularity_metrics}[name]
        t0 = time.perf_counter()
        results[name] = fn(pred, fb)
        print(f"{name}: {time.perf_counter() - t0:.2f}s, {results[name].num_rows} buckets")
    first = next(iter(results))
    for name, got in results.items():
        assert_close(name, got, results[first], first)
    print("agree:", ", ".join(results))
