"""The engine's internals must not change answers: with its key hash masked down to a few bits
(almost every pair of keys collides) and with tiny work chunks (every cross-chunk path: row
ids, credits gathered per chunk, the successor rule across chunks)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JoinCase, examples, join_cases, make_logs
from test_label_join_invariance import assert_same_result

from loopwatch._args import normalize_watermark, normalize_windows


def engine_join(
    lw: ModuleType,
    pred: Any,
    fb: Any,
    kwargs: dict[str, Any],
    mask: int | None = None,
    chunk_rows: int | None = None,
) -> Any:
    on = kwargs["on"]
    time = kwargs.get("time", "ts")
    result = lw._core.label_join(
        pred,
        fb,
        [on] if isinstance(on, str) else list(on),
        normalize_windows(kwargs["windows"]),
        time,
        kwargs.get("feedback_time") or time,
        normalize_watermark(kwargs.get("watermark")),
        kwargs.get("attribution", "last"),
        kwargs.get("value"),
        None,
        kwargs.get("threads"),
        hash_mask=mask,
        chunk_rows=chunk_rows,
    )
    return pa.table(result)


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=join_cases())
def test_colliding_hashes_change_nothing(lw: ModuleType, case: JoinCase) -> None:
    expected = lw.label_join(case.pred, case.fb, **case.kwargs)
    collided = engine_join(lw, case.pred, case.fb, case.kwargs, mask=0b11)
    assert_same_result(lw, expected, collided, "hash masked to 2 bits")


def test_colliding_hashes_on_logs(lw: ModuleType) -> None:
    pred, fb = make_logs(7, n_pred=1_500)
    for attribution in ["last", "first", "all"]:
        kwargs = {"on": ["user_id", "item_id"], "windows": ["5m", "1h"], "attribution": attribution}
        expected = lw.label_join(pred, fb, **kwargs)
        for mask in [0, 0b1, 0xFF]:
            collided = engine_join(lw, pred, fb, kwargs, mask=mask)
            assert_same_result(lw, expected, collided, f"{attribution}, mask {mask:#x}")


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=join_cases(), chunk_rows=st.sampled_from([1, 2, 3, 7, 64]))
def test_tiny_chunks_change_nothing(lw: ModuleType, case: JoinCase, chunk_rows: int) -> None:
    expected = lw.label_join(case.pred, case.fb, **case.kwargs)
    chunked = engine_join(lw, case.pred, case.fb, case.kwargs, chunk_rows=chunk_rows)
    assert_same_result(lw, expected, chunked, f"chunk_rows={chunk_rows}")


def test_tiny_chunks_on_logs_at_several_thread_counts(lw: ModuleType) -> None:
    pred, fb = make_logs(11, n_pred=2_500)
    for attribution in ["last", "first", "all"]:
        kwargs = {"on": ["user_id", "item_id"], "windows": ["5m", "1h"], "attribution": attribution}
        expected = lw.label_join(pred, fb, **kwargs, threads=1)
        for chunk_rows, threads in [(1, 3), (13, 2), (100, 4), (1000, 1)]:
            chunked = engine_join(
                lw, pred, fb, {**kwargs, "threads": threads}, chunk_rows=chunk_rows
            )
            assert_same_result(lw, expected, chunked, f"{attribution}, chunks of {chunk_rows}")
