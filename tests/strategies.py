"""Hypothesis strategies and log generators for the ``label_join`` tests.

``join_cases()`` draws a whole :class:`JoinCase`: a prediction table, a feedback table and the
arguments of ``lw.label_join``, together with everything the pure-Python reference needs (times
and windows as integers in the common unit). The draws are built to hit the edges of SPEC §2:
small key domains (keys repeat), nulls in keys and times, ties in prediction time, events before
any prediction and exactly at ``t_p`` / ``t_p + w`` (and one unit either side), a zero window,
multi-column keys (int + string + bool), every string layout (utf8, large_utf8, string_view,
dictionary, with per-batch dictionaries), integer widths that differ between the two sides,
timestamps in different units and zones on the two sides, integer time columns, explicit and
default watermarks, the three attributions, an optional value column with nulls, empty inputs,
and inputs split into many tiny record batches.

``make_logs()`` builds larger, realistic logs (thousands of rows, exponential delays) from a
numpy seed, for the pandas oracle and the invariance tests.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import strategies as st
from reference import reference_label_join

UNIT_FACTOR = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
UNITS = list(UNIT_FACTOR)

# 2024-03-31 00:59:50 UTC: ten seconds before Paris switches to summer time.
BASE_EPOCH_S = 1_711_846_790

INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()]
STR_TYPES = [
    pa.string(),
    pa.large_string(),
    pa.string_view(),
    pa.dictionary(pa.int32(), pa.string()),
]
KEY_DOMAINS: dict[str, list[Any]] = {
    "int": [0, 1, 2],
    "str": ["a", "b", "é"],
    "bool": [True, False],
}
# (zone of the prediction time column, zone of the feedback time column); None = naive.
ZONE_PAIRS: list[tuple[str | None, str | None]] = [
    (None, None),
    ("UTC", "UTC"),
    ("UTC", "Europe/Paris"),
    ("Europe/Paris", "America/New_York"),
]


def examples(n: int) -> int:
    """``n`` hypothesis examples, times ``$LOOPWATCH_EXAMPLES_SCALE`` (default 1) for deep runs."""
    return n * int(os.environ.get("LOOPWATCH_EXAMPLES_SCALE", "1"))


def finer_unit(a: str, b: str) -> str:
    return a if UNIT_FACTOR[a] >= UNIT_FACTOR[b] else b


def compact_timedelta(td: dt.timedelta) -> str:
    """The compact name of a whole-second timedelta: ``1h30m``, ``1d2h``, ``45s``, ``0s``."""
    total = int(td.total_seconds())
    assert dt.timedelta(seconds=total) == td, "only whole seconds are generated"
    parts = []
    for suffix, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{suffix}")
    return "".join(parts) or "0s"


def type_expr(t: pa.DataType) -> str:
    """A Python expression that rebuilds ``t`` (for printing reproducible examples)."""
    if pa.types.is_dictionary(t):
        return f"pa.dictionary({type_expr(t.index_type)}, {type_expr(t.value_type)})"
    if pa.types.is_timestamp(t):
        return f"pa.timestamp({t.unit!r}, tz={t.tz!r})"
    if pa.types.is_duration(t):
        return f"pa.duration({t.unit!r})"
    names = {
        pa.string(): "string",
        pa.large_string(): "large_string",
        pa.string_view(): "string_view",
        pa.bool_(): "bool_",
        pa.float64(): "float64",
    }
    return f"pa.{names.get(t, str(t))}()"


def column_values(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    """Plain Python values: timestamps/durations as ints in their own unit, dictionaries decoded."""
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        col = col.cast(pa.int64())
    elif pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
    return col.to_pylist()


def table_expr(table: pa.Table) -> str:
    cols = ", ".join(
        f"{name!r}: pa.array({column_values(table.column(name))!r}, "
        f"type={type_expr(table.schema.field(name).type)})"
        for name in table.column_names
    )
    return f"pa.table({{{cols}}})"


def rechunk(table: pa.Table, sizes: list[int] | None, redict: bool = False) -> pa.Table:
    """Split ``table`` into record batches of the given sizes (cycled); None = one batch.

    With ``redict`` every batch re-encodes its dictionary columns, so batches carry different
    dictionaries (and codes) for the same strings.
    """
    table = table.combine_chunks()
    if sizes is None:
        batches = table.to_batches()
    else:
        batches = []
        start, k = 0, 0
        while start < table.num_rows:
            n = max(1, sizes[k % len(sizes)])
            batches.append(table.slice(start, n).combine_chunks().to_batches()[0])
            start += n
            k += 1
    if redict:
        rebuilt = []
        for b in batches:
            arrays = []
            for col, f in zip(b.columns, b.schema, strict=True):
                if pa.types.is_dictionary(f.type):
                    values = list(reversed(col.dictionary.to_pylist()))
                    decoded = col.to_pylist()
                    idx = pa.array(
                        [None if v is None else values.index(v) for v in decoded],
                        type=f.type.index_type,
                    )
                    col = pa.DictionaryArray.from_arrays(
                        idx, pa.array(values, type=f.type.value_type)
                    )
                arrays.append(col)
            rebuilt.append(pa.record_batch(arrays, schema=b.schema))
        batches = rebuilt
    return pa.Table.from_batches(batches, schema=table.schema)


@dataclass
class JoinCase:
    """One ``label_join`` call and what the reference needs to predict its result."""

    pred: pa.Table
    fb: pa.Table
    kwargs: dict[str, Any]  # keyword arguments of lw.label_join
    on: list[str]
    windows: dict[str, int]  # label name -> width in the common unit
    time: str
    feedback_time: str
    watermark: int | None  # explicit watermark in the common unit
    attribution: str
    value: str | None
    time_unit: str | None  # common unit, None for integer time
    pred_factor: int = 1  # common-unit ticks per unit of the prediction time column
    fb_factor: int = 1
    chunking: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            "JoinCase(\n"
            f"  pred={table_expr(self.pred)},\n"
            f"  fb={table_expr(self.fb)},\n"
            f"  kwargs={self.kwargs!r},\n"
            f"  chunking={self.chunking!r})"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        # Hypothesis prints falsifying examples with this (a runnable reproduction).
        p.text(repr(self))

    def reference_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Both inputs as dict rows with integer times in the common unit."""
        pred = _rows_with_int_time(self.pred, self.time, self.pred_factor)
        fb = _rows_with_int_time(self.fb, self.feedback_time, self.fb_factor)
        return pred, fb

    def reference(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        pred, fb = self.reference_rows()
        return reference_label_join(
            pred,
            fb,
            on=self.on,
            windows=self.windows,
            time=self.time,
            feedback_time=self.feedback_time,
            watermark=self.watermark,
            attribution=self.attribution,
            value=self.value,
            time_unit=self.time_unit,
        )


def _rows_with_int_time(table: pa.Table, time: str, factor: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    ints = column_values(table.column(time))
    for row, t in zip(rows, ints, strict=True):
        row[time] = None if t is None else t * factor
    return rows


def _build_key_array(values: list[Any], t: pa.DataType) -> pa.Array:
    return pa.array(values, type=t)


@st.composite
def chunk_specs(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["whole", "rows", "random"]))
    sizes = None
    if mode == "rows":
        sizes = [1]
    elif mode == "random":
        sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=5))
    return {"sizes": sizes, "redict": draw(st.booleans())}


@st.composite
def join_cases(
    draw: st.DrawFn,
    *,
    attributions: tuple[str, ...] = ("last", "first", "all"),
    max_preds: int = 10,
    max_events: int = 14,
    chunked: bool = True,
) -> JoinCase:
    # --- time representation -------------------------------------------------------------
    time_kind = draw(st.sampled_from(["timestamp", "timestamp", "int"]))
    if time_kind == "int":
        pred_time_type = draw(st.sampled_from([pa.int64(), pa.int32()]))
        fb_time_type = draw(st.sampled_from([pa.int64(), pa.int32()]))
        pred_unit = fb_unit = None
        common = None
        pred_factor = fb_factor = 1
        tick = 1  # common-unit ticks per generated time step
        base = draw(st.sampled_from([0, 1_000]))
        tick_s = 0
        zones: tuple[str | None, str | None] = (None, None)
    else:
        pred_unit = draw(st.sampled_from(UNITS))
        fb_unit = draw(st.sampled_from(UNITS))
        zones = draw(st.sampled_from(ZONE_PAIRS))
        pred_time_type = pa.timestamp(pred_unit, tz=zones[0])
        fb_time_type = pa.timestamp(fb_unit, tz=zones[1])
        common = finer_unit(pred_unit, fb_unit)
        pred_factor = UNIT_FACTOR[common] // UNIT_FACTOR[pred_unit]
        fb_factor = UNIT_FACTOR[common] // UNIT_FACTOR[fb_unit]
        tick_s = draw(st.sampled_from([1, 1, 60]))
        tick = tick_s * UNIT_FACTOR[common]
        base = BASE_EPOCH_S * UNIT_FACTOR[common]

    # --- windows ---------------------------------------------------------------------------
    steps_pool = [0, 1, 2, 3, 5, 8] + ([90] if tick_s == 60 else [])
    steps = draw(st.lists(st.sampled_from(steps_pool), min_size=1, max_size=3, unique=True))
    window_args: list[Any] = []
    windows: dict[str, int] = {}
    for k in steps:
        if time_kind == "int":
            arg: Any = k
            name = str(k)
        else:
            secs = k * tick_s
            forms: list[Any] = [f"{secs}s", f"{secs * 1000}ms"]
            if tick_s == 60:
                forms.append(f"{k}m")
            if secs > 0:
                forms.append(dt.timedelta(seconds=secs))
            if secs >= 60:
                forms.append(compact_timedelta(dt.timedelta(seconds=secs)))
            arg = draw(st.sampled_from(forms))
            name = compact_timedelta(arg) if isinstance(arg, dt.timedelta) else arg
        window_args.append(arg)
        windows[name] = k * tick
    max_step = max(steps)

    # --- keys ------------------------------------------------------------------------------
    key_kinds = draw(
        st.sampled_from(
            [["int"], ["str"], ["int", "str"], ["str", "int"], ["bool"], ["int", "bool"]]
        )
    )
    on = [f"k{i}" for i in range(len(key_kinds))]
    key_types: list[tuple[pa.DataType, pa.DataType]] = []
    for kind in key_kinds:
        if kind == "int":
            key_types.append((draw(st.sampled_from(INT_TYPES)), draw(st.sampled_from(INT_TYPES))))
        elif kind == "str":
            key_types.append((draw(st.sampled_from(STR_TYPES)), draw(st.sampled_from(STR_TYPES))))
        else:
            key_types.append((pa.bool_(), pa.bool_()))
    domain_size = draw(st.integers(1, 3))
    nullable = draw(st.booleans())

    def key_value(kind: str) -> st.SearchStrategy[Any]:
        values = KEY_DOMAINS[kind][:domain_size]
        s: st.SearchStrategy[Any] = st.sampled_from(values)
        if nullable:
            s = st.one_of(s, s, s, s, s, st.none())
        return s

    # --- predictions -----------------------------------------------------------------------
    n_steps = draw(st.integers(0, 12))
    n_pred = draw(st.integers(0, max_preds))
    step_s: st.SearchStrategy[Any] = st.integers(0, n_steps)
    if nullable:
        step_s = st.one_of(step_s, step_s, step_s, step_s, step_s, st.none())
    pred_keys = [[draw(key_value(kind)) for kind in key_kinds] for _ in range(n_pred)]
    pred_steps = [draw(step_s) for _ in range(n_pred)]

    def offset(unit: str | None, factor: int) -> int:
        # One unit of the side's own resolution either way, in the common unit.
        if unit is None or unit == "s":
            return 0
        return draw(st.sampled_from([0, 0, 0, 0, -1, 1])) * factor

    pred_times: list[int | None] = [
        None if s is None else base + s * tick + offset(pred_unit, pred_factor) for s in pred_steps
    ]

    # --- feedback --------------------------------------------------------------------------
    # Interesting feedback times: at a prediction, at the end of each of its windows, one
    # common unit around those, and anywhere in range (including before every prediction).
    specials = sorted({t + d for t in pred_times if t is not None for d in [0, *windows.values()]})
    n_fb = draw(st.integers(0, max_events))
    fb_keys = []
    fb_times: list[int | None] = []
    for _ in range(n_fb):
        if pred_keys and draw(st.booleans()):
            fb_keys.append(list(draw(st.sampled_from(pred_keys))))
        else:
            fb_keys.append([draw(key_value(kind)) for kind in key_kinds])
        choice = draw(st.sampled_from(["special", "special", "special", "any", "any", "null"]))
        if choice == "null" and not nullable:
            choice = "any"
        if choice == "special" and specials:
            t = draw(st.sampled_from(specials)) + offset(fb_unit, fb_factor)
        elif choice == "null":
            t = None
        else:
            step = draw(st.integers(-2, n_steps + max_step + 2))
            t = base + step * tick + offset(fb_unit, fb_factor)
        fb_times.append(t)
    # The feedback column can only hold multiples of its own unit.
    fb_times = [None if t is None else t - t % fb_factor for t in fb_times]
    pred_times = [None if t is None else t - t % pred_factor for t in pred_times]

    # --- value column ----------------------------------------------------------------------
    value = None
    value_type = draw(st.sampled_from([None, pa.int64(), pa.float64()]))
    values: list[Any] = []
    if value_type is not None:
        value = "v"
        num: st.SearchStrategy[Any] = (
            st.integers(-3, 5)
            if value_type == pa.int64()
            else st.integers(-6, 10).map(lambda x: x / 2)
        )
        values = [draw(st.one_of(num, num, st.none())) for _ in range(n_fb)]

    # --- watermark -------------------------------------------------------------------------
    wm_kind = draw(st.sampled_from(["default", "default", "explicit"]))
    watermark: int | None = None
    wm_arg: Any = None
    if wm_kind == "explicit":
        step = draw(st.integers(-1, n_steps + max_step + 2))
        watermark = base + step * tick
        if time_kind == "int":
            wm_arg = watermark
        else:
            assert common is not None
            # A datetime holds microseconds: nudge by one ms/us where the unit allows it.
            nudge_unit = {"s": 0, "ms": UNIT_FACTOR["ms"], "us": UNIT_FACTOR["us"]}.get(
                common, UNIT_FACTOR["us"]
            )
            if nudge_unit:
                watermark += draw(st.sampled_from([0, 0, -1, 1])) * (
                    UNIT_FACTOR[common] // nudge_unit
                )
            micros = watermark * UNIT_FACTOR["us"] // UNIT_FACTOR[common]
            assert micros * UNIT_FACTOR[common] == watermark * UNIT_FACTOR["us"]
            epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            wm_dt = epoch + dt.timedelta(microseconds=micros)
            if zones[0] is None:
                wm_arg = wm_dt.replace(tzinfo=None)
            else:
                zone = draw(st.sampled_from(["UTC", "Europe/Paris"]))
                wm_arg = wm_dt.astimezone(zoneinfo.ZoneInfo(zone))

    # --- tables ----------------------------------------------------------------------------
    fb_time_col = draw(st.sampled_from(["ts", "t_event"]))
    pred_cols: dict[str, pa.Array] = {"pid": pa.array(range(n_pred), type=pa.int64())}
    for i in range(len(key_kinds)):
        pred_cols[on[i]] = _build_key_array([k[i] for k in pred_keys], key_types[i][0])
    pred_cols["ts"] = pa.array(
        [None if t is None else t // pred_factor for t in pred_times], type=pred_time_type
    )
    pred_cols["score"] = pa.array([(i % 4) / 4 for i in range(n_pred)], type=pa.float64())
    pred = pa.table(pred_cols)

    fb_cols: dict[str, pa.Array] = {}
    for i in range(len(key_kinds)):
        fb_cols[on[i]] = _build_key_array([k[i] for k in fb_keys], key_types[i][1])
    fb_cols[fb_time_col] = pa.array(
        [None if t is None else t // fb_factor for t in fb_times], type=fb_time_type
    )
    if value is not None:
        fb_cols["v"] = pa.array(values, type=value_type)
    fb_cols["kind"] = pa.array(["click"] * n_fb, type=pa.string())
    fb = pa.table(fb_cols)

    chunking: dict[str, Any] = {}
    if chunked:
        chunking = {"pred": draw(chunk_specs()), "fb": draw(chunk_specs())}
        pred = rechunk(pred, chunking["pred"]["sizes"], chunking["pred"]["redict"])
        fb = rechunk(fb, chunking["fb"]["sizes"], chunking["fb"]["redict"])

    attribution = draw(st.sampled_from(attributions))
    kwargs: dict[str, Any] = {"on": on if len(on) > 1 or draw(st.booleans()) else on[0]}
    kwargs["windows"] = (
        window_args[0] if len(window_args) == 1 and draw(st.booleans()) else window_args
    )
    if draw(st.booleans()):
        kwargs["time"] = "ts"
    if fb_time_col != "ts" or draw(st.booleans()):
        kwargs["feedback_time"] = fb_time_col
    kwargs["watermark"] = wm_arg
    kwargs["attribution"] = attribution
    if value is not None:
        kwargs["value"] = value

    return JoinCase(
        pred=pred,
        fb=fb,
        kwargs=kwargs,
        on=on,
        windows=windows,
        time="ts",
        feedback_time=fb_time_col,
        watermark=watermark,
        attribution=attribution,
        value=value,
        time_unit=common,
        pred_factor=pred_factor,
        fb_factor=fb_factor,
        chunking=chunking,
    )


# --- larger realistic logs ----------------------------------------------------------------


def make_logs(
    seed: int,
    *,
    n_pred: int = 3_000,
    n_users: int = 60,
    n_items: int = 12,
    pred_unit: str = "ms",
    fb_unit: str = "us",
    tz: str | None = "UTC",
    click_rate: float = 0.3,
    mean_delay_s: float = 600.0,
    null_rate: float = 0.01,
) -> tuple[pa.Table, pa.Table]:
    """Impression and click logs over two days: repeated (user, item) keys, ties in time
    (impressions at whole seconds), exponential click delays (a fifth of them slow: hours),
    duplicate clicks, orphan clicks and a sprinkle of null keys/times. Timestamps as
    ``pred_unit`` / ``fb_unit`` columns."""
    rng = np.random.default_rng(seed)
    span_s = 2 * 86_400
    t_pred_s = np.sort(rng.integers(0, span_s, n_pred))
    # Shuffle part of the rows so input order is not time order everywhere.
    order = np.arange(n_pred)
    cut = n_pred // 3
    order[:cut] = rng.permutation(order[:cut])
    t_pred_s = t_pred_s[order]
    users = rng.integers(0, n_users, n_pred)
    items = rng.integers(0, n_items, n_pred)
    pf = UNIT_FACTOR[pred_unit]
    t_pred = (BASE_EPOCH_S + t_pred_s) * pf

    clicked = rng.random(n_pred) < click_rate
    idx = np.flatnonzero(clicked)
    # Some impressions get two clicks.
    idx = np.concatenate([idx, idx[rng.random(len(idx)) < 0.15]])
    ff = UNIT_FACTOR[fb_unit]
    # A mixture: most clicks within minutes, a fifth (conversions) within hours.
    mean_s = np.where(rng.random(len(idx)) < 0.2, 3 * 3_600.0, mean_delay_s)
    delay_f = (rng.exponential(mean_s) * ff).astype(np.int64)
    delay_f[rng.random(len(idx)) < 0.05] = 0  # clicks at the very instant of the impression
    t_fb = t_pred[idx] // pf * ff + delay_f
    fb_users = users[idx]
    fb_items = items[idx]
    # Orphans and stray clicks: random keys at random times.
    n_stray = max(1, len(idx) // 10)
    t_fb = np.concatenate([t_fb, (BASE_EPOCH_S + rng.integers(0, span_s, n_stray)) * ff])
    fb_users = np.concatenate([fb_users, rng.integers(0, n_users + 5, n_stray)])
    fb_items = np.concatenate([fb_items, rng.integers(0, n_items, n_stray)])
    perm = rng.permutation(len(t_fb))
    t_fb, fb_users, fb_items = t_fb[perm], fb_users[perm], fb_items[perm]
    values = rng.integers(0, 50, len(t_fb)).astype(np.float64)

    def masked(a: np.ndarray) -> pa.Array:
        return pa.array(a, mask=rng.random(len(a)) < null_rate)

    pred = pa.table(
        {
            "user_id": masked(users),
            "item_id": masked(items).cast(pa.int32()),
            "ts": masked(t_pred).cast(pa.timestamp(pred_unit, tz=tz)),
            "score": pa.array(rng.random(n_pred)),
        }
    )
    fb = pa.table(
        {
            "user_id": masked(fb_users),
            "item_id": masked(fb_items),
            "ts": masked(t_fb).cast(pa.timestamp(fb_unit, tz=tz)),
            "v": masked(values),
        }
    )
    return pred, fb
