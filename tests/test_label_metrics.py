"""``lw.label_metrics`` and ``lw.position_curve`` against the slow references (contract §4).

* hypothesis differential tests over :func:`metric_cases`: random tables with nulls in labels,
  times and segments, tied scores and scores exactly 0 and 1, one-class and all-pending buckets,
  negative times, timestamps of every unit (naive and aware) or integer times, int / str /
  dictionary / bool segments, empty inputs and inputs split into tiny record batches;
* invariance: the same table exactly (``Table.equals``) at 1 and 4 threads and however it is
  split into batches;
* scikit-learn's ``roc_auc_score`` / ``log_loss`` / ``brier_score_loss`` per bucket and segment
  as a second oracle on one larger table;
* bad input: the right error class, naming the column or argument.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import reference_metrics as rm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_metrics import assert_tables_match
from strategies import examples, rechunk, table_expr

SETTINGS = settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UNIT_NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# Bucket widths in nanoseconds (only those that are whole numbers of the column's unit are used).
EVERY_NANOS = [10**6, 250 * 10**6, 10**9, 7 * 10**9, 60 * 10**9, 5_400 * 10**9, 86_400 * 10**9]
ZONES = [None, None, "UTC", "Europe/Paris", "Asia/Kolkata"]
LABEL_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.bool_()]
SCORE_POOL = [0.0, 1.0, 0.5, 0.25, 0.1, 0.3, 0.7, 0.95, 5e-324, 1e-16, 1.0 - 2**-53, 0.9999999]
SEGMENT_KINDS: dict[str, tuple[list[pa.DataType], list[Any]]] = {
    "int": ([pa.int8(), pa.int32(), pa.int64()], [0, 1, -3]),
    "uint64": ([pa.uint64()], [0, 7, 2**63 + 5]),
    "str": (
        [pa.string(), pa.large_string(), pa.string_view(), pa.dictionary(pa.int32(), pa.string())],
        ["a", "b", "é", ""],
    ),
    "bool": ([pa.bool_()], [True, False]),
}


@dataclass
class MetricsCase:
    """One table and the keyword arguments of ``lw.label_metrics``; ``sizes`` re-batches it."""

    table: pa.Table
    kwargs: dict[str, Any]
    sizes: list[int] | None = None

    def __repr__(self) -> str:
        return f"MetricsCase(\n  table={table_expr(self.table)},\n  kwargs={self.kwargs!r})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def batched(self, sizes: list[int] | None = None) -> pa.Table:
        return rechunk(self.table, sizes if sizes is not None else self.sizes, redict=True)


def _every_arg(nanos: int, draw: st.DrawFn) -> Any:
    forms: list[Any] = [rm.compact(nanos)]
    if nanos % 1_000 == 0:
        forms.append(dt.timedelta(microseconds=nanos // 1_000))
    if nanos % 10**9 == 0:
        forms.append(f"{nanos // 10**9}s")
    return draw(st.sampled_from(forms))


@st.composite
def time_columns(draw: st.DrawFn, n: int) -> tuple[pa.Array, Any]:
    """A time column of ``n`` rows and a matching ``every`` (or None)."""
    nullable = draw(st.booleans())
    if draw(st.sampled_from(["int", "ts", "ts"])) == "int":
        t = draw(st.sampled_from([pa.int16(), pa.int32(), pa.int64()]))
        every: Any = draw(st.one_of(st.none(), st.integers(1, 9)))
        width = every or 5
        base = draw(st.sampled_from([0, -3 * width, 1_000]))
        raw = [base + draw(st.integers(-3 * width, 3 * width)) for _ in range(n)]
    else:
        unit = draw(st.sampled_from(list(UNIT_NANOS)))
        t = pa.timestamp(unit, tz=draw(st.sampled_from(ZONES)))
        fits = [e for e in EVERY_NANOS if e % UNIT_NANOS[unit] == 0]
        nanos = draw(st.sampled_from(fits))
        width = nanos // UNIT_NANOS[unit]
        every = None if draw(st.integers(0, 5)) == 0 else _every_arg(nanos, draw)
        # Near the epoch (both signs), before it, or in 2024; steps of a third of a bucket plus
        # one unit either side of the bucket edges.
        base = draw(st.sampled_from([0, -7 * width, 1_717_200_000 * 10**9 // UNIT_NANOS[unit]]))
        step = max(width // 3, 1)
        raw = [
            base + draw(st.integers(-6, 6)) * step + draw(st.sampled_from([0, 0, 0, -1, 1]))
            for _ in range(n)
        ]
    values = [None if nullable and draw(st.integers(0, 6)) == 0 else v for v in raw]
    return pa.array(values, type=t), every


@st.composite
def label_columns(draw: st.DrawFn, n: int) -> pa.Array:
    t = draw(st.sampled_from(LABEL_TYPES))
    mode = draw(st.sampled_from(["mixed", "mixed", "mixed", "zeros", "ones", "pending", "final"]))
    pool: list[Any] = {
        "mixed": [0, 1, None],
        "zeros": [0, None],
        "ones": [1, None],
        "pending": [None],
        "final": [0, 1],
    }[mode]
    values = [draw(st.sampled_from(pool)) for _ in range(n)]
    if t == pa.bool_():
        values = [None if v is None else bool(v) for v in values]
    return pa.array(values, type=t)


@st.composite
def score_columns(draw: st.DrawFn, labels: list[Any]) -> pa.Array:
    t = draw(st.sampled_from([pa.float64(), pa.float64(), pa.float32()]))
    pooled = st.sampled_from(SCORE_POOL)
    any_p = st.floats(0.0, 1.0, allow_nan=False)
    coarse = st.integers(0, 10).map(lambda k: k / 10)  # ties and ECE bin edges
    values: list[float | None] = []
    for y in labels:
        if y is None and draw(st.booleans()):
            values.append(None)  # fine on a pending row
        else:
            values.append(draw(st.one_of(pooled, coarse, any_p)))
    return pa.array(values, type=t)


@st.composite
def segment_columns(draw: st.DrawFn, n: int, count: int) -> dict[str, pa.Array]:
    out = {}
    for i in range(count):
        kind = draw(st.sampled_from(list(SEGMENT_KINDS)))
        types, domain = SEGMENT_KINDS[kind]
        t = draw(st.sampled_from(types))
        k = draw(st.integers(1, len(domain)))
        pool: list[Any] = [*domain[:k], None]
        out[f"seg{i}"] = pa.array([draw(st.sampled_from(pool)) for _ in range(n)], type=t)
    return out


@st.composite
def chunk_sizes(draw: st.DrawFn) -> list[int] | None:
    return draw(st.one_of(st.none(), st.just([1]), st.lists(st.integers(1, 3), min_size=1)))


@st.composite
def metric_cases(
    draw: st.DrawFn, max_rows: int = 40, with_score: bool | None = None
) -> MetricsCase:
    n = draw(st.integers(0, max_rows))
    ts, every = draw(time_columns(n))
    label = draw(label_columns(n))
    columns: dict[str, pa.Array] = {"ts": ts, "y": label}
    if with_score is None:
        with_score = draw(st.booleans())
    if with_score:
        columns["p"] = draw(score_columns(label.to_pylist()))
    segments = draw(segment_columns(n, draw(st.integers(0, 2))))
    columns |= segments
    kwargs: dict[str, Any] = {"label": "y", "time": "ts", "every": every}
    if with_score:
        kwargs["score"] = "p"
    if segments:
        names = list(segments)
        kwargs["by"] = names[0] if len(names) == 1 and draw(st.booleans()) else names
    return MetricsCase(pa.table(columns), kwargs, draw(chunk_sizes()))


# --- differential tests ---------------------------------------------------------------------


@SETTINGS
@given(case=metric_cases())
def test_label_metrics_matches_reference(lw: ModuleType, case: MetricsCase) -> None:
    want = rm.label_metrics(case.table, **case.kwargs)
    got = lw.label_metrics(case.batched(), **case.kwargs)
    assert isinstance(got, pa.Table)
    assert_tables_match(got, want)


@settings(SETTINGS, max_examples=examples(40))
@given(case=metric_cases(max_rows=150, with_score=True))
def test_label_metrics_matches_reference_bigger(lw: ModuleType, case: MetricsCase) -> None:
    assert_tables_match(
        lw.label_metrics(case.batched(), **case.kwargs), rm.label_metrics(case.table, **case.kwargs)
    )


@settings(SETTINGS, max_examples=examples(60))
@given(case=metric_cases(max_rows=60), sizes=chunk_sizes())
def test_label_metrics_identical_across_threads_and_batches(
    lw: ModuleType, case: MetricsCase, sizes: list[int] | None
) -> None:
    one = lw.label_metrics(case.table, **case.kwargs, threads=1)
    assert lw.label_metrics(case.table, **case.kwargs, threads=4).equals(one)
    assert lw.label_metrics(case.batched(), **case.kwargs, threads=4).equals(one)
    assert lw.label_metrics(case.batched(sizes), **case.kwargs, threads=1).equals(one)
    # Reversed batch order: sums run in score order, so even the floats are identical.
    batches = case.batched([1]).to_batches()[::-1]
    reversed_rows = pa.Table.from_batches(batches, schema=case.table.schema)
    assert lw.label_metrics(reversed_rows, **case.kwargs, threads=4).equals(one)


@settings(SETTINGS, max_examples=examples(40))
@given(case=metric_cases(max_rows=30))
def test_label_metrics_many_tiny_batches(lw: ModuleType, case: MetricsCase) -> None:
    tiny = case.batched([1, 3, 2])
    assert tiny.num_rows == 0 or len(tiny.to_batches()) >= (case.table.num_rows + 2) // 3
    assert_tables_match(
        lw.label_metrics(tiny, **case.kwargs), rm.label_metrics(case.table, **case.kwargs)
    )


@SETTINGS
@given(case=metric_cases(max_rows=30), data=st.data())
def test_position_curve_matches_reference(
    lw: ModuleType, case: MetricsCase, data: st.DataObject
) -> None:
    n = case.table.num_rows
    t = data.draw(st.sampled_from([pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8()]))
    pool = st.sampled_from([1, 2, 3, 4, None] if data.draw(st.booleans()) else [1, 2, 3, 4])
    positions = pa.array([data.draw(pool) for _ in range(n)], type=t)
    table = case.table.append_column("position", positions)
    by = case.kwargs.get("by")
    want = rm.position_curve(table, label="y", by=by)
    got = lw.position_curve(rechunk(table, case.sizes, redict=True), label="y", by=by)
    assert_tables_match(got, want)
    one = lw.position_curve(table, label="y", by=by, threads=1)
    assert lw.position_curve(table, label="y", by=by, threads=4).equals(one)


def test_position_curve_hand_case(lw: ModuleType) -> None:
    table = pa.table(
        {
            "pos": pa.array([2, 1, 1, 2, None, 3, 1, 2], pa.int16()),
            "seg": ["x", "x", "x", "x", "x", "x", "y", "y"],
            "y": pa.array([1, 1, 0, 1, 1, None, 0, 1]),
        }
    )
    got = lw.position_curve(table, label="y", position="pos", by="seg")
    assert_tables_match(got, rm.position_curve(table, label="y", position="pos", by="seg"))
    assert got["relative_rate"].to_pylist() == [1.0, 2.0, None, 2.0, None, None]


# --- hand-picked edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "tz"), [("s", None), ("ms", "UTC"), ("us", "Europe/Paris"), ("ns", "Asia/Kolkata")]
)
def test_bucket_start_keeps_unit_and_zone_and_floors_negative_times(
    lw: ModuleType, unit: str, tz: str | None
) -> None:
    per_s = 10**9 // UNIT_NANOS[unit]
    ts = pa.array([-1, 0, 3_599 * per_s, 3_600 * per_s, None, -3_600 * per_s - 1], pa.int64())
    table = pa.table(
        {"ts": ts.cast(pa.timestamp(unit, tz=tz)), "y": pa.array([1, 0, 1, None, 0, 1])}
    )
    got = lw.label_metrics(table, label="y", every="1h")
    assert got.schema.field("bucket_start").type == pa.timestamp(unit, tz=tz)
    starts = got["bucket_start"].cast(pa.int64()).to_pylist()
    assert starts == [-7_200 * per_s, -3_600 * per_s, 0, 3_600 * per_s, None]
    assert got["n"].to_pylist() == [1, 1, 2, 1, 1]
    assert_tables_match(got, rm.label_metrics(table, label="y", every="1h"))


def test_integer_time_with_integer_every(lw: ModuleType) -> None:
    ts = pa.array([0, 1, 2, 3, 10, 11, 20, 21, None, -1], pa.int32())
    table = pa.table(
        {
            "t": ts,
            "y": pa.array([1, 0, 1, 0, 1, 1, None, None, 0, 1], pa.int8()),
            "p": pa.array([0.4, 0.4, 0.8, 0.2, 0.3, 0.9, None, 0.5, 0.0, 1.0]),
        }
    )
    got = lw.label_metrics(table, label="y", score="p", time="t", every=10)
    assert got.schema.field("bucket_start").type == pa.int32()
    assert got["bucket_start"].to_pylist() == [-10, 0, 10, 20, None]
    assert got["roc_auc"].to_pylist()[1] == 0.875
    assert got["roc_auc"].to_pylist()[2] is None  # one class
    assert got["log_loss"].to_pylist()[3] is None  # all pending
    assert got["matured"].to_pylist()[3] == 0.0
    assert_tables_match(got, rm.label_metrics(table, label="y", score="p", time="t", every=10))


def test_scores_exactly_zero_and_one_clip(lw: ModuleType) -> None:
    table = pa.table({"y": pa.array([1, 0, 0, 1]), "p": [0.0, 1.0, 0.0, 1.0]})
    row = lw.label_metrics(table, label="y", score="p").to_pylist()[0]
    hi = 1.0 - 1e-15  # p = 1 clipped; 1 - hi is 9.99e-16 in floats
    want = (-math.log(1e-15) - math.log(1.0 - hi) - 2 * math.log(hi)) / 4
    assert row["log_loss"] == pytest.approx(want, rel=1e-12)
    assert row["brier"] == 0.5 and row["roc_auc"] == 0.5 and row["ece"] == 0.5
    assert_tables_match(
        lw.label_metrics(table, label="y", score="p"), rm.label_metrics(table, label="y", score="p")
    )


def test_negative_zero_score_ties_with_zero(lw: ModuleType) -> None:
    table = pa.table({"y": pa.array([1, 0]), "p": [-0.0, 0.0]})
    assert lw.label_metrics(table, label="y", score="p")["roc_auc"].to_pylist() == [0.5]


@pytest.mark.parametrize("with_score", [False, True])
@pytest.mark.parametrize(
    "seg_type", [pa.dictionary(pa.int16(), pa.string()), pa.string_view(), pa.bool_(), pa.uint64()]
)
def test_empty_input_has_the_full_schema(
    lw: ModuleType, with_score: bool, seg_type: pa.DataType
) -> None:
    table = pa.table(
        {
            "ts": pa.array([], pa.timestamp("ms", tz="UTC")),
            "y": pa.array([], pa.bool_()),
            "p": pa.array([], pa.float32()),
            "g": pa.array([], seg_type),
        }
    )
    kwargs: dict[str, Any] = {"label": "y", "every": "1h", "by": "g"}
    if with_score:
        kwargs["score"] = "p"
    got = lw.label_metrics(table, **kwargs)
    assert got.num_rows == 0
    assert_tables_match(got, rm.label_metrics(table, **kwargs))
    plain = lw.label_metrics(table, label="y")
    assert plain.num_rows == 0 and plain.column_names[0] == "n"
    curve = lw.position_curve(table.append_column("position", pa.array([], pa.int32())), label="y")
    assert curve.num_rows == 0 and curve.column_names[0] == "position"


def test_pending_rows_need_no_score(lw: ModuleType) -> None:
    table = pa.table({"y": pa.array([1, None, None]), "p": pa.array([0.5, None, None])})
    got = lw.label_metrics(table, label="y", score="p").to_pylist()[0]
    assert (got["n"], got["n_labeled"], got["n_pending"], got["mean_score"]) == (3, 1, 2, 0.5)


def test_values_under_nulls_are_ignored(lw: ModuleType) -> None:
    """A null slot may hold anything (here 7 for a label, NaN and -3 for scores): the fast
    whole-column checks must fall back to the row-by-row ones, which skip them."""
    y_clean = pa.array([1, None, 0, None], pa.int8())
    p_clean = pa.array([0.5, None, 0.25, 0.75])
    valid_y = y_clean.buffers()[0]
    valid_p = p_clean.buffers()[0]
    y_dirty = pa.Array.from_buffers(
        pa.int8(), 4, [valid_y, pa.py_buffer(np.array([1, 7, 0, 7], np.int8).tobytes())]
    )
    p_dirty = pa.Array.from_buffers(
        pa.float64(), 4, [valid_p, pa.py_buffer(np.array([0.5, np.nan, 0.25, 0.75]).tobytes())]
    )
    clean = pa.table({"y": y_clean, "p": p_clean})
    for dirty in (
        pa.table({"y": y_dirty, "p": p_clean}),
        pa.table({"y": y_clean, "p": p_dirty}),
        pa.table({"y": y_dirty, "p": p_dirty}),
    ):
        assert dirty.column("y").to_pylist() == clean.column("y").to_pylist()
        got = lw.label_metrics(dirty, label="y", score="p")
        assert got.equals(lw.label_metrics(clean, label="y", score="p"))
    # A bad value on a labeled row is still found behind such slots.
    bad = pa.table({"y": y_dirty, "p": pa.array([0.5, None, 1.5, None])})
    with pytest.raises(lw.DataError, match=r"1\.5"):
        lw.label_metrics(bad, label="y", score="p")


# --- scikit-learn as a second oracle --------------------------------------------------------


def big_random_table(seed: int, n: int = 4_000) -> pa.Table:
    rng = np.random.default_rng(seed)
    hour_us = 3_600 * 10**6
    score = rng.beta(1.0, 3.0, n)
    score[rng.random(n) < 0.1] = 0.25
    score = np.where(rng.random(n) < 0.3, np.round(score, 2), score)
    score[:4] = [0.0, 1.0, 0.0, 1.0]
    label = (rng.random(n) < score).astype(np.int8)
    pending = rng.random(n) < 0.2
    ts = 1_717_200_000 * 10**6 + rng.integers(-2 * hour_us, 6 * hour_us, n)
    ts[:20] = -hour_us + np.arange(20)  # before the epoch: one-class bucket
    label[:20] = 1
    pending[:20] = False
    ts[20:40] = 30 * hour_us  # an all-pending bucket
    pending[20:40] = True
    seg = rng.choice(np.array(["web", "app", "tv", None], dtype=object), n)
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC"), mask=rng.random(n) < 0.03),
            "y": pa.array(label, mask=pending),
            "p": pa.array(score),
            "seg": pa.array(seg, pa.string()).dictionary_encode(),
        }
    )


@pytest.mark.parametrize(("every", "by"), [("1h", "seg"), (None, "seg"), ("30m", None)])
def test_label_metrics_matches_sklearn_per_bucket(
    lw: ModuleType, every: str | None, by: str | None
) -> None:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    table = big_random_table(11)
    got = lw.label_metrics(table, label="y", score="p", every=every, by=by)
    ts = table["ts"].cast(pa.int64()).to_pylist()
    width = None if every is None else rm.parse_duration(every, "every") // 1_000
    buckets = [None if (t is None or width is None) else t // width * width for t in ts]
    segs = table["seg"].cast(pa.string()).to_pylist() if by else [None] * len(ts)
    y_all = table["y"].to_numpy(zero_copy_only=False)  # float, NaN = pending
    p_all = table["p"].to_numpy()
    seen = 0
    assert got["roc_auc"].null_count >= (2 if every else 0)
    for row in got.to_pylist():
        b = None if every is None else row["bucket_start"]
        if b is not None:
            b = (b - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
        s = row[by] if by else None
        if every is None:
            m = np.array([(g == s) for g in segs])
        else:
            m = np.array([(k == b and g == s) for k, g in zip(buckets, segs, strict=True)])
        lab = m & ~np.isnan(y_all)
        y, p = y_all[lab].astype(int), p_all[lab]
        seen += int(m.sum())
        assert (row["n"], row["n_labeled"], row["positives"]) == (m.sum(), lab.sum(), y.sum())
        if not lab.any():
            assert row["log_loss"] is None and row["roc_auc"] is None
            continue
        clipped = np.clip(p, rm.EPS, 1 - rm.EPS)
        assert row["mean_score"] == pytest.approx(p.mean(), rel=1e-12)
        assert row["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]), rel=1e-10)
        assert row["brier"] == pytest.approx(brier_score_loss(y, p, pos_label=1), rel=1e-10)
        if 0 < y.sum() < len(y):
            assert row["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
        else:
            assert row["roc_auc"] is None
    assert seen == table.num_rows


# --- bad input ------------------------------------------------------------------------------


def bad_table() -> pa.Table:
    return pa.table(
        {
            "ts": pa.array([0, 3_600, None], pa.timestamp("s")),
            "ti": pa.array([0, 5, 7], pa.int64()),
            "y": pa.array([1, 0, None], pa.int8()),
            "p": pa.array([0.2, 0.4, None]),
            "f": pa.array([0.5, 1.0, 1.5]),
            "g": pa.array(["a", "b", None]),
        }
    )


def with_column(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


@pytest.mark.parametrize(
    ("y", "word"),
    [
        (pa.array([1, 2, None], pa.int8()), "2"),
        (pa.array([1, -1, None], pa.int64()), "-1"),
        (pa.array([0, 2, 1], pa.uint8()), "2"),
    ],
)
def test_labels_other_than_0_1_are_data_errors(lw: ModuleType, y: pa.Array, word: str) -> None:
    table = with_column(bad_table(), "y", y)
    with pytest.raises(lw.DataError, match=r"(?s)label.*'y'|\"y\"") as info:
        lw.label_metrics(table, label="y", score="p")
    assert word in str(info.value)
    with pytest.raises(lw.DataError, match="y"):
        lw.position_curve(table.append_column("position", pa.array([1, 2, 3])), label="y")


@pytest.mark.parametrize(
    "p",
    [
        [0.2, float("nan"), None],
        [0.2, 1.5, None],
        [-0.1, 0.4, None],
        [0.2, None, None],  # null score on a labeled row
        [0.2, float("inf"), None],
    ],
)
def test_bad_scores_on_labeled_rows_are_data_errors(lw: ModuleType, p: list[Any]) -> None:
    table = with_column(bad_table(), "p", pa.array(p, pa.float64()))
    with pytest.raises(lw.DataError, match=r"score.*\"p\""):
        lw.label_metrics(table, label="y", score="p")
    with pytest.raises(lw.DataError, match="score"):
        rm.label_metrics(table, label="y", score="p")


@pytest.mark.parametrize("bad", [float("nan"), 1.5, -0.1])
def test_bad_score_on_a_pending_row_is_a_data_error(lw: ModuleType, bad: float) -> None:
    table = with_column(bad_table(), "p", pa.array([0.2, 0.4, bad], pa.float64()))
    with pytest.raises(lw.DataError, match="score"):
        rm.label_metrics(table, label="y", score="p")  # the reference refuses it
    with pytest.raises(lw.DataError, match="score"):
        lw.label_metrics(table, label="y", score="p")


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"label": "f"}, "SchemaError", "'f'|\"f\""),  # float label column
        ({"label": "g"}, "SchemaError", "'g'|\"g\""),
        ({"label": "y", "score": "g"}, "SchemaError", "'g'|\"g\""),
        ({"label": "y", "score": "ti"}, "SchemaError", "'ti'|\"ti\""),
        ({"label": "nope"}, "SchemaError", "nope"),
        ({"label": "y", "score": "nope"}, "SchemaError", "nope"),
        ({"label": "y", "time": "nope", "every": "1h"}, "SchemaError", "nope"),
        ({"label": "y", "by": "nope"}, "SchemaError", "nope"),
        ({"label": "y", "by": ["g", "nope"]}, "SchemaError", "nope"),
        ({"label": "y", "by": "f"}, "SchemaError", "'f'|\"f\""),  # float segment
        ({"label": "y", "by": "p"}, "SchemaError", "'p'|\"p\""),
        ({"label": "y", "time": "f", "every": "1h"}, "SchemaError", "'f'|\"f\""),
        ({"label": "y", "every": "0s"}, "ConfigError", "every"),
        ({"label": "y", "every": "-1h"}, "ConfigError", "every"),
        ({"label": "y", "every": "3 fortnights"}, "ConfigError", "every"),
        ({"label": "y", "every": "1mo"}, "ConfigError", "every"),
        ({"label": "y", "every": ""}, "ConfigError", "every"),
        ({"label": "y", "every": 3600}, "ConfigError", "every"),  # int on a timestamp column
        ({"label": "y", "every": dt.timedelta(0)}, "ConfigError", "every"),
        ({"label": "y", "every": dt.timedelta(hours=-1)}, "ConfigError", "every"),
        ({"label": "y", "every": "500ms"}, "ConfigError", "every"),  # finer than seconds
        ({"label": "y", "every": True}, "ConfigError", "every"),
        ({"label": "y", "every": 1.5}, "ConfigError", "every"),
        ({"label": "y", "time": "ti", "every": 0}, "ConfigError", "every"),
        ({"label": "y", "time": "ti", "every": -5}, "ConfigError", "every"),
        ({"label": "y", "time": "ti", "every": "1h"}, "ConfigError", "every"),
    ],
)
def test_bad_arguments_name_the_column(
    lw: ModuleType, kwargs: dict[str, Any], error: str, word: str
) -> None:
    with pytest.raises(getattr(lw, error), match=word):
        lw.label_metrics(bad_table(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"label": "f"}, "SchemaError", "'f'|\"f\""),
        ({"label": "y", "position": "nope"}, "SchemaError", "nope"),
        ({"label": "y", "position": "f"}, "SchemaError", "'f'|\"f\""),
        ({"label": "y", "by": "f"}, "SchemaError", "'f'|\"f\""),
        ({"label": "y", "by": "position"}, "ConfigError", "position"),
    ],
)
def test_position_curve_bad_arguments(
    lw: ModuleType, kwargs: dict[str, Any], error: str, word: str
) -> None:
    table = bad_table().append_column("position", pa.array([1, 2, 3], pa.int32()))
    with pytest.raises(getattr(lw, error), match=word):
        lw.position_curve(table, **kwargs)


def test_bad_value_in_a_later_batch_is_still_caught(lw: ModuleType) -> None:
    good = pa.table({"y": pa.array([1, 0] * 50, pa.int8()), "p": [0.5] * 100})
    bad = pa.table({"y": pa.array([1, 7], pa.int8()), "p": [0.5, 0.5]})
    table = pa.concat_tables([good, good, bad])
    with pytest.raises(lw.DataError, match="label"):
        lw.label_metrics(table, label="y", score="p", threads=4)
