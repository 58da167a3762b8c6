"""``label_metrics`` written by hand in pandas (+ scikit-learn) and Polars, as a careful user would.

Each function computes what ``lw.label_metrics(labeled, **LW_KWARGS)`` computes (contract §4):
hourly buckets of ``ts`` (plus optional ``by`` columns), and per bucket ``n``, ``n_labeled``,
``n_pending``, ``matured``, ``positives``, ``positive_rate``, ``mean_score``, ``log_loss`` (scores
clipped to [1e-15, 1 - 1e-15]), ``brier``, ``roc_auc`` (exact, ties ½, null with one class) and
``ece`` (10 equal-width bins), returned as an Arrow table with the contract's schema, sorted by
bucket then ``by`` with nulls last. Every engine starts from the same Arrow table and returns an
Arrow table, so conversions are part of its time.

* pandas: vectorized columns, one ``groupby().agg`` for the means, one for the ECE bins, and
  ``sklearn.metrics.roc_auc_score`` per bucket (``groupby().apply``): what the docs suggest.
* Polars: one lazy query; AUC by the Mann-Whitney rank formula
  ``(R₊ - P(P + 1)/2) / (P·N)`` with average ranks, which is exact with ties.

Both assume naive (or UTC) timestamps: ``dt.floor`` / ``dt.truncate`` then equal the contract's
epoch-aligned floor. :func:`labeled_log` builds the benchmark input.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from generate import generate_log
from sklearn.metrics import roc_auc_score

LABEL, SCORE, TIME, EVERY = "label_30m", "score", "ts", "1h"
LW_KWARGS = {"label": LABEL, "score": SCORE, "time": TIME, "every": EVERY}
EPS = 1e-15
METRIC_COLUMNS = [
    ("n", pa.int64()),
    ("n_labeled", pa.int64()),
    ("n_pending", pa.int64()),
    ("matured", pa.float64()),
    ("positives", pa.int64()),
    ("positive_rate", pa.float64()),
    ("mean_score", pa.float64()),
    ("log_loss", pa.float64()),
    ("brier", pa.float64()),
    ("roc_auc", pa.float64()),
    ("ece", pa.float64()),
]
Engine = Callable[..., pa.Table]


def labeled_log(n_requests: int = 1_000_000, seed: int = 0) -> pa.Table:
    """The benchmark input: ``generate_log(n_requests)`` (10 impressions per request) labeled
    by ``lw.label_join(..., on=[user_id, item_id], windows=["30m"])``; the last half hour of
    the day is partly pending."""
    import loopwatch as lw

    pred, fb = generate_log(n_requests, seed=seed)
    return lw.label_join(pred, fb, on=["user_id", "item_id"], windows=["30m"])


def contract_schema(labeled: pa.Table, by: Sequence[str]) -> pa.Schema:
    """``bucket_start`` typed like the time column, the ``by`` columns (dictionaries decoded),
    then the metric columns."""

    def plain(t: pa.DataType) -> pa.DataType:
        return t.value_type if pa.types.is_dictionary(t) else t

    fields = [pa.field("bucket_start", labeled.schema.field(TIME).type)]
    fields += [pa.field(b, plain(labeled.schema.field(b).type)) for b in by]
    return pa.schema(fields + [pa.field(n, t) for n, t in METRIC_COLUMNS])


# --- pandas + scikit-learn --------------------------------------------------------------------


def _auc_or_nan(group: pd.DataFrame) -> float:
    y = group["y"].to_numpy()
    if y.min() == y.max():  # one class: AUC undefined (sklearn would raise)
        return float("nan")
    return float(roc_auc_score(y, group[SCORE].to_numpy()))


def pandas_label_metrics(labeled: pa.Table, by: Sequence[str] = ()) -> pa.Table:
    keys = ["bucket_start", *by]
    df = labeled.select([TIME, LABEL, SCORE, *by]).to_pandas()
    df["bucket_start"] = df[TIME].dt.floor(EVERY)
    y, p = df[LABEL].astype("float64"), df[SCORE]  # y: NaN = pending
    clipped = p.clip(EPS, 1 - EPS)
    df = df.assign(
        y=y,
        labeled=y.notna(),
        p_labeled=p.where(y.notna()),
        ll=-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)),  # NaN when pending
        sq=(p - y) ** 2,
    )
    out = (
        df.groupby(keys, dropna=False, observed=True)
        .agg(
            n=("labeled", "size"),
            n_labeled=("labeled", "sum"),
            positives=("y", "sum"),
            mean_score=("p_labeled", "mean"),
            log_loss=("ll", "mean"),
            brier=("sq", "mean"),
        )
        .reset_index()
    )
    lab = df[df["labeled"]].assign(bin=lambda d: np.minimum(np.floor(10 * d[SCORE]), 9))
    bins = (
        lab.groupby([*keys, "bin"], dropna=False, observed=True)
        .agg(n_b=("y", "size"), mean_p=(SCORE, "mean"), rate=("y", "mean"))
        .reset_index()
    )
    bins["gap"] = bins["n_b"] * (bins["mean_p"] - bins["rate"]).abs()
    ece = bins.groupby(keys, dropna=False, observed=True)["gap"].sum().rename("gap_sum")
    out = out.merge(ece.reset_index(), on=keys, how="left")
    if lab.empty:  # (groupby().apply gives an empty frame, not a series, on no rows)
        out["roc_auc"] = np.nan
    else:
        auc = lab.groupby(keys, dropna=False, observed=True)[["y", SCORE]].apply(_auc_or_nan)
        out = out.merge(auc.rename("roc_auc").reset_index(), on=keys, how="left")
    out["ece"] = out["gap_sum"] / out["n_labeled"]
    out["n_pending"] = out["n"] - out["n_labeled"]
    out["matured"] = out["n_labeled"] / out["n"]
    out["positive_rate"] = out["positives"] / out["n_labeled"].where(out["n_labeled"] > 0)
    for b in by:  # categoricals sort by category order; the contract sorts by value
        if isinstance(out[b].dtype, pd.CategoricalDtype):
            out[b] = out[b].astype(object)
    out = out.sort_values(keys, na_position="last", kind="stable")
    schema = contract_schema(labeled, by)
    arrays = [pa.array(out[f.name], from_pandas=True).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# --- Polars -------------------------------------------------------------------------------------


def polars_label_metrics(labeled: pa.Table, by: Sequence[str] = ()) -> pa.Table:
    keys = ["bucket_start", *by]
    y, p = pl.col("y"), pl.col(SCORE)
    clipped = p.clip(EPS, 1 - EPS)
    df = (
        pl.from_arrow(labeled.select([TIME, LABEL, SCORE, *by]))
        .lazy()
        .with_columns(pl.col(TIME).dt.truncate(EVERY).alias("bucket_start"))
        .with_columns(pl.col(LABEL).cast(pl.Float64).alias("y"))
    )
    main = df.group_by(keys).agg(
        n=pl.len(),
        n_labeled=y.count(),
        positives=y.sum(),
        mean_score=p.filter(y.is_not_null()).mean(),
        log_loss=(-(y * clipped.log() + (1 - y) * (1 - clipped).log())).mean(),
        brier=((p - y) ** 2).mean(),
    )
    lab = df.filter(y.is_not_null())
    # Mann-Whitney: AUC = (sum of positives' average ranks - P(P+1)/2) / (P·N).
    auc = (
        lab.with_columns(p.rank("average").over(keys).alias("rank"))
        .group_by(keys)
        .agg(pos=y.sum(), neg=(1 - y).sum(), rank_sum=pl.col("rank").filter(y == 1).sum())
        .select(
            *keys,
            roc_auc=pl.when((pl.col("pos") > 0) & (pl.col("neg") > 0)).then(
                (pl.col("rank_sum") - pl.col("pos") * (pl.col("pos") + 1) / 2)
                / (pl.col("pos") * pl.col("neg"))
            ),
        )
    )
    ece = (
        lab.with_columns((p * 10).floor().clip(upper_bound=9).alias("bin"))
        .group_by([*keys, "bin"])
        .agg(n_b=pl.len(), mean_p=p.mean(), rate=y.mean())
        .group_by(keys)
        .agg(
            ece=(pl.col("n_b") * (pl.col("mean_p") - pl.col("rate")).abs()).sum()
            / pl.col("n_b").sum()
        )
    )
    out = (
        main.join(auc, on=keys, how="left", nulls_equal=True)
        .join(ece, on=keys, how="left", nulls_equal=True)
        .with_columns(
            n_pending=pl.col("n") - pl.col("n_labeled"),
            matured=pl.col("n_labeled") / pl.col("n"),
            positive_rate=pl.when(pl.col("n_labeled") > 0).then(
                pl.col("positives") / pl.col("n_labeled")
            ),
        )
        .sort(keys, nulls_last=True)
        .collect()
    )
    schema = contract_schema(labeled, by)
    arrays = [out[f.name].to_arrow().cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# --- running them -------------------------------------------------------------------------------


def loopwatch_label_metrics(labeled: pa.Table, by: Sequence[str] = ()) -> pa.Table:
    import loopwatch as lw

    table: pa.Table = lw.label_metrics(labeled, by=list(by) or None, **LW_KWARGS)
    return table


ENGINES: dict[str, Engine] = {"pandas": pandas_label_metrics, "polars": polars_label_metrics}


def engines() -> dict[str, Engine]:
    """loopwatch first (once ``lw.label_metrics`` exists), then the peers."""
    import loopwatch

    own = {"loopwatch": loopwatch_label_metrics} if hasattr(loopwatch, "label_metrics") else {}
    return {**own, **ENGINES}


def check_engines(labeled: pa.Table, *, only: Sequence[str] | None = None) -> list[str]:
    """Raise AssertionError unless the engines agree (floats to 1e-9 relative)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from reference_metrics import assert_tables_match

    runs = {n: fn for n, fn in engines().items() if only is None or n in only}
    results = {name: fn(labeled) for name, fn in runs.items()}
    first = next(iter(results))
    for name, got in results.items():
        try:
            assert_tables_match(got, results[first])
        except AssertionError as exc:
            raise AssertionError(f"{name} vs {first}: {exc}") from exc
    return list(runs)


def main() -> None:
    """``python benches/baselines_metrics.py [REQUESTS]``: one timed run of each engine."""
    n_requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    labeled = labeled_log(n_requests)
    print(f"input: {labeled.num_rows:,} labeled impressions in {time.perf_counter() - t0:.1f}s")
    results = {}
    for name, fn in engines().items():
        t0 = time.perf_counter()
        results[name] = fn(labeled)
        print(f"  {name}: {time.perf_counter() - t0:.2f}s ({results[name].num_rows} buckets)")
    check_engines(labeled.slice(0, 0))  # empty input: same schema everywhere
    first = next(iter(results))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from reference_metrics import assert_tables_match

    for got in results.values():
        assert_tables_match(got, results[first])
    print("agree:", ", ".join(results))


if __name__ == "__main__":
    main()
