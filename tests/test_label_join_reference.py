"""``lw.label_join`` against the pure-Python reference (SPEC §2).

Two layers:

* hand-written cases with exact expected outputs, one or two rules each (the ``why`` of each
  case says which); they check the reference too, so they run before the extension exists;
* hypothesis differential tests over :func:`strategies.join_cases`, comparing every output
  column, the output schema and ``lw.join_stats`` with the reference.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import JoinCase, column_values, compact_timedelta, examples, join_cases

# --- comparing a result with the reference -------------------------------------------------


def expected_columns(case: JoinCase) -> list[str]:
    cols = [*case.pred.column_names, *(f"label_{n}" for n in case.windows)]
    cols += ["feedback_count", "first_feedback_delay"]
    if case.value is not None:
        cols.append("value_sum")
    return cols


def run_engine(lw: ModuleType, case: JoinCase, **extra: Any) -> pa.Table:
    out = lw.label_join(case.pred, case.fb, **case.kwargs, **extra)
    assert isinstance(out, pa.Table)
    return out


def assert_matches_reference(lw: ModuleType, out: pa.Table, case: JoinCase) -> None:
    ref_rows, ref_stats = case.reference()

    # Shape and types.
    assert out.column_names == expected_columns(case)
    assert out.num_rows == case.pred.num_rows
    for name in case.windows:
        assert out.schema.field(f"label_{name}").type == pa.int8(), name
    assert out.schema.field("feedback_count").type == pa.int64()
    delay_type = pa.int64() if case.time_unit is None else pa.duration(case.time_unit)
    assert out.schema.field("first_feedback_delay").type == delay_type
    if case.value is not None:
        assert out.schema.field("value_sum").type == pa.float64()

    # Prediction columns come back unchanged, in input order (values; types: see below).
    for name in case.pred.column_names:
        assert column_values(out.column(name)) == column_values(case.pred.column(name)), name

    # Computed columns, row by row (pid makes a failing row easy to find).
    computed = expected_columns(case)[len(case.pred.column_names) :]
    got = [
        dict(zip(computed, r, strict=True))
        for r in zip(*(column_values(out.column(c)) for c in computed), strict=True)
    ]
    want = [{c: r[c] for c in computed} for r in ref_rows]
    if got != want:
        diff = [
            (i, {"got": g, "want": w})
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            if g != w
        ]
        raise AssertionError(f"{len(diff)} rows differ from the reference: {diff[:5]}")

    # Stats: every field the contract names.
    stats = lw.join_stats(out)
    got_stats = {k: stats[k] for k in ref_stats}
    assert got_stats == ref_stats


# --- hypothesis differential tests ----------------------------------------------------------

SETTINGS = settings(
    max_examples=examples(250),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(case=join_cases())
def test_label_join_matches_reference(lw: ModuleType, case: JoinCase) -> None:
    assert_matches_reference(lw, run_engine(lw, case), case)


@settings(SETTINGS, max_examples=examples(100))
@given(case=join_cases(max_preds=25, max_events=40))
def test_label_join_matches_reference_bigger(lw: ModuleType, case: JoinCase) -> None:
    assert_matches_reference(lw, run_engine(lw, case), case)


@settings(SETTINGS, max_examples=examples(60))
@given(case=join_cases())
def test_prediction_column_types_pass_through(lw: ModuleType, case: JoinCase) -> None:
    # "all prediction columns": same names, same Arrow types (dictionary and string_view kept).
    out = run_engine(lw, case)
    n = case.pred.num_columns
    assert out.schema.names[:n] == case.pred.schema.names
    for i in range(n):
        assert out.schema.field(i).type == case.pred.schema.field(i).type, out.schema.field(i)


@settings(SETTINGS, max_examples=examples(40))
@given(case=join_cases())
def test_output_to_parquet_returns_same_stats(
    lw: ModuleType, case: JoinCase, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("out") / "labeled.parquet"
    counts = lw.label_join(case.pred, case.fb, **case.kwargs, output=str(path))
    in_memory = run_engine(lw, case)
    stats = lw.join_stats(in_memory)
    assert counts == stats
    assert lw.join_stats(str(path)) == stats
    written = pq.read_table(path)
    for name in expected_columns(case)[case.pred.num_columns :]:
        assert column_values(written.column(name)) == column_values(in_memory.column(name))


# --- hand-written cases ---------------------------------------------------------------------


@dataclass
class Hand:
    id: str
    why: str
    pred: dict[str, list[Any]] | pa.Table
    fb: dict[str, list[Any]] | pa.Table
    kw: dict[str, Any]
    expect: dict[str, list[Any]]
    events: dict[str, int]
    pred_invalid: int = 0
    # Reference parameters, for timestamp cases (integer cases derive them from kw).
    ref_windows: dict[str, int] | None = None
    ref_watermark: int | None = None
    time_unit: str | None = None
    pred_factor: int = 1
    fb_factor: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def case(self) -> JoinCase:
        pred = self.pred if isinstance(self.pred, pa.Table) else pa.table(self.pred)
        fb = self.fb if isinstance(self.fb, pa.Table) else pa.table(self.fb)
        windows = self.kw["windows"]
        windows = windows if isinstance(windows, list) else [windows]
        on = self.kw["on"]
        return JoinCase(
            pred=pred,
            fb=fb,
            kwargs=self.kw,
            on=[on] if isinstance(on, str) else list(on),
            windows=self.ref_windows or {str(w): w for w in windows},
            time=self.kw.get("time", "ts"),
            feedback_time=self.kw.get("feedback_time") or self.kw.get("time", "ts"),
            watermark=(
                self.ref_watermark if self.time_unit is not None else self.kw.get("watermark")
            ),
            attribution=self.kw.get("attribution", "last"),
            value=self.kw.get("value"),
            time_unit=self.time_unit,
            pred_factor=self.pred_factor,
            fb_factor=self.fb_factor,
        )


UTC = dt.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
T0_MS = 1_711_846_790_000  # 2024-03-31 00:59:50 UTC, in ms
T0_US = T0_MS * 1_000

HANDS: list[Hand] = [
    Hand(
        "last_basic",
        "pid0 gets the event at 3 (delay 3), pid1 the one at 12 (delay 2; pid1 is the latest "
        "prediction of key 1 at or before 12). Key 2's event at 25 is 25 after its only "
        "prediction, more than W_max = 20: late. A = 25 closes every window of pid2 (0).",
        {"pid": [0, 1, 2], "k": [1, 1, 2], "ts": [0, 10, 0]},
        {"k": [1, 1, 2], "ts": [3, 12, 25]},
        {"on": "k", "windows": [5, 20]},
        {
            "label_5": [1, 1, 0],
            "label_20": [1, 1, 0],
            "feedback_count": [1, 1, 0],
            "first_feedback_delay": [3, 2, None],
        },
        {"credited": 2, "orphan": 0, "late": 1, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "closed_window_bounds",
        "Windows are closed: a delay of exactly 0 counts for label_0 (pid0), a delay of "
        "exactly 5 counts for label_5 (pid1, and label_0 is 0 since A = 6 >= 0). Key 3's "
        "event at delay 6 > W_max = 5 is late: both labels 0 (A = 6 >= t_p + 5).",
        {"pid": [0, 1, 2], "k": [1, 2, 3], "ts": [0, 0, 0]},
        {"k": [1, 2, 3], "ts": [0, 5, 6]},
        {"on": "k", "windows": [0, 5]},
        {
            "label_0": [1, 0, 0],
            "label_5": [1, 1, 0],
            "feedback_count": [1, 1, 0],
            "first_feedback_delay": [0, 5, None],
        },
        {"credited": 2, "orphan": 0, "late": 1, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "last_tie_later_row_wins",
        "Both predictions at t = 5: under 'last' the later row (pid1) gets the event. pid0 is "
        "not closed by A = 6 < 5 + 3, but its successor pid1 (same t_p, later row, 5 <= A) "
        "closes it: 0.",
        {"pid": [0, 1], "k": [1, 1], "ts": [5, 5]},
        {"k": [1], "ts": [6]},
        {"on": "k", "windows": [3], "attribution": "last"},
        {"label_3": [0, 1], "feedback_count": [0, 1], "first_feedback_delay": [None, 1]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "first_tie_earlier_row_wins",
        "Same data under 'first': the earlier row (pid0) gets the event; pid1 stays pending "
        "(A = 6 < 8 and no successor rule outside 'last').",
        {"pid": [0, 1], "k": [1, 1], "ts": [5, 5]},
        {"k": [1], "ts": [6]},
        {"on": "k", "windows": [3], "attribution": "first"},
        {"label_3": [1, None], "feedback_count": [1, 0], "first_feedback_delay": [1, None]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "all_credits_every_window",
        "Same data under 'all': the event falls in both windows and is credited to both; it "
        "still counts once in events.credited.",
        {"pid": [0, 1], "k": [1, 1], "ts": [5, 5]},
        {"k": [1], "ts": [6]},
        {"on": "k", "windows": [3], "attribution": "all"},
        {"label_3": [1, 1], "feedback_count": [1, 1], "first_feedback_delay": [1, 1]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "last_vs_first_vs_all_last",
        "Predictions at 0 and 3, W = 5, event at 4: 'last' gives it to pid1 (delay 1). pid0 "
        "is closed by its successor (3 <= A = 4) although A < 0 + 5.",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 3]},
        {"k": [1], "ts": [4]},
        {"on": "k", "windows": [5], "attribution": "last"},
        {"label_5": [0, 1], "feedback_count": [0, 1], "first_feedback_delay": [None, 1]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "last_vs_first_vs_all_first",
        "'first' gives the event at 4 to the earliest window holding it, pid0 (delay 4); "
        "pid1 is pending (A = 4 < 8).",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 3]},
        {"k": [1], "ts": [4]},
        {"on": "k", "windows": [5], "attribution": "first"},
        {"label_5": [1, None], "feedback_count": [1, 0], "first_feedback_delay": [4, None]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "last_vs_first_vs_all_all",
        "'all' gives the event at 4 to both (delays 4 and 1).",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 3]},
        {"k": [1], "ts": [4]},
        {"on": "k", "windows": [5], "attribution": "all"},
        {"label_5": [1, 1], "feedback_count": [1, 1], "first_feedback_delay": [4, 1]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "first_skips_expired_window",
        "'first' with predictions at 0 and 8, W = 5, event at 9: pid0's window [0, 5] does "
        "not hold 9, so the earliest window holding it is pid1's (delay 1). The event at 6 "
        "is in no window (pid0 ended at 5, pid1 starts at 8): late.",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 8]},
        {"k": [1, 1], "ts": [9, 6]},
        {"on": "k", "windows": [5], "attribution": "first"},
        {"label_5": [0, 1], "feedback_count": [0, 1], "first_feedback_delay": [None, 1]},
        {"credited": 1, "orphan": 0, "late": 1, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "event_at_prediction_time_goes_to_it",
        "'last': the event at 10 goes to the prediction at 10 (t_p <= t_f is inclusive), not "
        "to the one at 0, whose window also holds it.",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 10]},
        {"k": [1], "ts": [10]},
        {"on": "k", "windows": [20]},
        {"label_20": [0, 1], "feedback_count": [0, 1], "first_feedback_delay": [None, 0]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "orphans_and_late",
        "Event at -1 precedes key 1's only prediction: orphan. Key 9 has no prediction: "
        "orphan. Event at 6 is 6 after the prediction at 0, W_max = 5: late (the key has an "
        "earlier prediction). A = 6 closes label_5 of pid0.",
        {"pid": [0], "k": [1], "ts": [0]},
        {"k": [1, 9, 1], "ts": [-1, 3, 6]},
        {"on": "k", "windows": [5]},
        {"label_5": [0], "feedback_count": [0], "first_feedback_delay": [None]},
        {"credited": 0, "orphan": 2, "late": 1, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "invalid_rows",
        "pid1 has a null key, pid2 a null time: invalid, null labels, count 0, never matched "
        "(the events with key None / the event at 2 of key 2 find nothing). Feedback rows "
        "with a null key or null time are invalid. The key-2 event at 2 has no valid "
        "prediction of key 2 at or before it: orphan. A = 3 (max valid event time).",
        {"pid": [0, 1, 2], "k": [1, None, 2], "ts": [0, 0, None]},
        {"k": [1, None, 1, 2], "ts": [3, 1, None, 2]},
        {"on": "k", "windows": [5]},
        {
            "label_5": [1, None, None],
            "feedback_count": [1, 0, 0],
            "first_feedback_delay": [3, None, None],
        },
        {"credited": 1, "orphan": 1, "late": 0, "after_watermark": 0, "invalid": 2},
        pred_invalid=2,
    ),
    Hand(
        "null_key_component_never_matches",
        "Two-column key: a null in any column makes the row invalid on both sides, so "
        "(1, None) never matches (1, None). pid0 (1, 'a') gets its event; A = 4.",
        {"pid": [0, 1], "k": [1, 1], "s": ["a", None], "ts": [0, 0]},
        {"k": [1, 1], "s": ["a", None], "ts": [4, 1]},
        {"on": ["k", "s"], "windows": [5]},
        {"label_5": [1, None], "feedback_count": [1, 0], "first_feedback_delay": [4, None]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 1},
        pred_invalid=1,
    ),
    Hand(
        "explicit_watermark",
        "watermark = 10: events at 11 and 12 are after it (even key 9's, which would be an "
        "orphan; the null-key one at 11 is invalid first). pid0: event at 3 (label_5 = 1), "
        "label_20 = 1. pid1 (t=8): A = 10 < 13, no credit: pending. pid2 (t=0, key 3): "
        "A = 10 >= 5 closes label_5 (0), label_20 still pending (10 < 20).",
        {"pid": [0, 1, 2], "k": [1, 2, 3], "ts": [0, 8, 0]},
        {"k": [1, 1, 2, 9, None], "ts": [3, 12, 11, 11, 11]},
        {"on": "k", "windows": [5, 20], "watermark": 10},
        {
            "label_5": [1, None, 0],
            "label_20": [1, None, None],
            "feedback_count": [1, 0, 0],
            "first_feedback_delay": [3, None, None],
        },
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 3, "invalid": 1},
    ),
    Hand(
        "watermark_at_window_end_closes",
        "A = t_p + w closes the window (A >= t_p + w): label_5 of pid0 (t=0) is 0 with "
        "watermark 5, and pending for pid1 (t=1).",
        {"pid": [0, 1], "k": [1, 2], "ts": [0, 1]},
        {"k": [3], "ts": [0]},
        {"on": "k", "windows": [5], "watermark": 5},
        {"label_5": [0, None], "feedback_count": [0, 0], "first_feedback_delay": [None, None]},
        {"credited": 0, "orphan": 1, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "no_valid_feedback_everything_pending",
        "Default watermark and no valid event: A does not exist, so no window can close, "
        "not even through the successor rule (pid1 follows pid0): all pending.",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 1]},
        {"k": [None, 1], "ts": [100, None]},
        {"on": "k", "windows": [5]},
        {"label_5": [None, None], "feedback_count": [0, 0], "first_feedback_delay": [None, None]},
        {"credited": 0, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 2},
    ),
    Hand(
        "empty_feedback_explicit_watermark",
        "No feedback rows at all, watermark = 5: pid0 (t=0) closed (0), pid1 (t=3) closed by "
        "its successor pid2 (t=4 <= 5) under 'last', pid2 pending (5 < 9).",
        {"pid": [0, 1, 2], "k": [1, 2, 2], "ts": [0, 3, 4]},
        pa.table({"k": pa.array([], pa.int64()), "ts": pa.array([], pa.int64())}),
        {"on": "k", "windows": [5], "watermark": 5},
        {
            "label_5": [0, 0, None],
            "feedback_count": [0, 0, 0],
            "first_feedback_delay": [None, None, None],
        },
        {"credited": 0, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "empty_predictions",
        "No predictions: zero output rows; every valid event is an orphan.",
        pa.table({"k": pa.array([], pa.int64()), "ts": pa.array([], pa.int64())}),
        {"k": [1, 2, None], "ts": [0, 1, 2]},
        {"on": "k", "windows": [5]},
        {"label_5": [], "feedback_count": [], "first_feedback_delay": []},
        {"credited": 0, "orphan": 2, "late": 0, "after_watermark": 0, "invalid": 1},
    ),
    Hand(
        "successor_rule_last_only",
        "'last', W = 10: pid0 (t=0) gets nothing, A = 3 < 10, but its successor pid1 (t=2 <= "
        "A) takes every later event: 0. An invalid later prediction (pid2, null time) and a "
        "later prediction of another key (pid3) close nothing; pid3's own label is pending.",
        {"pid": [0, 1, 2, 3], "k": [1, 1, 1, 2], "ts": [0, 2, None, 1]},
        {"k": [1], "ts": [3]},
        {"on": "k", "windows": [10]},
        {
            "label_10": [0, 1, None, None],
            "feedback_count": [0, 1, 0, 0],
            "first_feedback_delay": [None, 1, None, None],
        },
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
        pred_invalid=1,
    ),
    Hand(
        "successor_after_watermark_does_not_close",
        "'last', watermark = 1: the successor at t=2 is after A, so pid0 stays pending; the "
        "event at 3 is after the watermark.",
        {"pid": [0, 1], "k": [1, 1], "ts": [0, 2]},
        {"k": [1], "ts": [3]},
        {"on": "k", "windows": [10], "watermark": 1},
        {"label_10": [None, None], "feedback_count": [0, 0], "first_feedback_delay": [None, None]},
        {"credited": 0, "orphan": 0, "late": 0, "after_watermark": 1, "invalid": 0},
    ),
    Hand(
        "value_sum_sql_semantics",
        "'all', W = 10: pid0 (t=0) and pid1 (t=1) both get the events at 2 (v=2.5) and 3 "
        "(v=null): value_sum 2.5 each. Key 2's only credited event has a null value: "
        "value_sum null (SQL SUM of no values), yet feedback_count 1. pid3 gets nothing: null.",
        {"pid": [0, 1, 2, 3], "k": [1, 1, 2, 3], "ts": [0, 1, 0, 0]},
        {"k": [1, 1, 2], "ts": [2, 3, 4], "v": [2.5, None, None]},
        {"on": "k", "windows": [10], "attribution": "all", "value": "v"},
        {
            "label_10": [1, 1, 1, None],
            "feedback_count": [2, 2, 1, 0],
            "first_feedback_delay": [2, 1, 4, None],
            "value_sum": [2.5, 2.5, None, None],
        },
        {"credited": 3, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "value_sum_integer_column",
        "An int64 value column sums to float64: 3 + 4 = 7.0 for pid0.",
        {"pid": [0], "k": [1], "ts": [0]},
        {"k": [1, 1], "ts": [1, 2], "v": [3, 4]},
        {"on": "k", "windows": [5], "value": "v"},
        {
            "label_5": [1],
            "feedback_count": [2],
            "first_feedback_delay": [1],
            "value_sum": [7.0],
        },
        {"credited": 2, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "string_keys_across_layouts",
        "Keys compared by value whatever the layout: dictionary (codes differ from the other "
        "side's) vs large_utf8, plus an int32 vs int64 key column. ('b', 1) matches, "
        "('a', 1) gets nothing; A = 2 closes label_1 of both.",
        pa.table(
            {
                "pid": [0, 1],
                "s": pa.array(["a", "b"], pa.dictionary(pa.int32(), pa.string())),
                "k": pa.array([1, 1], pa.int32()),
                "ts": [0, 0],
            }
        ),
        pa.table(
            {
                "s": pa.array(["b"], pa.large_string()),
                "k": pa.array([1], pa.int64()),
                "ts": [2],
            }
        ),
        {"on": ["s", "k"], "windows": [1, 2]},
        {
            "label_1": [0, 0],
            "label_2": [0, 1],
            "feedback_count": [0, 1],
            "first_feedback_delay": [None, 2],
        },
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "all_null_dictionary_keys",
        "A dictionary-encoded key column whose values are all null has an empty dictionary. "
        "pid0 is invalid (null key): null labels, count 0. The feedback's only row has a null "
        "dictionary key: invalid, so no valid event, A does not exist and pid1 is pending.",
        pa.table(
            {
                "pid": [0, 1],
                "k": pa.array([None, None], pa.dictionary(pa.int32(), pa.string())),
                "ts": [0, None],
            }
        ),
        pa.table({"k": pa.array([None], pa.dictionary(pa.int32(), pa.string())), "ts": [1]}),
        {"on": "k", "windows": [5]},
        {"label_5": [None, None], "feedback_count": [0, 0], "first_feedback_delay": [None, None]},
        {"credited": 0, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 1},
        pred_invalid=2,
    ),
    Hand(
        "delay_beyond_int64_is_late",
        "Integer time at the int64 edge: t_p = -5, t_f = 2**63 - 1 and W = 2**63 - 1. The "
        "delay t_f - t_p = 2**63 + 4 exceeds W (t_f > t_p + W = 2**63 - 6), so the event is "
        "late even though the delay does not fit in int64 (it must not saturate to W). "
        "A = t_f >= t_p + W closes the window: 0.",
        {"pid": [0], "k": [1], "ts": [-5]},
        {"k": [1], "ts": [2**63 - 1]},
        {"on": "k", "windows": [2**63 - 1]},
        {"label_9223372036854775807": [0], "feedback_count": [0], "first_feedback_delay": [None]},
        {"credited": 0, "orphan": 0, "late": 1, "after_watermark": 0, "invalid": 0},
    ),
    Hand(
        "mixed_units_and_zones",
        "Predictions in ms (UTC), feedback in us (Europe/Paris): compared as instants in us. "
        "pid0's event is 1 s + 1 us late for label_1s (0) but within 1h30m; pid1's event is "
        "exactly 1 s after (1). first_feedback_delay is duration[us]; the timedelta window "
        "is named '1h30m'. A = the later event.",
        pa.table(
            {
                "pid": [0, 1],
                "k": [1, 2],
                "ts": pa.array([T0_MS, T0_MS], pa.timestamp("ms", tz="UTC")),
            }
        ),
        pa.table(
            {
                "k": [1, 2],
                "ts": pa.array(
                    [T0_US + 1_000_001, T0_US + 1_000_000],
                    pa.timestamp("us", tz="Europe/Paris"),
                ),
            }
        ),
        {"on": "k", "windows": ["1s", dt.timedelta(hours=1, minutes=30)]},
        {
            "label_1s": [0, 1],
            "label_1h30m": [1, 1],
            "feedback_count": [1, 1],
            "first_feedback_delay": [1_000_001, 1_000_000],
        },
        {"credited": 2, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
        ref_windows={"1s": 1_000_000, "1h30m": 5_400_000_000},
        ref_watermark=T0_US + 1_000_001,
        time_unit="us",
        pred_factor=1_000,
    ),
    Hand(
        "aware_watermark_other_zone",
        "An aware watermark in Paris time is an instant: 2024-03-31 03:00:00+02:00 (CEST, "
        "just after the DST switch) = 01:00:00 UTC = T0 + 10 s. pid0 (T0) label_10s is closed "
        "(A = T0 + 10 s >= T0 + 10 s); pid1 (T0 + 1 s) is pending; the event at T0 + 11 s is "
        "after the watermark.",
        pa.table(
            {
                "pid": [0, 1],
                "k": [1, 2],
                "ts": pa.array([T0_MS, T0_MS + 1_000], pa.timestamp("ms", tz="UTC")),
            }
        ),
        pa.table({"k": [1], "ts": pa.array([T0_MS + 11_000], pa.timestamp("ms", tz="UTC"))}),
        {
            "on": "k",
            "windows": "10s",
            "watermark": dt.datetime(2024, 3, 31, 3, 0, 0, tzinfo=PARIS),
        },
        {"label_10s": [0, None], "feedback_count": [0, 0], "first_feedback_delay": [None, None]},
        {"credited": 0, "orphan": 0, "late": 0, "after_watermark": 1, "invalid": 0},
        ref_windows={"10s": 10_000},
        ref_watermark=T0_MS + 10_000,
        time_unit="ms",
    ),
    Hand(
        "naive_timestamps_other_feedback_time",
        "Naive seconds-vs-nanoseconds columns, feedback time column 'event_ts', window '90s' "
        "keeps its name: the event 90 s after pid0 counts (delay 90e9 ns).",
        pa.table({"pid": [0], "k": ["x"], "ts": pa.array([T0_MS // 1000], pa.timestamp("s"))}),
        pa.table(
            {
                "k": ["x"],
                "event_ts": pa.array([(T0_MS // 1000 + 90) * 10**9], pa.timestamp("ns")),
            }
        ),
        {"on": "k", "windows": ["90s"], "feedback_time": "event_ts"},
        {"label_90s": [1], "feedback_count": [1], "first_feedback_delay": [90 * 10**9]},
        {"credited": 1, "orphan": 0, "late": 0, "after_watermark": 0, "invalid": 0},
        ref_windows={"90s": 90 * 10**9},
        ref_watermark=(T0_MS // 1000 + 90) * 10**9,
        time_unit="ns",
        pred_factor=10**9,
    ),
]


def check_hand(hand: Hand, rows: list[dict[str, Any]], stats: dict[str, Any]) -> None:
    case = hand.case()
    for col, want in hand.expect.items():
        assert [r[col] for r in rows] == want, col
    assert stats["events"] == {"total": case.fb.num_rows, **hand.events}
    assert stats["predictions"] == {"total": case.pred.num_rows, "invalid": hand.pred_invalid}
    for name in case.windows:
        col = hand.expect[f"label_{name}"]
        assert stats["labels"][name] == {
            "positive": col.count(1),
            "negative": col.count(0),
            "pending": col.count(None) - hand.pred_invalid,
        }
    assert stats["windows"] == list(case.windows)
    assert stats["attribution"] == case.attribution
    assert stats["time_unit"] == case.time_unit


@pytest.mark.parametrize("hand", HANDS, ids=[h.id for h in HANDS])
def test_hand_case_reference(hand: Hand) -> None:
    rows, stats = hand.case().reference()
    check_hand(hand, rows, stats)


@pytest.mark.parametrize("hand", HANDS, ids=[h.id for h in HANDS])
def test_hand_case_engine(lw: ModuleType, hand: Hand) -> None:
    case = hand.case()
    out = run_engine(lw, case)
    computed = expected_columns(case)[case.pred.num_columns :]
    rows = [
        dict(zip(computed, r, strict=True))
        for r in zip(*(column_values(out.column(c)) for c in computed), strict=True)
    ]
    check_hand(hand, rows, lw.join_stats(out))
    assert_matches_reference(lw, out, case)


def test_compact_timedelta_names() -> None:
    # The label names the strategies expect for timedelta windows.
    assert compact_timedelta(dt.timedelta(hours=1, minutes=30)) == "1h30m"
    assert compact_timedelta(dt.timedelta(days=1, hours=2)) == "1d2h"
    assert compact_timedelta(dt.timedelta(seconds=45)) == "45s"
    assert compact_timedelta(dt.timedelta(seconds=90)) == "1m30s"


@settings(SETTINGS, max_examples=examples(150))
@given(case=join_cases())
def test_reference_counts_partition(case: JoinCase) -> None:
    # Every feedback row in exactly one class; every valid prediction's label in one state.
    rows, stats = case.reference()
    ev = stats["events"]
    assert ev["total"] == sum(v for k, v in ev.items() if k != "total")
    valid = stats["predictions"]["total"] - stats["predictions"]["invalid"]
    for name in case.windows:
        assert sum(stats["labels"][name].values()) == valid
    assert sum(r["feedback_count"] for r in rows) >= ev["credited"]
    if case.attribution != "all":
        assert sum(r["feedback_count"] for r in rows) == ev["credited"]
