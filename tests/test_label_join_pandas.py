"""pandas as a second oracle for ``label_join`` (SPEC §2): ``merge_asof`` for ``"last"``.

Last-touch crediting is exactly a backward as-of join: each event takes the latest prediction of
its key at or before it (``direction="backward"``, ``allow_exact_matches=True``; among equal
``t_p`` pandas takes the last row, i.e. the later one in input order once the predictions are
stably sorted by time), and ``tolerance=W_max`` turns a too-old match into no match without
falling back to an earlier prediction. A second as-of join without tolerance tells orphans from
late events. Labels then follow from the first delay, the watermark and the successor rule.

``"first"`` and ``"all"`` go through a plain key merge filtered to the window instead.
The oracle checks the pure-Python reference (no extension needed) and ``lw.label_join``.
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import (
    BASE_EPOCH_S,
    UNIT_FACTOR,
    JoinCase,
    column_values,
    examples,
    finer_unit,
    join_cases,
    make_logs,
)


def pandas_oracle(
    pred: pa.Table,
    fb: pa.Table,
    *,
    on: list[str],
    windows: dict[str, int],
    time: str = "ts",
    feedback_time: str = "ts",
    watermark: int | None = None,
    pred_factor: int = 1,
    fb_factor: int = 1,
    value: str | None = None,
    attribution: str = "last",
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Per-prediction columns and event counts of ``label_join``.

    ``"last"`` goes through ``merge_asof``; ``"first"`` and ``"all"`` (which merge_asof cannot
    express) through an inner merge on the keys filtered to ``0 <= t_f - t_p <= W_max``.
    Times and windows are integers in the common unit (``*_factor`` converts each side).
    """
    w_max = max(windows.values())

    def frame(table: pa.Table, tcol: str, factor: int, extra: list[str]) -> pd.DataFrame:
        data: dict[str, Any] = {k: column_values(table.column(k)) for k in on}
        data["t"] = [None if t is None else t * factor for t in column_values(table.column(tcol))]
        for c in extra:
            data[c] = column_values(table.column(c))
        df = pd.DataFrame(data, dtype=object)
        df["row"] = np.arange(len(df), dtype=np.int64)
        return df

    p = frame(pred, time, pred_factor, [])
    f = frame(fb, feedback_time, fb_factor, [value] if value else [])
    pv = p.dropna(subset=[*on, "t"]).copy()
    fv = f.dropna(subset=[*on, "t"]).copy()
    pv["t_p"] = pv["t"].astype(np.int64)
    fv["t_f"] = fv["t"].astype(np.int64)

    if watermark is not None:
        a: int | None = watermark
    elif len(fv):
        a = int(fv["t_f"].max())
    else:
        a = None
    live = fv[fv["t_f"] <= a] if a is not None else fv.iloc[0:0]
    n_after = len(fv) - len(live)

    right = pv.sort_values(["t_p", "row"], kind="stable")[[*on, "t_p", "row"]]
    right = right.rename(columns={"row": "pred_row"})
    left = live.sort_values("t_f", kind="stable")

    def asof(tolerance: int | None) -> pd.DataFrame:
        return pd.merge_asof(
            left,
            right,
            left_on="t_f",
            right_on="t_p",
            by=on,
            direction="backward",
            allow_exact_matches=True,
            tolerance=tolerance,
        )

    if attribution == "last":
        if len(left) and len(right):
            matched = asof(w_max)
            any_before = asof(None)["pred_row"].notna().to_numpy()
        else:
            matched = left.assign(t_p=pd.Series(dtype="float64"), pred_row=np.nan)
            any_before = np.zeros(len(left), dtype=bool)
        n_events = len(matched)
        n_orphan = int((~any_before).sum())
    else:
        # Every (event, prediction) pair of one key, with t_p <= t_f.
        pairs = live.merge(right, on=on, how="inner")
        pairs = pairs[pairs["t_p"] <= pairs["t_f"]]
        n_orphan = len(live) - pairs["row"].nunique()
        inside = pairs[pairs["t_f"] - pairs["t_p"] <= w_max]
        if attribution == "first":
            inside = inside.sort_values(["row", "t_p", "pred_row"], kind="stable")
            inside = inside.drop_duplicates("row", keep="first")
        matched = inside
        n_events = len(live)
    credited = matched[matched["pred_row"].notna()].copy()
    credited["pred_row"] = credited["pred_row"].astype(np.int64)
    # (The merged t_p column is float64 where unmatched: take the exact int64 t_p instead.)
    t_p_of = dict(zip(pv["row"], pv["t_p"], strict=True))
    credited["delay"] = credited["t_f"] - credited["pred_row"].map(t_p_of).astype(np.int64)
    n_credited = credited["row"].nunique()
    n_late = n_events - n_credited - n_orphan

    by_pred = credited.groupby("pred_row")
    count = by_pred.size()
    first = by_pred["delay"].min()
    if value:
        # SQL SUM: nulls skipped, null when nothing is left (min_count=1 gives NaN there).
        sums = credited.assign(_v=pd.to_numeric(credited[value]).astype("float64"))
        vsum = sums.groupby("pred_row")["_v"].sum(min_count=1)

    # Successor ("last" only): the next valid prediction of the same key in (t_p, input order).
    ordered = pv.sort_values(["t_p", "row"], kind="stable")
    next_t = ordered.groupby(on, sort=False)["t_p"].shift(-1)
    if attribution != "last":
        next_t[:] = np.nan
    next_of = dict(zip(ordered["row"], next_t, strict=True))

    cols: dict[str, list[Any]] = {f"label_{n}": [] for n in windows}
    cols["feedback_count"] = []
    cols["first_feedback_delay"] = []
    if value:
        cols["value_sum"] = []
    labels: dict[str, dict[str, int]] = {
        n: {"positive": 0, "negative": 0, "pending": 0} for n in windows
    }
    for row in range(len(p)):
        if row not in t_p_of:
            for n in windows:
                cols[f"label_{n}"].append(None)
            cols["feedback_count"].append(0)
            cols["first_feedback_delay"].append(None)
            if value:
                cols["value_sum"].append(None)
            continue
        t_p = int(t_p_of[row])
        d = int(first[row]) if row in first.index else None
        nxt = next_of[row]
        for n, w in windows.items():
            if d is not None and d <= w:
                lab: int | None = 1
                labels[n]["positive"] += 1
            elif a is not None and (a >= t_p + w or (not pd.isna(nxt) and nxt <= a)):
                lab = 0
                labels[n]["negative"] += 1
            else:
                lab = None
                labels[n]["pending"] += 1
            cols[f"label_{n}"].append(lab)
        cols["feedback_count"].append(int(count[row]) if row in count.index else 0)
        cols["first_feedback_delay"].append(d)
        if value:
            x = vsum[row] if row in vsum.index else np.nan
            cols["value_sum"].append(None if pd.isna(x) else float(x))

    stats = {
        "watermark": a,
        "predictions": {"total": len(p), "invalid": len(p) - len(pv)},
        "events": {
            "total": len(f),
            "credited": n_credited,
            "orphan": n_orphan,
            "late": n_late,
            "after_watermark": n_after,
            "invalid": len(f) - len(fv),
        },
        "labels": labels,
    }
    return cols, stats


def pandas_for_case(case: JoinCase) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    return pandas_oracle(
        case.pred,
        case.fb,
        on=case.on,
        windows=case.windows,
        time=case.time,
        feedback_time=case.feedback_time,
        watermark=case.watermark,
        pred_factor=case.pred_factor,
        fb_factor=case.fb_factor,
        value=case.value,
        attribution=case.attribution,
    )


def assert_same(cols: dict[str, list[Any]], other: dict[str, list[Any]]) -> None:
    assert list(cols) == list(other)
    for name in cols:
        got, want = cols[name], other[name]
        if got != want:
            bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
            raise AssertionError(f"{name}: {len(bad)} rows differ (row, got, pandas): {bad[:5]}")


def pick(stats: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: stats[k] for k in keys}


STAT_KEYS = ["watermark", "predictions", "events", "labels"]

# --- the oracle checks the reference (runs without the extension) ---------------------------


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=join_cases(max_preds=20, max_events=30))
def test_reference_agrees_with_pandas_on_generated_cases(case: JoinCase) -> None:
    ref_rows, ref_stats = case.reference()
    cols, stats = pandas_for_case(case)
    ref_cols = {c: [r[c] for r in ref_rows] for c in cols}
    assert_same(ref_cols, cols)
    assert pick(ref_stats, STAT_KEYS) == stats


# Realistic logs: thousands of impressions, exponential click delays, repeated keys.
LOG_PARAMS = [
    pytest.param(dict(seed=1, pred_unit="ms", fb_unit="us"), None, id="ms-us-default-wm"),
    pytest.param(dict(seed=2, pred_unit="s", fb_unit="ms"), 86_400, id="s-ms-wm-day1"),
    pytest.param(dict(seed=3, pred_unit="us", fb_unit="us", tz=None), 30_000, id="naive-us"),
    pytest.param(dict(seed=4, pred_unit="ns", fb_unit="ms", n_users=8), 150_000, id="ns-ms"),
]
LOG_WINDOWS = {"5m": 300, "30m": 1_800, "2h": 7_200}  # seconds


def log_case(
    params: dict[str, Any], wm_offset_s: int | None, n_pred: int, attribution: str = "last"
) -> JoinCase:
    params = {"n_pred": n_pred, **params}
    pred, fb = make_logs(**params)
    pu, fu = params["pred_unit"], params["fb_unit"]
    common = finer_unit(pu, fu)
    factor = UNIT_FACTOR[common]
    tz = params.get("tz", "UTC")
    watermark = None
    wm_arg = None
    if wm_offset_s is not None:
        watermark = (BASE_EPOCH_S + wm_offset_s) * factor
        wm_arg = dt.datetime.fromtimestamp(BASE_EPOCH_S + wm_offset_s, tz=dt.UTC)
        if tz is None:
            wm_arg = wm_arg.replace(tzinfo=None)
    windows = {name: secs * factor for name, secs in LOG_WINDOWS.items()}
    return JoinCase(
        pred=pred,
        fb=fb,
        kwargs={
            "on": ["user_id", "item_id"],
            "windows": list(LOG_WINDOWS),
            "watermark": wm_arg,
            "attribution": attribution,
            "value": "v",
        },
        on=["user_id", "item_id"],
        windows=windows,
        time="ts",
        feedback_time="ts",
        watermark=watermark,
        attribution=attribution,
        value="v",
        time_unit=common,
        pred_factor=factor // UNIT_FACTOR[pu],
        fb_factor=factor // UNIT_FACTOR[fu],
    )


@pytest.mark.parametrize("attribution", ["last", "first", "all"])
@pytest.mark.parametrize(("params", "wm"), LOG_PARAMS)
def test_reference_agrees_with_pandas_on_logs(
    params: dict[str, Any], wm: int | None, attribution: str
) -> None:
    # Small logs (the reference is O(n*m)) with few keys, so that keys repeat a lot.
    case = log_case({**params, "n_users": 6, "n_items": 3}, wm, 300, attribution)
    ref_rows, ref_stats = case.reference()
    cols, stats = pandas_for_case(case)
    assert_same({c: [r[c] for r in ref_rows] for c in cols}, cols)
    assert pick(ref_stats, STAT_KEYS) == stats
    assert stats["events"]["credited"] > 5 and stats["events"]["late"] > 0


# --- the oracle checks the extension ------------------------------------------------------------


@pytest.mark.parametrize(("params", "wm"), LOG_PARAMS)
def test_label_join_last_agrees_with_merge_asof(
    lw: ModuleType, params: dict[str, Any], wm: int | None
) -> None:
    case = log_case(params, wm, n_pred=4_000)
    out = lw.label_join(case.pred, case.fb, **case.kwargs)
    cols, stats = pandas_for_case(case)
    got = {c: column_values(out.column(c)) for c in cols}
    assert_same(got, cols)
    assert pick(lw.join_stats(out), STAT_KEYS) == stats
    assert stats["events"]["credited"] > 100 and stats["events"]["late"] > 0


@pytest.mark.parametrize("attribution", ["first", "all"])
@pytest.mark.parametrize(("params", "wm"), LOG_PARAMS[:2])
def test_label_join_first_all_agree_with_pandas_merge(
    lw: ModuleType, params: dict[str, Any], wm: int | None, attribution: str
) -> None:
    case = log_case(params, wm, 4_000, attribution)
    out = lw.label_join(case.pred, case.fb, **case.kwargs)
    cols, stats = pandas_for_case(case)
    assert_same({c: column_values(out.column(c)) for c in cols}, cols)
    assert pick(lw.join_stats(out), STAT_KEYS) == stats


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=join_cases(max_preds=20, max_events=30))
def test_label_join_agrees_with_pandas_on_generated_cases(lw: ModuleType, case: JoinCase) -> None:
    out = lw.label_join(case.pred, case.fb, **case.kwargs)
    cols, stats = pandas_for_case(case)
    assert_same({c: column_values(out.column(c)) for c in cols}, cols)
    assert pick(lw.join_stats(out), STAT_KEYS) == stats
