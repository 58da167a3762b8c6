"""The mergeable states behind ``label_metrics`` and ``delay_profile`` (SPEC §6).

* split a random table anywhere into k parts, update one fresh state per part, merge them in a
  random order and tree shape: ``finalize()`` equals the one-pass function exactly
  (``Table.equals``), and the merged state's bytes equal the one-pass state's bytes;
* a fresh state is the identity of ``merge``; ``to_bytes`` / ``from_bytes`` round-trips (equal
  finalize, equal bytes), also for parts shipped as bytes before merging;
* incompatible states (other label column, score or not, other ``every``, other ``by``, same
  names but another time unit / zone / segment type / delay type) refuse to merge with
  ``lw.ConfigError``;
* truncated, corrupted or foreign bytes give a ``lw.LoopwatchError`` subclass, never a panic;
  ``finalize`` on a state that has seen no table is a ``ConfigError``.
"""

from __future__ import annotations

import itertools
import struct
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import examples, rechunk
from test_delays import Case, big_delays, profile_cases
from test_label_metrics import MetricsCase, metric_cases

SETTINGS = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- helpers --------------------------------------------------------------------------------


def metrics_state(lw: ModuleType, kwargs: dict[str, Any]) -> Any:
    return lw.LabelMetricsState(**{k: v for k, v in kwargs.items() if k != "threads"})


def profile_state(lw: ModuleType, kwargs: dict[str, Any]) -> Any:
    return lw.DelayProfileState(**kwargs)


@st.composite
def splits(draw: st.DrawFn, n: int) -> list[tuple[int, int]]:
    """1-6 contiguous ``(start, stop)`` parts covering ``range(n)``; parts may be empty."""
    k = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    bounds = [0, *cuts, n]
    return list(itertools.pairwise(bounds))


@st.composite
def merge_plans(draw: st.DrawFn, k: int) -> list[tuple[int, int]]:
    """A random binary merge tree over k states: each step merges ``j`` into ``i``."""
    alive = list(range(k))
    plan = []
    while len(alive) > 1:
        i, j = draw(st.lists(st.sampled_from(alive), min_size=2, max_size=2, unique=True))
        plan.append((i, j))
        alive.remove(j)
    return plan


def merge_all(states: list[Any], plan: list[tuple[int, int]]) -> Any:
    pool = dict(enumerate(states))
    for i, j in plan:
        assert pool[i].merge(pool.pop(j)) is pool[i]
    (last,) = pool.values()
    return last


def same_profile(a: Any, b: Any) -> bool:
    return bool(a.summary.equals(b.summary) and a.histogram.equals(b.histogram))


# --- LabelMetricsState ----------------------------------------------------------------------


@SETTINGS
@given(case=metric_cases(max_rows=40), data=st.data())
def test_label_metrics_state_split_merge_equals_one_pass(
    lw: ModuleType, case: MetricsCase, data: st.DataObject
) -> None:
    table = case.batched()
    want = lw.label_metrics(table, **case.kwargs)
    parts = data.draw(splits(table.num_rows))
    # Tiny parts may be re-batched again; every part is at least a schema (maybe zero rows).
    states = []
    for start, stop in parts:
        part = rechunk(table.slice(start, stop - start), data.draw(st.sampled_from([None, [1]])))
        states.append(metrics_state(lw, case.kwargs).update(part))
    # Some parts travel as bytes (another process or machine).
    shipped = [
        lw.LabelMetricsState.from_bytes(s.to_bytes()) if data.draw(st.booleans()) else s
        for s in states
    ]
    merged = merge_all(shipped, data.draw(merge_plans(len(shipped))))
    got = merged.finalize()
    assert got.equals(want)
    assert got.schema == want.schema
    one_pass = metrics_state(lw, case.kwargs).update(table)
    assert merged.to_bytes() == one_pass.to_bytes()
    # Finalize leaves the state usable and unchanged.
    assert merged.finalize().equals(want)


@SETTINGS
@given(case=metric_cases(max_rows=30))
def test_label_metrics_state_bytes_round_trip_and_identity(
    lw: ModuleType, case: MetricsCase
) -> None:
    state = metrics_state(lw, case.kwargs).update(case.batched(), threads=2)
    data = state.to_bytes()
    assert isinstance(data, bytes)
    back = lw.LabelMetricsState.from_bytes(data)
    assert back.to_bytes() == data
    assert back.finalize().equals(state.finalize())
    assert lw.LabelMetricsState.from_bytes(bytearray(data)).to_bytes() == data
    # A fresh state is the identity, on either side.
    left = metrics_state(lw, case.kwargs).merge(lw.LabelMetricsState.from_bytes(data))
    right = lw.LabelMetricsState.from_bytes(data).merge(metrics_state(lw, case.kwargs))
    assert left.to_bytes() == data and right.to_bytes() == data
    assert left.finalize().equals(state.finalize())
    assert right.finalize().equals(state.finalize())
    # So is a state updated with zero rows of the same schema.
    empty = metrics_state(lw, case.kwargs).update(case.table.slice(0, 0))
    assert empty.merge(back).to_bytes() == data


def test_label_metrics_state_on_a_bigger_table(lw: ModuleType) -> None:
    from test_label_metrics import big_random_table

    table = big_random_table(3)
    kwargs = {"label": "y", "score": "p", "every": "1h", "by": "seg"}
    want = lw.label_metrics(table, **kwargs)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, table.num_rows, 6))
    bounds = [0, *cuts.tolist(), table.num_rows]
    states = [
        lw.LabelMetricsState(**kwargs).update(table.slice(a, b - a))
        for a, b in itertools.pairwise(bounds)
    ]
    # Right-deep, then left-deep: the same bytes.
    right = states[-1]
    for s in reversed(states[:-1]):
        right = lw.LabelMetricsState.from_bytes(s.to_bytes()).merge(right)
    left = lw.LabelMetricsState.from_bytes(states[0].to_bytes())
    for s in states[1:]:
        left.merge(lw.LabelMetricsState.from_bytes(s.to_bytes()))
    assert left.to_bytes() == right.to_bytes()
    assert left.finalize().equals(want) and right.finalize(threads=1).equals(want)


def lm_table(ts_type: pa.DataType | None = None, seg_type: pa.DataType | None = None) -> pa.Table:
    ts_type = ts_type or pa.timestamp("ms")
    seg_type = seg_type or pa.string()
    seg = ["a", "b", None] if not pa.types.is_integer(seg_type) else [1, 2, None]
    return pa.table(
        {
            "ts": pa.array([0, 3_600, 7_200], pa.int64()).cast(ts_type),
            "y": pa.array([1, 0, None], pa.int8()),
            "y2": pa.array([0, 0, None], pa.int8()),
            "p": pa.array([0.3, 0.6, None]),
            "g": pa.array(seg, seg_type),
            "h": pa.array([True, False, True]),
        }
    )


BASE_LM = {"label": "y", "score": "p", "every": "1h", "by": "g"}


@pytest.mark.parametrize(
    ("other_kwargs", "other_table"),
    [
        ({**BASE_LM, "label": "y2"}, lm_table()),
        ({**BASE_LM, "score": None}, lm_table()),
        ({**BASE_LM, "every": "2h"}, lm_table()),
        ({**BASE_LM, "every": None}, lm_table()),
        ({**BASE_LM, "by": "h"}, lm_table()),
        ({**BASE_LM, "by": ["g", "h"]}, lm_table()),
        ({**BASE_LM, "by": None}, lm_table()),
        (BASE_LM, lm_table(ts_type=pa.timestamp("us"))),  # same names, another time unit
        (BASE_LM, lm_table(ts_type=pa.timestamp("ms", tz="UTC"))),  # naive vs aware
        (BASE_LM, lm_table(seg_type=pa.int64())),  # same names, another segment type
    ],
)
def test_label_metrics_states_refuse_incompatible_merges(
    lw: ModuleType, other_kwargs: dict[str, Any], other_table: pa.Table
) -> None:
    a = lw.LabelMetricsState(**BASE_LM).update(lm_table())
    b = lw.LabelMetricsState(**other_kwargs).update(other_table)
    before = a.to_bytes()
    with pytest.raises(lw.ConfigError, match="merge"):
        a.merge(b)
    with pytest.raises(lw.ConfigError, match="merge"):
        b.merge(a)
    assert a.to_bytes() == before  # a refused merge changes nothing
    # Also after a trip through bytes.
    with pytest.raises(lw.ConfigError):
        lw.LabelMetricsState.from_bytes(a.to_bytes()).merge(
            lw.LabelMetricsState.from_bytes(b.to_bytes())
        )


@pytest.mark.parametrize(
    "other_table",
    [lm_table(ts_type=pa.timestamp("us")), lm_table(seg_type=pa.int64())],
    ids=["time-unit", "segment-type"],
)
def test_label_metrics_state_refuses_a_second_table_of_another_schema(
    lw: ModuleType, other_table: pa.Table
) -> None:
    state = lw.LabelMetricsState(**BASE_LM).update(lm_table())
    with pytest.raises(lw.ConfigError):
        state.update(other_table)
    assert state.finalize().equals(lw.label_metrics(lm_table(), **BASE_LM))


def test_dictionary_and_plain_string_segments_merge(lw: ModuleType) -> None:
    # A dictionary segment column outputs its value type, so both states describe the same groups.
    plain = lm_table()
    coded = lm_table(seg_type=pa.dictionary(pa.int32(), pa.string()))
    a = lw.LabelMetricsState(**BASE_LM).update(plain)
    a.merge(lw.LabelMetricsState(**BASE_LM).update(coded))
    doubled = pa.concat_tables([plain, plain])
    assert a.finalize().equals(lw.label_metrics(doubled, **BASE_LM))


def test_label_metrics_state_errors(lw: ModuleType) -> None:
    fresh = lw.LabelMetricsState(label="y", score="p")
    with pytest.raises(lw.ConfigError, match="no table"):
        fresh.finalize()
    with pytest.raises(lw.ConfigError):
        lw.LabelMetricsState.from_bytes(fresh.to_bytes()).finalize()
    with pytest.raises(lw.ConfigError, match="LabelMetricsState"):
        fresh.merge(lw.DelayProfileState(delay="d"))  # type: ignore[arg-type]
    with pytest.raises(lw.ConfigError, match="every"):  # at the latest when a table comes
        lw.LabelMetricsState(label="y", every="0s").update(lm_table())
    # Bad values are refused on update, and the state keeps what it had.
    state = lw.LabelMetricsState(**BASE_LM).update(lm_table())
    before = state.to_bytes()
    bad = lm_table().set_column(3, "p", pa.array([0.3, 1.5, None]))
    with pytest.raises(lw.DataError, match="score"):
        state.update(bad)
    assert state.to_bytes() == before


# --- DelayProfileState ----------------------------------------------------------------------


@SETTINGS
@given(case=profile_cases(max_rows=40), data=st.data())
def test_delay_profile_state_split_merge_equals_one_pass(
    lw: ModuleType, case: Case, data: st.DataObject
) -> None:
    table = case.batched()
    want = lw.delay_profile(table, **case.kwargs)
    parts = data.draw(splits(table.num_rows))
    states = [
        profile_state(lw, case.kwargs).update(table.slice(a, b - a), threads=1) for a, b in parts
    ]
    shipped = [
        lw.DelayProfileState.from_bytes(s.to_bytes()) if data.draw(st.booleans()) else s
        for s in states
    ]
    merged = merge_all(shipped, data.draw(merge_plans(len(shipped))))
    assert same_profile(merged.finalize(), want)
    assert merged.to_bytes() == profile_state(lw, case.kwargs).update(table).to_bytes()
    back = lw.DelayProfileState.from_bytes(merged.to_bytes())
    assert back.to_bytes() == merged.to_bytes()
    assert same_profile(back.finalize(), want)
    # A fresh state is the identity, on either side.
    fresh = profile_state(lw, case.kwargs)
    assert fresh.merge(back).to_bytes() == merged.to_bytes()
    assert back.merge(profile_state(lw, case.kwargs)).to_bytes() == merged.to_bytes()


@pytest.fixture(scope="module")
def sketch_table() -> pa.Table:
    """Segments of 5000, 3000, 1025, 1024 and 40 delays (the sketch and the exact paths)."""
    return big_delays(7, pa.duration("ms"))


@settings(SETTINGS, max_examples=examples(25))
@given(data=st.data())
def test_delay_profile_state_sketch_path_merges_exactly(
    lw: ModuleType, sketch_table: pa.Table, data: st.DataObject
) -> None:
    # Splits that put groups over and under the 1,024-value limit in different parts: the
    # sketch switches on the total count only, so the result is the one-pass result exactly.
    order = data.draw(st.sampled_from(["as-is", "sorted", "reversed"]))
    table = sketch_table
    if order != "as-is":
        table = table.sort_by([("d", "ascending" if order == "sorted" else "descending")])
    want = lw.delay_profile(table, delay="d", by="g")
    parts = data.draw(splits(table.num_rows))
    states = [
        lw.DelayProfileState(delay="d", by="g").update(table.slice(a, b - a)) for a, b in parts
    ]
    merged = merge_all(states, data.draw(merge_plans(len(states))))
    assert same_profile(merged.finalize(), want)
    one_pass = lw.DelayProfileState(delay="d", by="g").update(table)
    assert merged.to_bytes() == one_pass.to_bytes()
    assert same_profile(lw.DelayProfileState.from_bytes(merged.to_bytes()).finalize(), want)


def dp_table(d_type: pa.DataType | None = None, seg_type: pa.DataType | None = None) -> pa.Table:
    d_type = d_type or pa.duration("ms")
    seg_type = seg_type or pa.string()
    seg = ["a", "b", None] if not pa.types.is_integer(seg_type) else [1, 2, None]
    return pa.table(
        {
            "d": pa.array([5, 0, None], pa.int64()).cast(d_type),
            "d2": pa.array([1, 2, 3], pa.duration("ms")),
            "g": pa.array(seg, seg_type),
            "h": pa.array([True, False, True]),
        }
    )


@pytest.mark.parametrize(
    ("other_kwargs", "other_table"),
    [
        ({"delay": "d2", "by": "g"}, dp_table()),
        ({"delay": "d", "by": "h"}, dp_table()),
        ({"delay": "d", "by": None}, dp_table()),
        ({"delay": "d", "by": ["g", "h"]}, dp_table()),
        ({"delay": "d", "by": "g"}, dp_table(d_type=pa.duration("us"))),  # another unit
        ({"delay": "d", "by": "g"}, dp_table(d_type=pa.int64())),  # integer delays
        ({"delay": "d", "by": "g"}, dp_table(seg_type=pa.int32())),  # another segment type
    ],
)
def test_delay_profile_states_refuse_incompatible_merges(
    lw: ModuleType, other_kwargs: dict[str, Any], other_table: pa.Table
) -> None:
    a = lw.DelayProfileState(delay="d", by="g").update(dp_table())
    b = lw.DelayProfileState(**other_kwargs).update(other_table)
    before = a.to_bytes()
    with pytest.raises(lw.ConfigError, match="merge"):
        a.merge(b)
    with pytest.raises(lw.ConfigError, match="merge"):
        b.merge(a)
    assert a.to_bytes() == before
    with pytest.raises(lw.ConfigError):
        lw.DelayProfileState.from_bytes(a.to_bytes()).merge(
            lw.DelayProfileState.from_bytes(b.to_bytes())
        )


def test_integer_delays_of_any_width_merge(lw: ModuleType) -> None:
    # Integer delays are read as int64 whatever their width: int32 and uint8 parts combine.
    a = lw.DelayProfileState(delay="d", by="g").update(dp_table(d_type=pa.int32()))
    a.merge(lw.DelayProfileState(delay="d", by="g").update(dp_table(d_type=pa.uint8())))
    doubled = pa.concat_tables([dp_table(d_type=pa.int64())] * 2)
    assert same_profile(a.finalize(), lw.delay_profile(doubled, delay="d", by="g"))


def test_delay_profile_state_errors(lw: ModuleType) -> None:
    fresh = lw.DelayProfileState(delay="d")
    with pytest.raises(lw.ConfigError, match="no table"):
        fresh.finalize()
    with pytest.raises(lw.ConfigError):
        lw.DelayProfileState.from_bytes(fresh.to_bytes()).finalize()
    with pytest.raises(lw.ConfigError, match="DelayProfileState"):
        fresh.merge(lw.LabelMetricsState(label="y"))  # type: ignore[arg-type]
    state = lw.DelayProfileState(delay="d", by="g").update(dp_table())
    before = state.to_bytes()
    with pytest.raises(lw.DataError, match="negative"):
        state.update(dp_table().set_column(0, "d", pa.array([1, -1, 2], pa.duration("ms"))))
    assert state.to_bytes() == before
    with pytest.raises(lw.ConfigError):
        state.update(dp_table(d_type=pa.duration("s")))


# --- bytes: truncated, corrupted, foreign ---------------------------------------------------


def sample_states(lw: ModuleType) -> dict[str, tuple[Any, bytes]]:
    lm = lw.LabelMetricsState(**BASE_LM).update(lm_table())
    lm_int = lw.LabelMetricsState(label="y", every=2, time="t", by=["h", "g"]).update(
        lm_table().append_column("t", pa.array([-3, 0, 5]))
    )
    dp = lw.DelayProfileState(delay="d", by="g").update(dp_table())
    dp_big = lw.DelayProfileState(delay="d").update(big_delays(1, pa.int64()).slice(0, 1_500))
    return {
        "label_metrics": (lw.LabelMetricsState, lm.to_bytes()),
        "label_metrics_int": (lw.LabelMetricsState, lm_int.to_bytes()),
        "delay_profile": (lw.DelayProfileState, dp.to_bytes()),
        "delay_profile_sketch": (lw.DelayProfileState, dp_big.to_bytes()),
    }


def load_and_finalize(lw: ModuleType, cls: Any, data: bytes) -> None:
    """Either a clear LoopwatchError subclass or a usable state; a panic fails the test (also
    one the engine catches and reports as a bare ``LoopwatchError("internal error ...")``)."""
    try:
        state = cls.from_bytes(data)
        state.finalize()
        state.to_bytes()
    except lw.LoopwatchError as exc:
        assert type(exc) is not lw.LoopwatchError, f"internal error: {exc}"


def expect_refused(lw: ModuleType, cls: Any, data: bytes) -> None:
    """``from_bytes`` (or at the latest ``finalize``) refuses ``data`` with a clear error."""
    try:
        cls.from_bytes(data).finalize()
    except lw.LoopwatchError as exc:
        assert type(exc) is not lw.LoopwatchError, f"internal error: {exc}"
        return
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        pytest.fail(f"crashed: {type(exc).__name__}: {exc}")
    pytest.fail("inconsistent state bytes were accepted")


@pytest.mark.parametrize(
    "name", ["label_metrics", "label_metrics_int", "delay_profile", "delay_profile_sketch"]
)
def test_truncated_bytes_are_refused(lw: ModuleType, name: str) -> None:
    cls, data = sample_states(lw)[name]
    step = max(1, len(data) // 400)
    for cut in [*range(0, len(data), step), len(data) - 1]:
        with pytest.raises(lw.LoopwatchError):
            cls.from_bytes(data[:cut])
    with pytest.raises(lw.LoopwatchError, match=r"trailing|corrupt"):
        cls.from_bytes(data + b"\x00")


def test_foreign_bytes_are_refused(lw: ModuleType) -> None:
    states = sample_states(lw)
    lm, dp = states["label_metrics"][1], states["delay_profile"][1]
    with pytest.raises(lw.LoopwatchError, match="label_metrics"):
        lw.DelayProfileState.from_bytes(lm)
    with pytest.raises(lw.LoopwatchError, match="delay_profile"):
        lw.LabelMetricsState.from_bytes(dp)
    for junk in [b"", b"LWST", b"not a state at all", b"\x00" * 64, bytes(range(256))]:
        for cls in (lw.LabelMetricsState, lw.DelayProfileState):
            with pytest.raises(lw.LoopwatchError):
                cls.from_bytes(junk)
    # Another format version.
    bumped = lm[:4] + b"\x63\x00" + lm[6:]
    with pytest.raises(lw.LoopwatchError, match="version"):
        lw.LabelMetricsState.from_bytes(bumped)


@settings(SETTINGS, max_examples=examples(150))
@given(
    name=st.sampled_from(
        ["label_metrics", "label_metrics_int", "delay_profile", "delay_profile_sketch"]
    ),
    data=st.data(),
)
def test_corrupted_bytes_never_crash(lw: ModuleType, name: str, data: st.DataObject) -> None:
    cls, raw = sample_states(lw)[name]
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(6, len(buf) - 1))  # past the magic and version
        buf[i] = data.draw(st.sampled_from([0, 1, 2, 3, 4, 5, 0x7F, 0x80, 0xFF, buf[i] ^ 1]))
    load_and_finalize(lw, cls, bytes(buf))


def test_merging_a_state_into_itself(lw: ModuleType) -> None:
    state = lw.LabelMetricsState(**BASE_LM).update(lm_table())
    copy = lw.LabelMetricsState.from_bytes(state.to_bytes())
    try:
        state.merge(state)
    except lw.LoopwatchError:
        return
    twice = copy.merge(lw.LabelMetricsState.from_bytes(copy.to_bytes()))
    assert state.to_bytes() == twice.to_bytes()


# --- bytes: well-formed but inconsistent ----------------------------------------------------
# A tiny writer of the version-1 layout (state/codec.rs); each test first checks that it
# reproduces the engine's bytes for a valid state, so a format change shows up as that failure.


def _u8(v: int) -> bytes:
    return struct.pack("<B", v)


def _u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def _i64(v: int) -> bytes:
    return struct.pack("<q", v)


def _str(x: str) -> bytes:
    return _u64(len(x.encode())) + x.encode()


def _words(ws: list[int]) -> bytes:
    return _u64(len(ws)) + b"".join(_u64(w) for w in ws)


def _header(kind: str) -> bytes:
    return b"LWST" + struct.pack("<H", 1) + _str(kind)


def lm_bytes(keys: list[tuple[list[str], int, int, int, list[int]]], score: bool = True) -> bytes:
    """label="y", score="p" (or none), no buckets, by=["g"] (utf8); keys: (segment values,
    n, n_labeled, positives, scored words)."""
    out = _header("label_metrics") + _str("y")
    out += (_u8(1) + _str("p")) if score else _u8(0)
    out += _str("ts") + _u8(0) + _u64(1) + _str("g")
    out += _u8(1) + _u8(0) + _u64(1) + _str("g") + _u8(9)  # grouping: by g (Utf8)
    out += _u64(len(keys))
    for segs, n, n_labeled, positives, scored in keys:
        out += _u8(1) + _i64(0) + _u64(len(segs)) + b"".join(_u8(3) + _str(v) for v in segs)
        out += _u64(n) + _u64(n_labeled) + _u64(positives) + _words(scored)
    return out


def _scored(p: float, y: int) -> int:
    return struct.unpack("<Q", struct.pack("<d", p))[0] << 1 | y


def dp_bytes(keys: list[tuple[int, int, int, list[int], list[int]]]) -> bytes:
    """delay="d" (duration ms), no segments; keys: (n, count, sum, exact values, histogram)."""
    out = _header("delay_profile") + _str("d") + _u64(0)
    out += _u8(1) + _u8(0) + _u64(0) + _str("ms")
    out += _u64(len(keys))
    for n, count, total, exact, hist in keys:
        out += _u8(1) + _i64(0) + _u64(0) + _u64(n) + _u64(count) + _i64(total) + _i64(0)
        out += _u8(0) + _words(sorted(exact)) + _words(hist)
    return out


def test_crafted_bytes_writer_matches_the_engine(lw: ModuleType) -> None:
    table = pa.table({"y": pa.array([1, None, 0]), "p": [0.25, None, 0.5], "g": ["a"] * 3})
    state = lw.LabelMetricsState(label="y", score="p", by="g").update(table)
    words = [_scored(0.25, 1), _scored(0.5, 0)]
    assert state.to_bytes() == lm_bytes([(["a"], 3, 2, 1, words)])
    delays = pa.table({"d": pa.array([5, None, 1_500], pa.duration("ms"))})
    state = lw.DelayProfileState(delay="d").update(delays)
    assert state.to_bytes() == dp_bytes([(3, 2, 1_505, [5, 1_500], [1, 1] + [0] * 22)])


def test_label_metrics_bytes_with_a_key_of_the_wrong_arity_are_refused(lw: ModuleType) -> None:
    expect_refused(lw, lw.LabelMetricsState, lm_bytes([([], 1, 1, 1, [_scored(0.5, 1)])]))


@pytest.mark.parametrize(
    "key",
    [
        (["a"], 1, 3, 1, [_scored(0.5, 1), _scored(0.5, 0), _scored(0.5, 0)]),  # n_labeled > n
        (["a"], 3, 1, 2, [_scored(0.5, 1)]),  # positives > n_labeled
        (["a"], 3, 2, 1, [_scored(0.5, 1)]),  # fewer scored rows than labeled rows
    ],
    ids=["n_labeled>n", "positives>n_labeled", "scored!=n_labeled"],
)
def test_label_metrics_bytes_with_impossible_counts_are_refused(
    lw: ModuleType, key: tuple[list[str], int, int, int, list[int]]
) -> None:
    expect_refused(lw, lw.LabelMetricsState, lm_bytes([key]))


def test_delay_profile_bytes_with_too_many_bins_are_refused(lw: ModuleType) -> None:
    expect_refused(lw, lw.DelayProfileState, dp_bytes([(1, 1, 5, [5], [0] * 29 + [1])]))


@pytest.mark.parametrize(
    "key",
    [
        (1, 5, 5, [5], [1] + [0] * 23),  # count > n
        (3, 1, 5, [5], [3] + [0] * 23),  # histogram total != count
        (3, 1, 5, [5, 6, 7], [1] + [0] * 23),  # sketch count != count
    ],
    ids=["count>n", "histogram!=count", "sketch!=count"],
)
def test_delay_profile_bytes_with_impossible_counts_are_refused(
    lw: ModuleType, key: tuple[int, int, int, list[int], list[int]]
) -> None:
    expect_refused(lw, lw.DelayProfileState, dp_bytes([key]))
