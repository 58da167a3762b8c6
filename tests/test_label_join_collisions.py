"""Equal key hashes must not mean equal keys: with the engine's hash masked down to two bits,
almost every pair of keys collides, and the results must not change."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from strategies import JoinCase, examples, join_cases, make_logs
from test_label_join_invariance import assert_same_result

from loopwatch._args import normalize_watermark, normalize_windows


def join_with_mask(lw: ModuleType, pred: Any, fb: Any, kwargs: dict[str, Any], mask: int) -> Any:
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
        None,
        mask,
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
    collided = join_with_mask(lw, case.pred, case.fb, case.kwargs, 0b11)
    assert_same_result(lw, expected, collided, "hash masked to 2 bits")


def test_colliding_hashes_on_logs(lw: ModuleType) -> None:
    pred, fb = make_logs(7, n_pred=1_500)
    for attribution in ["last", "first", "all"]:
        kwargs = {"on": ["user_id", "item_id"], "windows": ["5m", "1h"], "attribution": attribution}
        expected = lw.label_join(pred, fb, **kwargs)
        for mask in [0, 0b1, 0xFF]:
            collided = join_with_mask(lw, pred, fb, kwargs, mask)
            assert_same_result(lw, expected, collided, f"{attribution}, mask {mask:#x}")
