"""The metric references (reference_metrics.py) against scikit-learn, numpy and hand counts.

The Rust engine is tested against these references, so they are checked here independently:
each random test recomputes every group with numpy masks and scikit-learn / ``np.quantile``,
and small hand-made tables pin the edges (ties, one-class and all-pending buckets, nulls sorted
last, histogram edges, window edges).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pyarrow as pa
import pytest
import reference_metrics as rm
from reference_metrics import assert_tables_match
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from loopwatch.errors import ConfigError, DataError, SchemaError

HOUR_MS = 3_600_000
T0_MS = 1_717_200_000_000  # 2024-06-01 00:00 UTC
SEGMENTS = ["a", "b", "é", None]


def random_labeled(seed: int, n: int = 400) -> pa.Table:
    """Scores (some tied), labels with pending rows, ms times over ~5 h with nulls, segments."""
    rng = np.random.default_rng(seed)
    score = rng.beta(1.0, 4.0, n)
    score[rng.random(n) < 0.15] = 0.25  # one big tie
    score = np.where(rng.random(n) < 0.3, np.round(score, 2), score)
    score[:3] = [0.0, 1.0, 0.7]  # clipping and the top ECE bin
    label = (rng.random(n) < score).astype(np.int8)
    pending = rng.random(n) < 0.2
    ts = T0_MS + rng.integers(-HOUR_MS, 4 * HOUR_MS, n)
    null_ts = rng.random(n) < 0.05
    seg = [SEGMENTS[i] for i in rng.integers(0, len(SEGMENTS), n)]
    delay = (rng.lognormal(np.log(120_000), 1.5, n)).astype(np.int64)
    delay[rng.random(n) < 0.3] = -1
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("ms", tz="Europe/Paris"), mask=null_ts),
            "seg": pa.array(seg, pa.dictionary(pa.int32(), pa.string())),
            "label": pa.array(label, mask=pending),
            "score": pa.array(score),
            "position": pa.array(rng.integers(1, 6, n).astype(np.int32)),
            "delay": pa.array(delay, pa.duration("ms"), mask=delay < 0),
        }
    )


def group_masks(table: pa.Table, every_ms: int | None, by: str | None) -> dict[tuple, np.ndarray]:
    """Boolean row masks per (bucket, segment), computed with numpy only."""
    ts = table["ts"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    null_ts = table["ts"].is_null().to_numpy(zero_copy_only=False)
    keys: list[list] = []
    if every_ms is not None:
        bucket = np.floor_divide(np.nan_to_num(ts).astype(np.int64), every_ms) * every_ms
        keys.append([None if z else int(b) for b, z in zip(bucket, null_ts, strict=True)])
    if by is not None:
        keys.append(table[by].cast(pa.string()).to_pylist())
    combos = list(zip(*keys, strict=True)) if keys else [()] * table.num_rows
    return {k: np.array([c == k for c in combos]) for k in set(combos)}


def layout_keys(table: pa.Table, cols: list[str]) -> list[tuple]:
    """The layout columns of each output row (times as integers)."""
    columns = [rm.values(table.column(c)) for c in cols]
    return list(zip(*columns, strict=True)) if columns else [()] * table.num_rows


def expected_ece(p: np.ndarray, y: np.ndarray) -> float:
    bins = np.minimum(np.floor(10 * p), 9).astype(int)
    n_b = np.bincount(bins, minlength=10)
    sum_p = np.bincount(bins, weights=p, minlength=10)
    sum_y = np.bincount(bins, weights=y, minlength=10)
    used = n_b > 0
    return float(np.sum(np.abs(sum_p[used] - sum_y[used])) / len(p))


# --- label_metrics --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("every", "by"), [("1h", "seg"), (None, "seg"), ("30m", None)])
def test_label_metrics_matches_sklearn(seed: int, every: str | None, by: str | None) -> None:
    table = random_labeled(seed)
    got = rm.label_metrics(table, label="label", score="score", every=every, by=by)
    every_ms = None if every is None else rm.parse_duration(every, "every") // 1_000_000
    masks = group_masks(table, every_ms, by)
    assert got.num_rows == len(masks)
    label = table["label"].to_numpy(zero_copy_only=False)  # float, NaN = pending
    score = table["score"].to_numpy()
    key_cols = (["bucket_start"] if every else []) + ([by] if by else [])
    for row, key_row in zip(got.to_pylist(), layout_keys(got, key_cols), strict=True):
        m = masks[key_row]
        lab = m & ~np.isnan(label)
        y, p = label[lab].astype(int), score[lab]
        assert row["n"] == m.sum() and row["n_labeled"] == lab.sum()
        assert row["n_pending"] == m.sum() - lab.sum()
        assert row["positives"] == y.sum()
        assert row["matured"] == pytest.approx(lab.sum() / m.sum(), rel=1e-12)
        if not lab.any():
            assert row["positive_rate"] is None and row["log_loss"] is None
            continue
        assert row["positive_rate"] == pytest.approx(y.mean(), rel=1e-12)
        assert row["mean_score"] == pytest.approx(p.mean(), rel=1e-12)
        clipped = np.clip(p, rm.EPS, 1 - rm.EPS)
        assert row["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]), rel=1e-12)
        assert row["brier"] == pytest.approx(brier_score_loss(y, p, pos_label=1), rel=1e-12)
        assert row["ece"] == pytest.approx(expected_ece(p, y), rel=1e-9, abs=1e-15)
        if 0 < y.sum() < len(y):
            assert row["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
        else:
            assert row["roc_auc"] is None


def test_label_metrics_layout_types_and_order() -> None:
    table = random_labeled(7)
    got = rm.label_metrics(table, label="label", score="score", every="1h", by="seg")
    assert got.column_names[:2] == ["bucket_start", "seg"]
    assert got.schema.field("bucket_start").type == pa.timestamp("ms", tz="Europe/Paris")
    assert got.schema.field("seg").type == pa.string()  # dictionary → its value type
    keys = layout_keys(got, ["bucket_start", "seg"])
    assert keys == sorted(keys, key=rm.nulls_last)
    assert keys[-1][0] is None and keys[-1][1] is None  # null bucket, null segment: last
    assert any(k[0] is not None and k[1] is None for k in keys)
    # The hour before T0 exists, so floor division also worked on the earliest rows.
    assert keys[0][0] == T0_MS - HOUR_MS


def test_label_metrics_hand_cases() -> None:
    ts = pa.array([0, 1, 2, 3, 10, 11, 20, 21, None, -1], pa.int64())
    table = pa.table(
        {
            "t": ts,
            "y": pa.array([1, 0, 1, 0, 1, 1, None, None, 0, 1], pa.int8()),
            "p": pa.array([0.4, 0.4, 0.8, 0.2, 0.3, 0.9, None, 0.5, 0.0, 1.0]),
        }
    )
    got = rm.label_metrics(table, label="y", score="p", time="t", every=10).to_pylist()
    assert [r["bucket_start"] for r in got] == [-10, 0, 10, 20, None]
    first, b0, b10, b20, null_bucket = got
    # Bucket 0: positives at 0.4, 0.8; negatives at 0.4, 0.2 → (1 + ½ + 1 + 1) / 4.
    assert b0["roc_auc"] == 0.875
    # ECE bins: 2 (0.2, rate 0), 4 (0.4 twice, rate ½), 8 (0.8, rate 1).
    assert b0["ece"] == pytest.approx((0.2 + 2 * 0.1 + 0.2) / 4, rel=1e-12)
    assert b10["positives"] == 2 and b10["roc_auc"] is None  # one class → null
    assert b20 == {
        "bucket_start": 20,
        "n": 2,
        "n_labeled": 0,
        "n_pending": 2,
        "matured": 0.0,
        "positives": 0,
        "positive_rate": None,
        "mean_score": None,
        "log_loss": None,
        "brier": None,
        "roc_auc": None,
        "ece": None,
    }
    assert null_bucket["log_loss"] == pytest.approx(-math.log(1 - 1e-15))  # p = 0, y = 0
    assert first["log_loss"] == pytest.approx(-math.log(1 - 1e-15))  # p = 1, y = 1
    assert first["ece"] == 0.0 and first["brier"] == 0.0


def test_ece_top_bin_holds_one_and_log_loss_clips_at_1e_15() -> None:
    # 0.95 and 1.0 share bin 9: |mean p - rate| = |0.975 - 0.5| (not 0.05 / 2 + 1 / 2).
    table = pa.table({"y": [1, 0], "p": [0.95, 1.0]})
    got = rm.label_metrics(table, label="y", score="p").to_pylist()[0]
    assert got["ece"] == pytest.approx(0.475, rel=1e-12)
    table = pa.table({"y": [1], "p": [0.0]})
    got = rm.label_metrics(table, label="y", score="p").to_pylist()[0]
    assert got["log_loss"] == pytest.approx(-math.log(1e-15), rel=1e-12)  # 34.54
    assert got["brier"] == 1.0


def test_duration_histogram_edges_are_half_open() -> None:
    sec = 1_000_000
    table = pa.table(
        {"d": pa.array([sec, 2 * sec, 59 * sec, 60 * sec, 30 * 86_400 * sec], pa.duration("us"))}
    )
    hist = rm.delay_profile(table, delay="d").histogram.to_pylist()
    td = dt.timedelta
    by_start = {h["bin_start"]: (h["bin_end"], h["count"]) for h in hist}
    assert by_start[td(seconds=1)] == (td(seconds=2), 1)
    assert by_start[td(seconds=2)] == (td(seconds=5), 1)
    assert by_start[td(seconds=30)] == (td(minutes=1), 1)
    assert by_start[td(minutes=1)] == (td(minutes=2), 1)
    assert by_start[td(days=30)] == (None, 1)  # the open last bin
    assert hist[0]["bin_start"] == td(seconds=1) and len(hist) == len(rm.DURATION_EDGES_S) - 1
    assert sum(h["count"] for h in hist) == 5


def test_auc_all_tied_is_half() -> None:
    table = pa.table({"y": pa.array([1, 0, 0, 1, 0]), "p": pa.array([0.3] * 5)})
    assert rm.label_metrics(table, label="y", score="p")["roc_auc"].to_pylist() == [0.5]


def test_label_metrics_empty_and_without_score() -> None:
    table = random_labeled(1).slice(0, 0)
    got = rm.label_metrics(table, label="label", score="score", every="1h", by="seg")
    assert got.num_rows == 0
    assert got.column_names == [
        "bucket_start", "seg", "n", "n_labeled", "n_pending", "matured", "positives",
        "positive_rate", "mean_score", "log_loss", "brier", "roc_auc", "ece",
    ]  # fmt: skip
    plain = rm.label_metrics(random_labeled(1), label="label")
    assert plain.column_names == [
        "n", "n_labeled", "n_pending", "matured", "positives", "positive_rate",
    ]  # fmt: skip
    assert plain["n"].to_pylist() == [400]


def test_boolean_labels_equal_integer_labels() -> None:
    table = random_labeled(2)
    as_bool = table.set_column(2, "label", table["label"].cast(pa.bool_()))
    assert_tables_match(
        rm.label_metrics(as_bool, label="label", score="score", every="1h"),
        rm.label_metrics(table, label="label", score="score", every="1h"),
        rel=0.0,
    )


@pytest.mark.parametrize(
    ("y", "p", "error", "word"),
    [
        ([0, 2], [0.1, 0.2], DataError, "label"),
        ([0, 1], [0.1, 1.5], DataError, "score"),
        ([0, 1], [0.1, float("nan")], DataError, "score"),
        ([0, 1], [0.1, None], DataError, "score"),
        ([0.0, 1.0], [0.1, 0.2], SchemaError, "label"),
    ],
)
def test_label_metrics_bad_values(y: list, p: list, error: type, word: str) -> None:
    table = pa.table({"y": y, "p": pa.array(p, pa.float64())})
    with pytest.raises(error, match=word):
        rm.label_metrics(table, label="y", score="p")


def test_null_score_on_pending_row_is_fine() -> None:
    table = pa.table({"y": pa.array([1, None]), "p": pa.array([0.5, None], pa.float64())})
    assert rm.label_metrics(table, label="y", score="p")["mean_score"].to_pylist() == [0.5]


@pytest.mark.parametrize("every", [0, "0s", "1h", "1ms2"])
def test_bad_every(every: object) -> None:
    table = pa.table({"ts": pa.array([0], pa.int64()), "y": [1]})
    with pytest.raises(ConfigError, match="every"):
        rm.label_metrics(table, label="y", every=every)


# --- position_curve -------------------------------------------------------------------------


def test_position_curve_counts() -> None:
    table = random_labeled(3)
    got = rm.position_curve(table, label="label", by="seg")
    label = table["label"].to_numpy(zero_copy_only=False)
    pos = table["position"].to_numpy()
    seg = table["seg"].cast(pa.string()).to_pylist()
    for row in got.to_pylist():
        m = (pos == row["position"]) & np.array([s == row["seg"] for s in seg])
        lab = m & ~np.isnan(label)
        assert (row["n"], row["n_labeled"], row["positives"]) == (
            m.sum(),
            lab.sum(),
            label[lab].sum(),
        )
        first = (pos == 1) & np.array([s == row["seg"] for s in seg]) & ~np.isnan(label)
        if label[first].sum() == 0:
            assert row["relative_rate"] is None
        else:
            want = label[lab].mean() / label[first].mean()
            assert row["relative_rate"] == pytest.approx(want, rel=1e-12)


def test_position_curve_hand_case() -> None:
    table = pa.table(
        {
            "pos": pa.array([2, 1, 1, 2, None, 3, 1, 2], pa.int16()),
            "seg": ["x", "x", "x", "x", "x", "x", "y", "y"],
            "y": pa.array([1, 1, 0, 1, 1, None, 0, 1]),
        }
    )
    got = rm.position_curve(table, label="y", position="pos", by="seg")
    assert got.schema.field("pos").type == pa.int16()
    assert got.select(["seg", "pos", "positive_rate", "relative_rate"]).to_pylist() == [
        {"seg": "x", "pos": 1, "positive_rate": 0.5, "relative_rate": 1.0},
        {"seg": "x", "pos": 2, "positive_rate": 1.0, "relative_rate": 2.0},
        {"seg": "x", "pos": 3, "positive_rate": None, "relative_rate": None},
        {"seg": "x", "pos": None, "positive_rate": 1.0, "relative_rate": 2.0},
        {"seg": "y", "pos": 1, "positive_rate": 0.0, "relative_rate": None},  # first rate 0
        {"seg": "y", "pos": 2, "positive_rate": 1.0, "relative_rate": None},
    ]


# --- delay_profile --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_delay_profile_matches_numpy(seed: int) -> None:
    table = random_labeled(seed, n=600)
    got = rm.delay_profile(table, delay="delay", by="seg")
    delay = table["delay"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    seg = table["seg"].cast(pa.string()).to_pylist()
    edges = np.array(rm.DURATION_EDGES_S) * 1_000
    for row in got.summary.to_pylist():
        m = np.array([s == row["seg"] for s in seg])
        d = delay[m & ~np.isnan(delay)]
        assert (row["n"], row["count"]) == (m.sum(), len(d))
        ms = dt.timedelta(milliseconds=1)
        assert abs(row["mean"] / ms - d.mean()) <= 0.5
        for name, q in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)]:
            assert abs(row[name] / ms - np.quantile(d, q)) <= 0.5 + 1e-6
        counts = np.bincount(np.searchsorted(edges, d, side="right") - 1, minlength=len(edges))
        hist = [h for h in got.histogram.to_pylist() if h["seg"] == row["seg"]]
        first = int(np.flatnonzero(counts)[0])
        assert [h["count"] for h in hist] == counts[first : first + len(hist)].tolist()
        assert sum(h["count"] for h in hist) == len(d)
        assert hist[0]["bin_start"] == dt.timedelta(milliseconds=int(edges[first]))


def test_delay_profile_integer_and_edges() -> None:
    assert rm.INTEGER_EDGES[:8] == [0, 1, 2, 5, 10, 20, 50, 100]
    assert rm.INTEGER_EDGES[-1] == 5 * 10**18 and len(rm.INTEGER_EDGES) == 1 + 3 * 19
    table = pa.table(
        {
            "d": pa.array([5, 7, 4, 5 * 10**18, None, None], pa.int64()),
            "g": pa.array([1, 1, 1, 1, 2, None], pa.int8()),
        }
    )
    prof = rm.delay_profile(table, delay="d", by="g")
    s = prof.summary.to_pylist()
    assert prof.summary.schema.field("p50").type == pa.float64()
    assert s[0]["p50"] == np.quantile([5, 7, 4, 5e18], 0.5) == 6.0
    assert s[0]["mean"] == pytest.approx((16 + 5e18) / 4, rel=1e-15)
    nothing = dict.fromkeys(["mean", "p50", "p90", "p95", "p99"])
    assert s[1:] == [
        {"g": 2, "n": 1, "count": 0, **nothing},
        {"g": None, "n": 1, "count": 0, **nothing},
    ]
    assert prof.histogram.schema.field("bin_end").type == pa.int64()
    # Bins from [2, 5) to the open [5e18, ...): empty ones between listed with count 0.
    starts = rm.INTEGER_EDGES[2:]
    ends = [*rm.INTEGER_EDGES[3:], None]
    counts = {2: 1, 5: 2, 5 * 10**18: 1}  # bins are [start, end): 5 and 5e18 open theirs
    assert prof.histogram.to_pylist() == [
        {"g": 1, "bin_start": a, "bin_end": b, "count": counts.get(a, 0)}
        for a, b in zip(starts, ends, strict=True)
    ]


def test_delay_profile_duration_rounding_and_empty() -> None:
    table = pa.table({"d": pa.array([1, 2], pa.duration("s"))})
    s = rm.delay_profile(table, delay="d").summary.to_pylist()[0]
    sec = dt.timedelta(seconds=1)
    assert s["mean"] == 2 * sec  # 1.5 s rounds half up
    assert s["p50"] == 2 * sec and s["p90"] == 2 * sec  # 1.5, 1.9
    empty = rm.delay_profile(table.slice(0, 0), delay="d")
    assert empty.summary.num_rows == 0 and empty.histogram.num_rows == 0
    assert empty.summary.schema.field("p99").type == pa.duration("s")
    with pytest.raises(DataError, match="delay"):
        rm.delay_profile(pa.table({"d": pa.array([1, -1], pa.duration("s"))}), delay="d")
    with pytest.raises(SchemaError, match="delay"):
        rm.delay_profile(table, delay="nope")


# --- window_tradeoff ------------------------------------------------------------------------

MIN_S = 60


def tradeoff_table() -> pa.Table:
    """Times in s, delays in ms; A = 3600 s."""
    ts = [0, 0, 0, 0, 0, 1, 1, 1, 2, None]
    delays_s = [60, 61, 300, 1800, None, 60, 3600, 3601, 10, 10]
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("s", tz="UTC")),
            "g": ["a", "a", "a", "a", "a", "b", "b", "b", "c", "a"],
            "d": pa.array([None if d is None else d * 1000 for d in delays_s], pa.duration("ms")),
        }
    )


def test_window_tradeoff_edges() -> None:
    got = rm.window_tradeoff(
        tradeoff_table(), reference="1h", windows=["1m", "5m"], delay="d", watermark=3601, by="g"
    )
    assert got.schema.field("window_duration").type == pa.duration("ms")
    rows = [
        (r["g"], r["window"], r["captured"], r["reference_positives"], r["recall"])
        for r in got.to_pylist()
    ]
    # Matured: t + 3600 <= 3601, so t = 2 is not; delay exactly 1m / 1h counts, 1h + 1s not.
    assert rows == [
        ("a", "1m", 1, 4, 0.25),
        ("a", "5m", 3, 4, 0.75),
        ("b", "1m", 1, 2, 0.5),
        ("b", "5m", 1, 2, 0.5),
        ("c", "1m", 0, 0, None),
        ("c", "5m", 0, 0, None),
    ]
    c = got.to_pylist()[-1]
    assert c["false_negative_rate"] is None and c["reaches_target"] is None
    assert c["smallest_reaching_target"] is False


def test_window_tradeoff_default_ladder_and_target() -> None:
    table = tradeoff_table()
    got = rm.window_tradeoff(table, reference="45m", delay="d", watermark=10_000, target_recall=0.6)
    assert got["window"].to_pylist() == ["1m", "5m", "15m", "30m", "45m"]
    assert got["captured"].to_pylist() == [3, 5, 5, 6, 6]  # of 6 reference positives
    assert got["reaches_target"].to_pylist() == [False, True, True, True, True]
    assert got["smallest_reaching_target"].to_pylist() == [False, True, False, False, False]
    hour = rm.window_tradeoff(table, reference=dt.timedelta(hours=1), delay="d", watermark=0)
    assert hour["window"].to_pylist() == ["1m", "5m", "15m", "30m", "1h"]
    assert hour["captured"].to_pylist() == [0] * 5  # nothing matured: zero counts, null recall


def test_window_tradeoff_names_order_and_watermark_from_metadata() -> None:
    table = tradeoff_table()
    stats = {"watermark": 3_600, "time_unit": "s"}
    with_meta = table.replace_schema_metadata({"loopwatch.stats": json.dumps(stats)})
    got = rm.window_tradeoff(with_meta, reference="1h", windows=["30m", "90s"], delay="d")
    assert got["window"].to_pylist() == ["90s", "30m"]
    assert got["captured"].to_pylist() == [2, 4]
    assert got["reference_positives"].to_pylist() == [4, 4]  # A = 3600: only t = 0 matured
    got = rm.window_tradeoff(
        with_meta, reference="2h", windows=[dt.timedelta(minutes=90)], delay="d"
    )
    assert got["window"].to_pylist() == ["1h30m"]


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"reference": "1h", "windows": ["2h"]}, "windows"),
        ({"reference": "1h", "windows": ["60m", "1h"]}, "windows"),
        ({"reference": "1h", "watermark": None}, "watermark"),
        ({"reference": "1h", "target_recall": 0.0}, "target_recall"),
        ({"reference": "1h", "windows": ["1500us"]}, "windows"),
    ],
)
def test_window_tradeoff_config_errors(kwargs: dict, word: str) -> None:
    kwargs = {"watermark": 0, **kwargs}
    with pytest.raises(ConfigError, match=word):
        rm.window_tradeoff(tradeoff_table(), delay="d", **kwargs)


def test_window_tradeoff_integer_time() -> None:
    table = pa.table({"t": [0, 5, 9], "d": pa.array([1, 3, None], pa.int32())})
    got = rm.window_tradeoff(table, reference=4, time="t", delay="d", watermark=9)
    assert got.to_pylist() == [
        {
            "window": "4",
            "window_duration": 4,
            "captured": 2,
            "reference_positives": 2,
            "recall": 1.0,
            "false_negative_rate": 0.0,
            "reaches_target": True,
            "smallest_reaching_target": True,
        }
    ]


# --- assert_tables_match --------------------------------------------------------------------


def test_assert_tables_match_catches_differences() -> None:
    want = rm.label_metrics(random_labeled(5), label="label", score="score", every="1h")
    assert_tables_match(want, want)
    i = want.schema.get_field_index("log_loss")
    bumped = pc_mul(want["log_loss"], 1 + 1e-6)
    with pytest.raises(AssertionError, match="log_loss"):
        assert_tables_match(want.set_column(i, "log_loss", bumped), want)
    assert_tables_match(want.set_column(i, "log_loss", pc_mul(want["log_loss"], 1 + 1e-12)), want)
    with pytest.raises(AssertionError, match="schemas"):
        assert_tables_match(
            want.set_column(0, "bucket_start", want[0].cast(pa.timestamp("ms"))), want
        )
    with pytest.raises(AssertionError, match="roc_auc"):
        assert_tables_match(
            want.set_column(10, "roc_auc", pa.nulls(want.num_rows, pa.float64())), want
        )
    with pytest.raises(AssertionError, match="row counts"):
        assert_tables_match(want.slice(1), want)


def test_assert_tables_match_quantile_tolerance() -> None:
    want = pa.table({"p50": [100.0], "mean": [100.0]})
    got = pa.table({"p50": [100.5], "mean": [100.0]})
    assert_tables_match(got, want, quantile_rel=0.01)
    with pytest.raises(AssertionError, match="p50"):
        assert_tables_match(got, want)


def pc_mul(col: pa.ChunkedArray, factor: float) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    return pc.multiply(col, factor)
