"""``trend`` (loopwatch._trend) against scipy and a direct Mann-Kendall computation, plus the
homogenization verdict on synthetic degenerate and healthy feedback loops."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats

from loopwatch._trend import TrendReport, trend
from loopwatch.errors import ConfigError, SchemaError

DAY0 = dt.datetime(2024, 6, 1)


def direct_mann_kendall_p(y: list[float]) -> float:
    """Textbook Mann-Kendall: S by loops, tie-corrected variance, continuity correction."""
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
    ties = Counter(y).values()
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    z = 0.0 if s == 0 else (s - np.sign(s)) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def daily(columns: dict[str, list[float]], days: int = 14) -> pa.Table:
    ts = [DAY0 + dt.timedelta(days=d) for d in range(days)]
    return pa.table({"bucket_start": pa.array(ts, pa.timestamp("us")), **columns})


def row(report: TrendReport, metric: str) -> dict:
    return next(r for r in report.table.to_pylist() if r["metric"] == metric)


@pytest.mark.parametrize("seed", range(8))
def test_slope_and_p_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 60))
    y = rng.normal(0, 1, n) + rng.choice([0.0, 0.03, -0.1]) * np.arange(n)
    order = rng.permutation(n)  # input rows in any order
    table = pa.table({"t": pa.array(np.arange(n)[order] * 7 + 3), "m": y[order]})
    got = row(trend(table, time="t"), "m")
    want = stats.theilslopes(y, np.arange(n))
    assert got["slope"] == pytest.approx(want.slope, rel=1e-12)
    assert got["p_value"] == pytest.approx(direct_mann_kendall_p(list(y)), rel=1e-9)
    kt = stats.kendalltau(np.arange(n), y, method="asymptotic")
    assert abs(got["p_value"] - kt.pvalue) < 0.03  # scipy has no continuity correction
    assert (got["first"], got["last"], got["n_buckets"]) == (y[0], y[-1], n)


def test_ties_use_the_corrected_variance() -> None:
    y = [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 5.0, 4.0, 4.0, 6.0, 6.0]
    got = row(trend(daily({"m": y}, days=len(y))), "m")
    assert got["p_value"] == pytest.approx(direct_mann_kendall_p(y), rel=1e-12)
    assert got["slope"] == pytest.approx(stats.theilslopes(y).slope, rel=1e-12)
    assert got["direction"] == "rising"


def test_gaps_keep_their_bucket_index() -> None:
    # x is the index among the distinct times (0, 10, 20, 1000 → 0, 1, 2, 3), and a null value
    # leaves its bucket's index in place: slope 1 per bucket.
    table = pa.table({"t": [0, 10, 20, 1000], "m": [1.0, None, 3.0, 4.0]})
    got = row(trend(table, time="t"), "m")
    assert got["slope"] == 1.0 and got["n_buckets"] == 3
    nan = pa.table({"t": [0, 10, 20, 1000], "m": [1.0, float("nan"), 3.0, 4.0]})
    assert row(trend(nan, time="t"), "m") == got


def test_constant_series_is_flat() -> None:
    got = row(trend(daily({"m": [0.3] * 14})), "m")
    assert (got["slope"], got["p_value"], got["direction"]) == (0.0, 1.0, "flat")


@pytest.mark.parametrize(
    ("values", "slope"), [([None, None], None), ([2.0], None), ([2.0, 5.0], 3.0)]
)
def test_fewer_than_three_points_have_no_p(values: list[float | None], slope: float | None) -> None:
    table = pa.table(
        {"t": pa.array(range(len(values)), pa.int64()), "m": pa.array(values, pa.float64())}
    )
    got = row(trend(table, time="t"), "m")
    assert got["p_value"] is None and got["direction"] == "flat"
    assert got["slope"] == slope and got["n_buckets"] == len([v for v in values if v is not None])
    assert got["first"] == values[0]


def degenerate_loop(seed: int = 0, days: int = 14) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    d = np.arange(days)
    noise = rng.normal(0, 1, (5, days))
    return {
        "arp": list(100 + 8 * d + 4 * noise[0]),
        "aplt": list(0.30 - 0.01 * d + 0.004 * noise[1]),
        "coverage": list(0.60 - 0.02 * d + 0.01 * noise[2]),
        "gini": list(0.70 + 0.01 * d + 0.004 * noise[3]),
        "entropy": list(9.0 + 0.3 * noise[4]),  # no trend
    }


def test_degenerate_loop_is_homogenizing() -> None:
    report = trend(daily(degenerate_loop()))
    assert report.homogenizing
    assert report.verdict == (
        "ARP and Gini rising, APLT and coverage falling over 14 daily buckets: "
        "recommendations are homogenizing (p < 0.001)."
    )
    assert str(report) == report.verdict
    directions = dict(
        zip(report.table["metric"].to_pylist(), report.table["direction"].to_pylist(), strict=True)
    )
    assert directions == {
        "arp": "rising",
        "aplt": "falling",
        "coverage": "falling",
        "gini": "rising",
        "entropy": "flat",
    }


def test_healthy_loop_is_not_homogenizing() -> None:
    cols = degenerate_loop()
    healthy = {m: v[::-1] for m, v in cols.items()}  # every trend reversed
    report = trend(daily(healthy))
    assert not report.homogenizing
    assert "diversifying" in report.verdict and "homogenizing" not in report.verdict
    # Two bad signs but coverage improving significantly: not the degenerate signature.
    mixed = {**cols, "coverage": healthy["coverage"]}
    report = trend(daily(mixed))
    assert not report.homogenizing
    assert report.verdict.startswith("ARP, coverage and Gini rising, APLT falling")
    noise = {m: list(np.random.default_rng(1).normal(0, 1, 14)) for m in cols}
    report = trend(daily(noise))
    assert not report.homogenizing
    assert report.verdict == "No significant trend over 14 buckets."


def test_one_bad_metric_is_not_enough() -> None:
    cols = degenerate_loop()
    flat = {"arp": cols["arp"], "gini": cols["entropy"], "entropy": cols["entropy"]}
    report = trend(daily(flat))
    assert not report.homogenizing
    assert report.verdict == "ARP rising over 14 daily buckets (p < 0.001)."


def test_segments_default_columns_and_types() -> None:
    bad, good = degenerate_loop(), {m: v[::-1] for m, v in degenerate_loop(2).items()}
    table = pa.concat_tables(
        [
            daily({**good, "n": [10] * 14, "seg": ["b"] * 14}),
            daily({**bad, "n": [10] * 14, "seg": pa.nulls(14, pa.string())}),
            daily({**bad, "n": [10] * 14, "seg": ["a"] * 14}),
        ]
    )
    table = table.set_column(
        table.schema.get_field_index("seg"), "seg", table["seg"].dictionary_encode()
    )
    report = trend(table, by="seg")
    assert report.homogenizing
    assert report.table.column_names == [
        "seg", "metric", "n_buckets", "first", "last", "slope", "p_value", "direction",
    ]  # fmt: skip
    assert report.table.schema.field("seg").type == pa.string()
    assert report.table["seg"].to_pylist() == ["a"] * 5 + ["b"] * 5 + [None] * 5
    assert report.table["metric"].to_pylist()[:5] == ["arp", "aplt", "coverage", "gini", "entropy"]
    sentences = report.verdict.split(". ")
    assert sentences[0].startswith("seg=a: ARP and Gini rising") and "homogenizing" in sentences[0]
    assert sentences[1].startswith("seg=b: ") and "diversifying" in sentences[1]
    assert sentences[2].startswith("seg=None: ARP and Gini rising")


def test_explicit_columns_and_frames() -> None:
    cols = degenerate_loop()
    table = daily({**cols, "n": list(range(14))})
    report = trend(table, columns=["n", "arp"])
    assert report.table["metric"].to_pylist() == ["n", "arp"]
    assert row(report, "n")["slope"] == 1.0
    for frame in (table.to_pandas(), pl.from_arrow(table)):
        assert trend(frame, columns="arp").table.equals(trend(table, columns="arp").table)


def test_empty_table() -> None:
    report = trend(daily(degenerate_loop()).slice(0, 0))
    assert report.table.num_rows == 0 and not report.homogenizing
    assert report.verdict == "No significant trend over 0 buckets."


def test_report_is_frozen() -> None:
    report = trend(daily({"m": [1.0, 2.0, 3.0]}, days=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"time": "when"}, SchemaError, "when"),
        ({"columns": ["label"]}, SchemaError, "label"),
        ({"columns": ["nope"]}, SchemaError, "nope"),
        ({"columns": ["m", "m"]}, ConfigError, "columns"),
        ({"columns": ["bucket_start"]}, ConfigError, "bucket_start"),
        ({"by": "nope"}, SchemaError, "nope"),
        ({"by": "m"}, SchemaError, "m"),
        ({"alpha": 0}, ConfigError, "alpha"),
        ({"alpha": 1.5}, ConfigError, "alpha"),
    ],
)
def test_bad_input_names_the_culprit(kwargs: dict, error: type, word: str) -> None:
    table = daily({"m": [1.0] * 14, "label": ["x"] * 14})
    with pytest.raises(error, match=word):
        trend(table, **kwargs)


def test_bad_time_type_and_bad_metrics_object() -> None:
    table = pa.table({"t": [1.5, 2.5], "m": [1.0, 2.0]})
    with pytest.raises(SchemaError, match="'t'"):
        trend(table, time="t")
    with pytest.raises(ConfigError, match="metrics"):
        trend(object())
    assert isinstance(
        trend(pd.DataFrame({"bucket_start": [1, 2, 3], "m": [1.0, 2.0, 3.0]})), TrendReport
    )
