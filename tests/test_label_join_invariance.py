"""``label_join`` results and counts never depend on how the work or the input is split (SPEC §2,
§6): thread count, record-batch sizes, chunking, dictionaries per batch, input container."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    JoinCase,
    chunk_specs,
    column_values,
    examples,
    join_cases,
    make_logs,
    rechunk,
)

ATTRIBUTIONS = ["last", "first", "all"]


def assert_same_result(lw: ModuleType, a: pa.Table, b: pa.Table, what: str) -> None:
    assert a.schema.remove_metadata() == b.schema.remove_metadata(), what
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_dictionary(x.type):
            # Pass-through dictionary columns mirror their input's batches and dictionaries,
            # which differ on purpose between the runs compared: compare the values.
            same = column_values(x) == column_values(y)
        else:
            same = x.equals(y)
        if not same:
            p, q = column_values(x), column_values(y)
            bad = [(i, u, v) for i, (u, v) in enumerate(zip(p, q, strict=True)) if u != v]
            raise AssertionError(f"{what}: column {name} differs at {bad[:5]}")
    assert lw.join_stats(a) == lw.join_stats(b), what


@settings(
    max_examples=examples(120),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=join_cases(chunked=False), pred_chunks=chunk_specs(), fb_chunks=chunk_specs())
def test_generated_cases_invariant(
    lw: ModuleType, case: JoinCase, pred_chunks: dict[str, Any], fb_chunks: dict[str, Any]
) -> None:
    base = lw.label_join(case.pred, case.fb, **case.kwargs, threads=1)
    four = lw.label_join(case.pred, case.fb, **case.kwargs, threads=4)
    assert_same_result(lw, base, four, "threads=4 vs threads=1")
    one_row = lw.label_join(
        rechunk(case.pred, [1]), rechunk(case.fb, [1]), **case.kwargs, threads=4
    )
    assert_same_result(lw, base, one_row, "1-row batches")
    drawn = lw.label_join(
        rechunk(case.pred, pred_chunks["sizes"], pred_chunks["redict"]),
        rechunk(case.fb, fb_chunks["sizes"], fb_chunks["redict"]),
        **case.kwargs,
        threads=2,
    )
    assert_same_result(lw, base, drawn, f"chunks {pred_chunks} / {fb_chunks}")


@pytest.fixture(scope="module")
def logs() -> tuple[pa.Table, pa.Table]:
    # Enough rows for the engine to split the work across threads and partitions.
    return make_logs(11, n_pred=20_000, n_users=300, n_items=20)


def log_kwargs(attribution: str) -> dict[str, Any]:
    return {
        "on": ["user_id", "item_id"],
        "windows": ["5m", "30m", "2h"],
        "attribution": attribution,
        "value": "v",
    }


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_logs_threads_and_batches(
    lw: ModuleType, logs: tuple[pa.Table, pa.Table], attribution: str
) -> None:
    pred, fb = logs
    kw = log_kwargs(attribution)
    base = lw.label_join(pred, fb, **kw, threads=1)
    for threads in (2, 4, None):
        out = lw.label_join(pred, fb, **kw, threads=threads)
        assert_same_result(lw, base, out, f"threads={threads}")
    for sizes in ([7], [1, 500, 3, 64], [4_096]):
        out = lw.label_join(rechunk(pred, sizes), rechunk(fb, sizes[::-1]), **kw, threads=4)
        assert_same_result(lw, base, out, f"batches {sizes}")
    # Many 1-row batches on a slice (keeps the test quick).
    small_p, small_f = pred.slice(0, 2_000), fb.slice(0, 800)
    small = lw.label_join(small_p, small_f, **kw, threads=1)
    out = lw.label_join(rechunk(small_p, [1]), rechunk(small_f, [1]), **kw, threads=4)
    assert_same_result(lw, small, out, "1-row batches")


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_input_containers(
    lw: ModuleType, logs: tuple[pa.Table, pa.Table], attribution: str, tmp_path: Path
) -> None:
    # Same labels whatever exports the Arrow stream: RecordBatchReader, pandas (Arrow dtypes),
    # Polars, or Parquet paths (one file, a directory of parts in sorted order, a list).
    import pandas as pd
    import polars as pl

    pred, fb = logs
    pred, fb = rechunk(pred.slice(0, 5_000), [999]), fb.slice(0, 2_500)
    kw = log_kwargs(attribution)
    base = lw.label_join(pred, fb, **kw)
    computed = base.column_names[pred.num_columns :]

    def same_labels(out: pa.Table, what: str) -> None:
        assert out.column_names == base.column_names, what
        for name in computed:
            assert out.column(name).equals(base.column(name)), f"{what}: {name}"
        assert lw.join_stats(out) == lw.join_stats(base), what

    readers = (
        pa.RecordBatchReader.from_batches(pred.schema, pred.to_batches()),
        pa.RecordBatchReader.from_batches(fb.schema, fb.to_batches()),
    )
    same_labels(lw.label_join(*readers, **kw), "RecordBatchReader")
    same_labels(
        lw.label_join(
            pred.to_pandas(types_mapper=pd.ArrowDtype),
            fb.to_pandas(types_mapper=pd.ArrowDtype),
            **kw,
        ),
        "pandas",
    )
    same_labels(lw.label_join(pl.from_arrow(pred), pl.from_arrow(fb), **kw), "polars")

    pq.write_table(pred, tmp_path / "pred.parquet", row_group_size=700)
    pq.write_table(fb, tmp_path / "fb.parquet", row_group_size=300)
    same_labels(
        lw.label_join(str(tmp_path / "pred.parquet"), tmp_path / "fb.parquet", **kw), "parquet"
    )
    parts = tmp_path / "pred_parts"
    parts.mkdir()
    bounds = [0, 1_200, 1_201, 3_000, 5_000]
    # Written out of order on purpose: input order is sorted path order.
    for k in (2, 0, 3, 1):
        start, stop = bounds[k], bounds[k + 1]
        pq.write_table(pred.slice(start, stop - start), parts / f"part-{k:02d}.parquet")
    same_labels(lw.label_join(str(parts), fb, **kw), "directory of parts")
    same_labels(lw.label_join(str(parts / "*.parquet"), fb, **kw), "glob of parts")
    same_labels(
        lw.label_join([str(parts / f"part-{k:02d}.parquet") for k in range(4)], fb, **kw),
        "list of paths",
    )


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=join_cases(chunked=False), seed=st.integers(0, 2**32 - 1))
def test_row_order_of_other_keys_irrelevant(lw: ModuleType, case: JoinCase, seed: int) -> None:
    # Shuffling the feedback rows changes nothing: only prediction input order breaks ties.
    import numpy as np

    perm = np.random.default_rng(seed).permutation(case.fb.num_rows)
    # (Table.take has no string_view kernel: reassemble 1-row slices instead.)
    rows = rechunk(case.fb, [1]).to_batches()
    shuffled = pa.Table.from_batches([rows[i] for i in perm], schema=case.fb.schema)
    a = lw.label_join(case.pred, case.fb, **case.kwargs)
    b = lw.label_join(case.pred, shuffled, **case.kwargs)
    assert_same_result(lw, a, b, "shuffled feedback")
