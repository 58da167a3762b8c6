"""``lw.delay_profile`` and ``lw.window_tradeoff`` against the references (contract §3), and
``window_tradeoff`` against labels recomputed by ``lw.label_join`` for each window separately.

* delay_profile: random delays (zeros, ties, histogram edges and one unit either side, big
  values, nulls) of every duration unit and integer width, small groups (the exact path, at most
  1,024 values: quantiles to float precision) and groups of thousands (the sketch path: quantiles
  within 1%); counts, means and histograms always exact;
* window_tradeoff: random tables (timestamp or integer time, delays of another unit, windows at
  the delay edges, matured or not), watermark given or read from ``loopwatch.stats``;
* the re-join oracle: one ``label_join`` with every candidate window, then one join per window;
  among predictions matured for the reference, ``captured(w)`` = predictions with
  ``label_w == 1`` and ``reference_positives`` = those with ``label_<reference> == 1``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import reference_metrics as rm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_metrics import assert_tables_match
from strategies import examples, make_logs, rechunk, table_expr

SETTINGS = settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UNIT_NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
INT_RANGES = {
    pa.int8(): 127,
    pa.int16(): 2**15 - 1,
    pa.int32(): 2**31 - 1,
    pa.int64(): 2**63 - 1,
    pa.uint8(): 255,
    pa.uint32(): 2**32 - 1,
}
SEGMENTS: list[tuple[pa.DataType, list[Any]]] = [
    (pa.int32(), [1, 2, -7]),
    (pa.string(), ["a", "b", "é"]),
    (pa.dictionary(pa.int8(), pa.string()), ["x", "y"]),
    (pa.bool_(), [True, False]),
]


@dataclass
class Case:
    table: pa.Table
    kwargs: dict[str, Any]
    sizes: list[int] | None = None

    def __repr__(self) -> str:
        meta = (self.table.schema.metadata or {}).get(b"loopwatch.stats")
        return (
            f"Case(\n  table={table_expr(self.table)},\n  metadata={meta!r},\n"
            f"  kwargs={self.kwargs!r},\n  sizes={self.sizes!r})"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def batched(self) -> pa.Table:
        out = rechunk(self.table, self.sizes, redict=True)
        return out.replace_schema_metadata(self.table.schema.metadata)


@st.composite
def segment_column(draw: st.DrawFn, n: int) -> pa.Array | None:
    if draw(st.booleans()):
        return None
    t, domain = draw(st.sampled_from(SEGMENTS))
    pool = [*domain[: draw(st.integers(1, len(domain)))], None]
    return pa.array([draw(st.sampled_from(pool)) for _ in range(n)], type=t)


@st.composite
def chunk_sizes(draw: st.DrawFn) -> list[int] | None:
    return draw(st.one_of(st.none(), st.just([1]), st.lists(st.integers(1, 4), min_size=1)))


# --- delay_profile --------------------------------------------------------------------------


@st.composite
def delay_values(draw: st.DrawFn, t: pa.DataType, n: int) -> list[int | None]:
    if pa.types.is_duration(t):
        per_s = 10**9 // UNIT_NANOS[t.unit]
        edges = [e * per_s for e in rm.DURATION_EDGES_S]
        top = 10**18 // UNIT_NANOS[t.unit]  # 31 years (s: 3e10 years)
    else:
        edges = [e for e in rm.INTEGER_EDGES if e <= INT_RANGES[t]]
        top = INT_RANGES[t]
    special = [0, 1, *edges, *(e - 1 for e in edges if e > 0), *(e + 1 for e in edges)]
    special = [v for v in special if 0 <= v <= top]
    tie = draw(st.integers(0, top))
    value = st.one_of(
        st.sampled_from(special),
        st.integers(0, min(top, 100 * (edges[3] if len(edges) > 3 else 1))),
        st.integers(0, top),
        st.just(tie),
    )
    null_share = draw(st.sampled_from([0, 0, 3, 8]))
    return [
        None if null_share and draw(st.integers(0, 9)) < null_share else draw(value)
        for _ in range(n)
    ]


@st.composite
def profile_cases(draw: st.DrawFn, max_rows: int = 40) -> Case:
    n = draw(st.integers(0, max_rows))
    t = draw(
        st.sampled_from(
            [pa.duration(u) for u in UNIT_NANOS] + list(INT_RANGES) + [pa.duration("ms")] * 2
        )
    )
    columns = {"d": pa.array(draw(delay_values(t, n)), type=t)}
    kwargs: dict[str, Any] = {"delay": "d"}
    seg = draw(segment_column(n))
    if seg is not None:
        columns["g"] = seg
        kwargs["by"] = draw(st.sampled_from(["g", ["g"]]))
    return Case(pa.table(columns), kwargs, draw(chunk_sizes()))


def assert_profile_matches(
    got: Any, want: rm.DelayProfileTables, quantile_rel: float | None = None
) -> None:
    assert {type(got.summary), type(got.histogram)} == {pa.Table}
    assert_tables_match(got.summary, want.summary, quantile_rel=quantile_rel)
    assert_tables_match(got.histogram, want.histogram, rel=0.0)
    # Duration means are exact (rounded half up); assert_tables_match allows one unit. Means of
    # 2**52 units and more: see test_duration_mean_is_exact_for_big_delays.
    means = want.summary["mean"]
    if pa.types.is_duration(means.type) and (pc.max(means.cast(pa.int64())).as_py() or 0) < 2**52:
        assert got.summary["mean"].equals(means)


@SETTINGS
@given(case=profile_cases())
def test_delay_profile_matches_reference_exact_path(lw: ModuleType, case: Case) -> None:
    got = lw.delay_profile(case.batched(), **case.kwargs)
    assert isinstance(got, lw.DelayProfile)
    assert_profile_matches(got, rm.delay_profile(case.table, **case.kwargs))


@settings(SETTINGS, max_examples=examples(40))
@given(case=profile_cases(max_rows=40), sizes=chunk_sizes())
def test_delay_profile_identical_across_threads_and_batches(
    lw: ModuleType, case: Case, sizes: list[int] | None
) -> None:
    one = lw.delay_profile(case.table, **case.kwargs, threads=1)
    for table, threads in [(case.table, 4), (case.batched(), 4), (rechunk(case.table, sizes), 1)]:
        got = lw.delay_profile(table, **case.kwargs, threads=threads)
        assert got.summary.equals(one.summary) and got.histogram.equals(one.histogram)


def big_delays(seed: int, t: pa.DataType) -> pa.Table:
    """Segments of ~5000, 3000, 1025 (one past the exact limit), 1024 and 40 delays."""
    rng = np.random.default_rng(seed)
    unit_nanos = UNIT_NANOS[t.unit] if pa.types.is_duration(t) else 1
    per_s = 10**9 // unit_nanos if pa.types.is_duration(t) else 1
    sizes = {"big": 5_000, "zeros": 3_000, "past": 1_025, "limit": 1_024, "small": 40}
    parts, segs = [], []
    for name, size in sizes.items():
        base = 120 * per_s if pa.types.is_duration(t) else 500
        d = rng.lognormal(np.log(base), 2.0, size).astype(np.int64)
        if name == "zeros":
            d[: size // 2] = 0  # p50 between zeros and the rest
            d[size // 2 : size // 2 + 400] = 7 * per_s  # a big tie
        if name == "big":
            d[:3] = [0, 40 * 86_400 * per_s, 10**18 // unit_nanos]
        parts.append(d)
        segs += [name] * size
    d = np.concatenate(parts)
    nulls = rng.random(len(d)) < 0.02
    order = rng.permutation(len(d))
    return pa.table(
        {
            "d": pa.array(d[order], type=pa.int64(), mask=nulls[order]).cast(t),
            "g": pa.array(np.array(segs, dtype=object)[order], pa.string()),
        }
    )


@pytest.mark.parametrize("t", [pa.duration("ms"), pa.duration("ns"), pa.duration("s"), pa.int64()])
def test_delay_profile_sketch_path_within_one_percent(lw: ModuleType, t: pa.DataType) -> None:
    table = big_delays(3, t)
    got = lw.delay_profile(table, delay="d", by="g")
    want = rm.delay_profile(table, delay="d", by="g")
    assert_profile_matches(got, want, quantile_rel=0.01)
    # Up to 1,024 values per segment the quantiles are exact (to float precision and rounding).
    exact = pc.less_equal(want.summary["count"], 1_024)
    assert pc.sum(exact).as_py() >= 2
    assert_tables_match(got.summary.filter(exact), want.summary.filter(exact))
    # Whatever the batching or thread count: identical.
    again = lw.delay_profile(rechunk(table, [997, 1, 3]), delay="d", by="g", threads=4)
    assert again.summary.equals(got.summary) and again.histogram.equals(got.histogram)


def test_delay_profile_numpy_quantiles_per_segment(lw: ModuleType) -> None:
    table = big_delays(5, pa.duration("us"))
    got = lw.delay_profile(table, delay="d", by="g").summary.to_pylist()
    d = table["d"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    segs = np.array(table["g"].to_pylist(), dtype=object)
    for row in got:
        values = d[(segs == row["g"]) & ~np.isnan(d)]
        assert row["count"] == len(values)
        us = dt.timedelta(microseconds=1)
        for name, q in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)]:
            want = np.quantile(values, q)
            assert abs(row[name] / us - want) <= max(1.0, 0.01 * want), (row["g"], name)


@pytest.mark.parametrize("v", [2**52 + 1, 2**52 + 3, 5 * 86_400 * 10**9 * 11 + 1])
def test_duration_mean_is_exact_for_big_delays(lw: ModuleType, v: int) -> None:
    table = pa.table({"d": pa.array([v, v], pa.duration("ns"))})
    assert rm.delay_profile(table, delay="d").summary["mean"].cast(pa.int64()).to_pylist() == [v]
    got = lw.delay_profile(table, delay="d").summary
    assert got["mean"].cast(pa.int64()).to_pylist() == [v]


@pytest.mark.parametrize("t", [pa.duration("s"), pa.duration("ns"), pa.int8(), pa.int64()])
def test_negative_delay_is_a_data_error(lw: ModuleType, t: pa.DataType) -> None:
    table = pa.table({"d": pa.array([3, None, -1, 2], t)})
    with pytest.raises(lw.DataError, match=r"delay.*\"d\""):
        lw.delay_profile(table, delay="d")
    # Also when the negative value comes in a later batch.
    table = pa.concat_tables([pa.table({"d": pa.array([1] * 100, t)}), table])
    with pytest.raises(lw.DataError, match="negative"):
        lw.delay_profile(rechunk(table, [7]), delay="d", threads=4)


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"delay": "nope"}, "SchemaError", "nope"),
        ({"delay": "f"}, "SchemaError", "'f'|\"f\""),
        ({"delay": "ts"}, "SchemaError", "'ts'|\"ts\""),
        ({"delay": "d", "by": "f"}, "SchemaError", "'f'|\"f\""),
        ({"delay": "d", "by": "nope"}, "SchemaError", "nope"),
    ],
)
def test_delay_profile_bad_arguments(
    lw: ModuleType, kwargs: dict[str, Any], error: str, word: str
) -> None:
    table = pa.table(
        {
            "d": pa.array([1, 2], pa.duration("s")),
            "f": [0.5, 1.5],
            "ts": pa.array([0, 1], pa.timestamp("s")),
        }
    )
    with pytest.raises(getattr(lw, error), match=word):
        lw.delay_profile(table, **kwargs)


def test_delay_profile_empty_and_all_null(lw: ModuleType) -> None:
    empty = pa.table({"d": pa.array([], pa.duration("us")), "g": pa.array([], pa.string())})
    assert_profile_matches(
        lw.delay_profile(empty, delay="d", by="g"), rm.delay_profile(empty, delay="d", by="g")
    )
    nulls = pa.table({"d": pa.array([None, None], pa.int32()), "g": ["a", None]})
    got = lw.delay_profile(nulls, delay="d", by="g")
    assert_profile_matches(got, rm.delay_profile(nulls, delay="d", by="g"))
    assert got.histogram.num_rows == 0 and got.summary["count"].to_pylist() == [0, 0]


# --- window_tradeoff: against the reference -------------------------------------------------

REF_CANDIDATES = [60, 90, 300, 1_800, 2_700, 3_600, 7_200, 86_400]  # seconds


def _window_arg(seconds: int, draw: st.DrawFn) -> Any:
    forms: list[Any] = [rm.compact(seconds * 10**9), f"{seconds}s", dt.timedelta(seconds=seconds)]
    if seconds % 60 == 0:
        forms.append(f"{seconds // 60}m")
    return draw(st.sampled_from(forms))


@st.composite
def tradeoff_cases(draw: st.DrawFn, max_rows: int = 40) -> Case:
    n = draw(st.integers(0, max_rows))
    temporal = draw(st.sampled_from([True, True, False]))
    kwargs: dict[str, Any] = {"delay": "d", "time": "ts"}
    if temporal:
        t_unit = draw(st.sampled_from(list(UNIT_NANOS)))
        d_unit = draw(st.sampled_from(list(UNIT_NANOS)))
        tz = draw(st.sampled_from([None, "UTC", "Europe/Paris"]))
        time_type, delay_type = pa.timestamp(t_unit, tz=tz), pa.duration(d_unit)
        t_per_s, d_per_s = 10**9 // UNIT_NANOS[t_unit], 10**9 // UNIT_NANOS[d_unit]
        ref_s = draw(st.sampled_from(REF_CANDIDATES))
        kwargs["reference"] = _window_arg(ref_s, draw)
        below = [w for w in [0, 1, 30, 60, 90, 300, 600, 1_800, 3_600] if w <= ref_s]
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(below), min_size=1, max_size=4, unique=True))
            kwargs["windows"] = [_window_arg(w, draw) for w in chosen]
        ref = ref_s * d_per_s  # in delay units
        sizes = [w * d_per_s for w in [*below, ref_s]]
        base = draw(st.sampled_from([0, 1_717_200_000])) * t_per_s
        step = ref_s * t_per_s // 4
    else:
        time_type = draw(st.sampled_from([pa.int64(), pa.int32()]))
        delay_type = draw(st.sampled_from([pa.int64(), pa.int32(), pa.uint16()]))
        ref = draw(st.integers(0, 12))
        kwargs["reference"] = ref
        if draw(st.booleans()):
            kwargs["windows"] = draw(
                st.lists(st.integers(0, ref), min_size=1, max_size=4, unique=True)
            )
        sizes = [0, 1, ref]
        base = draw(st.sampled_from([0, -50, 1_000]))
        step = max(ref // 3, 1)
    times = [base + draw(st.integers(-4, 8)) * step for _ in range(n)]
    times = [None if draw(st.integers(0, 9)) == 0 else t for t in times]
    delay_value = st.one_of(
        st.none(),
        st.sampled_from(sizes).flatmap(lambda s: st.sampled_from([s, s + 1, max(s - 1, 0)])),
        st.integers(0, 2 * max(ref, 1)),
    )
    columns = {
        "ts": pa.array(times, type=time_type),
        "d": pa.array([draw(delay_value) for _ in range(n)], type=delay_type),
    }
    seg = draw(segment_column(n))
    if seg is not None:
        columns["g"] = seg
        kwargs["by"] = "g"
    table = pa.table(columns)

    # The as-of time: given (datetime / int) or recorded by label_join in the metadata.
    a = base + draw(st.integers(-2, 12)) * step
    if temporal:
        # A datetime holds microseconds: keep A on whole microseconds of the time unit.
        per_us = max(UNIT_NANOS["us"] // UNIT_NANOS[t_unit], 1)
        a -= a % per_us
    if draw(st.booleans()):
        stats = {"watermark": a, "time_unit": t_unit if temporal else None}
        table = table.replace_schema_metadata({"loopwatch.stats": json.dumps(stats)})
    elif temporal:
        micros = a * UNIT_NANOS[t_unit] // 1_000
        when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
        kwargs["watermark"] = when if tz is not None else when.replace(tzinfo=None)
    else:
        kwargs["watermark"] = a
    kwargs["target_recall"] = draw(st.sampled_from([0.95, 0.5, 1.0, 1 / 3, 0.8]))
    return Case(table, kwargs, draw(chunk_sizes()))


@SETTINGS
@given(case=tradeoff_cases())
def test_window_tradeoff_matches_reference(lw: ModuleType, case: Case) -> None:
    want = rm.window_tradeoff(case.table, **case.kwargs)
    got = lw.window_tradeoff(case.batched(), **case.kwargs)
    assert_tables_match(got, want)
    assert lw.window_tradeoff(case.table, **case.kwargs, threads=1).equals(
        lw.window_tradeoff(case.batched(), **case.kwargs, threads=4)
    )


def meta_table() -> pa.Table:
    """Times in s (naive), delays in ms, the label_join metadata: A = 3600 s."""
    stats = {"watermark": 3_600, "time_unit": "s"}
    return pa.table(
        {
            "ts": pa.array([0, 0, 0, 0, 1, 2, None], pa.timestamp("s")),
            "d": pa.array([60_000, 61_000, 300_000, None, 3_600_000, 10, 10], pa.duration("ms")),
        }
    ).replace_schema_metadata({"loopwatch.stats": json.dumps(stats)})


def test_watermark_from_metadata_equals_explicit(lw: ModuleType) -> None:
    table = meta_table()
    from_meta = lw.window_tradeoff(table, reference="1h", windows=["1m", "5m"], delay="d")
    explicit = lw.window_tradeoff(
        table.replace_schema_metadata(None),
        reference="1h",
        windows=["1m", "5m"],
        delay="d",
        watermark=dt.datetime(1970, 1, 1, 1, 0, 0),
    )
    assert from_meta.equals(explicit)
    assert from_meta["captured"].to_pylist() == [1, 3]  # t = 0 only (t + 1h <= A)
    assert from_meta["reference_positives"].to_pylist() == [3, 3]
    # An explicit watermark wins over the metadata.
    later = lw.window_tradeoff(
        table, reference="1h", windows=["1m", "5m"], delay="d", watermark=dt.datetime(1971, 1, 1)
    )
    assert later["reference_positives"].to_pylist() == [5, 5]


def test_watermark_metadata_in_a_finer_unit_than_the_time_column(lw: ModuleType) -> None:
    # label_join records A in the finer unit of its two time columns (ms predictions, us
    # feedback → us); the engine converts with time_unit. (The reference reads the number in the
    # time column's unit, so it cannot be the oracle here.)
    table = meta_table()
    stats = {"watermark": 3_600 * 10**6, "time_unit": "us"}
    table = table.replace_schema_metadata({"loopwatch.stats": json.dumps(stats)})
    got = lw.window_tradeoff(table, reference="1h", windows=["1m", "5m"], delay="d")
    assert got["reference_positives"].to_pylist() == [3, 3]


# --- window_tradeoff: against label_join run per window -------------------------------------

CANDIDATES = ["1m", "5m", "15m", "1h"]
REFERENCE = "2h"
SEGS = ["even", "odd", None]  # sorted, nulls last


def rejoin_inputs(seed: int, pred_unit: str, fb_unit: str) -> tuple[pa.Table, pa.Table]:
    pred, fb = make_logs(
        seed, n_pred=1_500, n_users=40, n_items=8, pred_unit=pred_unit, fb_unit=fb_unit
    )
    seg = pc.if_else(pc.equal(pc.bit_wise_and(pred["user_id"], 1), 0), "even", "odd")
    return pred.append_column("seg", seg), fb


@pytest.mark.parametrize("attribution", ["last", "all"])
@pytest.mark.parametrize(
    ("seed", "pred_unit", "fb_unit", "watermark"),
    [
        (0, "ms", "us", None),
        (1, "s", "s", None),
        (2, "us", "ms", dt.datetime(2024, 4, 1, 18, 0, tzinfo=dt.UTC)),
        (3, "ms", "ns", dt.datetime(2024, 4, 1, 6, 30, 0, 250_000, tzinfo=dt.UTC)),
    ],
)
def test_window_tradeoff_equals_label_join_per_window(
    lw: ModuleType,
    attribution: str,
    seed: int,
    pred_unit: str,
    fb_unit: str,
    watermark: dt.datetime | None,
) -> None:
    pred, fb = rejoin_inputs(seed, pred_unit, fb_unit)
    on = ["user_id", "item_id"]
    join_kw: dict[str, Any] = {"on": on, "attribution": attribution, "watermark": watermark}
    labeled = lw.label_join(pred, fb, windows=[*CANDIDATES, REFERENCE], **join_kw)
    stats = lw.join_stats(labeled)
    got = lw.window_tradeoff(labeled, reference=REFERENCE, windows=CANDIDATES, by="seg")

    # Matured for the reference: t + 2h <= A (A in the join's common unit).
    per_unit = UNIT_NANOS[pred_unit] // UNIT_NANOS[stats["time_unit"]]
    ref_ticks = 2 * 3_600 * 10**9 // UNIT_NANOS[stats["time_unit"]]
    t = pred["ts"].cast(pa.int64()).to_numpy(zero_copy_only=False)  # float, NaN = null
    matured = ~np.isnan(t) & (np.nan_to_num(t) * per_unit + ref_ticks <= stats["watermark"])
    assert 0 < matured.sum() < len(t) or watermark is None
    segs = np.array(pred["seg"].to_pylist(), dtype=object)  # null where user_id is null
    assert pred["seg"].null_count > 0

    captured: dict[tuple[str, str], int] = {}
    for w in [*CANDIDATES, REFERENCE]:
        alone = lw.label_join(pred, fb, windows=[w], **join_kw)
        assert lw.join_stats(alone)["watermark"] == stats["watermark"]
        label = alone[f"label_{w}"].to_numpy(zero_copy_only=False)
        # The multi-window join gives the same labels (a label_join property this relies on).
        assert labeled[f"label_{w}"].equals(alone[f"label_{w}"])
        for s in SEGS:
            in_seg = np.array([g == s for g in segs])
            captured[(s, w)] = int(np.sum(matured & in_seg & (label == 1)))

    rows = got.to_pylist()
    assert [(r["seg"], r["window"]) for r in rows] == [(s, w) for s in SEGS for w in CANDIDATES]
    for r in rows:
        ref_pos = captured[(r["seg"], REFERENCE)]
        assert r["reference_positives"] == ref_pos
        assert r["captured"] == captured[(r["seg"], r["window"])], r
        if r["seg"] is not None:
            assert ref_pos > 0
        if ref_pos:
            assert r["recall"] == pytest.approx(r["captured"] / ref_pos, rel=1e-15)
        else:
            assert r["recall"] is None
    # And the whole table (no segments, the default ladder) through the reference.
    if stats["time_unit"] == pred_unit:
        assert_tables_match(
            lw.window_tradeoff(labeled, reference=REFERENCE),
            rm.window_tradeoff(labeled, reference=REFERENCE),
        )


# --- window_tradeoff: errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"reference": "1h", "windows": ["2h"]}, "ConfigError", "windows"),
        ({"reference": "1h", "windows": ["1m", "61m"]}, "ConfigError", "windows"),
        ({"reference": "1h", "windows": ["60m", "1h"]}, "ConfigError", "windows"),
        ({"reference": "1h", "windows": ["5m", "5m"]}, "ConfigError", "windows"),
        (
            {"reference": "1h", "windows": ["1h30m", dt.timedelta(minutes=90)]},
            "ConfigError",
            "windows",
        ),
        ({"reference": "1h", "windows": ["1500us"]}, "ConfigError", "windows"),  # finer than ms
        ({"reference": "1h", "windows": ["3 fortnights"]}, "ConfigError", "windows"),
        ({"reference": "1h", "windows": [3]}, "ConfigError", "windows"),
        ({"reference": "-1h"}, "ConfigError", "reference"),
        ({"reference": "1h", "target_recall": 0.0}, "ConfigError", "target_recall"),
        ({"reference": "1h", "target_recall": 1.5}, "ConfigError", "target_recall"),
        ({"reference": "1h", "target_recall": -0.5}, "ConfigError", "target_recall"),
        ({"reference": "1h", "target_recall": float("nan")}, "ConfigError", "target_recall"),
        ({"reference": "1h", "watermark": 3_600}, "ConfigError", "watermark"),  # int on ts
        ({"reference": "1h", "watermark": "soon"}, "ConfigError", "watermark"),
        ({"reference": "1h", "delay": "nope"}, "SchemaError", "nope"),
        ({"reference": "1h", "time": "nope"}, "SchemaError", "nope"),
        ({"reference": "1h", "by": "nope"}, "SchemaError", "nope"),
        ({"reference": "1h", "by": "f"}, "SchemaError", "'f'|\"f\""),
    ],
)
def test_window_tradeoff_errors(
    lw: ModuleType, kwargs: dict[str, Any], error: str, word: str
) -> None:
    table = meta_table().append_column("f", pa.array([0.5] * 7))
    with pytest.raises(getattr(lw, error), match=word):
        lw.window_tradeoff(table, **{"delay": "d", **kwargs})


def test_window_tradeoff_without_any_watermark(lw: ModuleType) -> None:
    table = meta_table().replace_schema_metadata(None)
    with pytest.raises(lw.ConfigError, match="watermark"):
        lw.window_tradeoff(table, reference="1h", delay="d")
    with pytest.raises(lw.ConfigError, match="watermark"):
        lw.window_tradeoff(table.to_pandas(), reference="1h", delay="d")
    other = table.replace_schema_metadata({"loopwatch.stats": json.dumps({"version": 1})})
    with pytest.raises(lw.ConfigError, match="watermark"):
        lw.window_tradeoff(other, reference="1h", delay="d")


def test_window_tradeoff_negative_delay_and_integer_time(lw: ModuleType) -> None:
    bad = pa.table({"ts": pa.array([0, 1], pa.timestamp("s")), "d": pa.array([1, -1], "int64")})
    with pytest.raises(lw.SchemaError, match=r"delay|time"):  # ints with a timestamp time
        lw.window_tradeoff(bad, reference="1h", delay="d", watermark=dt.datetime(2000, 1, 1))
    bad = pa.table({"t": [0, 1], "d": pa.array([1, -1], pa.duration("s"))})
    with pytest.raises(lw.LoopwatchError, match=r"delay|time"):
        lw.window_tradeoff(bad, reference="1h", time="t", delay="d", watermark=10)
    neg = pa.table({"t": [0, 1], "d": pa.array([1, -1], pa.int64())})
    with pytest.raises(lw.DataError, match="negative"):
        lw.window_tradeoff(neg, reference=4, time="t", delay="d", watermark=10)
    ok = pa.table({"t": [0, 5, 9], "d": pa.array([1, 3, None], pa.int32())})
    got = lw.window_tradeoff(ok, reference=4, time="t", delay="d", watermark=9)
    assert_tables_match(got, rm.window_tradeoff(ok, reference=4, time="t", delay="d", watermark=9))
    with pytest.raises(lw.ConfigError, match=r"reference|duration"):
        lw.window_tradeoff(ok, reference="1h", time="t", delay="d", watermark=9)
    with pytest.raises(lw.ConfigError, match="windows"):
        lw.window_tradeoff(ok, reference=4, windows=[5], time="t", delay="d", watermark=9)
