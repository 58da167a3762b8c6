"""The main job on built-in data: ``python -m loopwatch.demo [--out DIR]``.

Generates a day of recommendation impressions and their delayed clicks, labels them with
three windows, and prints what the labels say: volumes, label status, how long feedback takes
and how many positives a shorter window would miss.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ._join import label_join
from ._stats import join_stats

WINDOWS = ["5m", "30m", "1d"]


def example_logs(
    requests: int = 50_000, items_per_request: int = 10, seed: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Impressions (Zipf-popular items, repeat users) and clicks with log-normal delays."""
    rng = np.random.default_rng(seed)
    n = requests * items_per_request
    start = np.datetime64("2024-01-01T00:00:00", "us")
    request_time = np.sort(rng.integers(0, 86_400_000_000, requests))
    user = rng.integers(0, requests // 5 + 1, requests)
    item = np.minimum(rng.zipf(1.3, n), 100_000) - 1
    position = np.tile(np.arange(items_per_request, dtype=np.int32), requests)
    clicked = rng.random(n) < 0.12 / (1 + position)
    delay_us = np.exp(rng.normal(np.log(120), 1.5, n)) * 1e6  # median 2 minutes
    ts = start + np.repeat(request_time, items_per_request).astype("timedelta64[us]")
    predictions = pa.table(
        {
            "request_id": np.repeat(np.arange(requests), items_per_request),
            "user_id": np.repeat(user, items_per_request),
            "item_id": item,
            "position": position,
            "ts": ts,
        }
    )
    click_ts = ts[clicked] + delay_us[clicked].astype("timedelta64[us]")
    order = np.argsort(click_ts, kind="stable")
    feedback = pa.table(
        {
            "user_id": np.repeat(user, items_per_request)[clicked][order],
            "item_id": item[clicked][order],
            "ts": click_ts[order],
        }
    )
    return predictions, feedback


_PER_MINUTE = {"s": 60, "ms": 60_000, "us": 60_000_000, "ns": 60_000_000_000}


def _delay_quantiles_minutes(delays: pa.ChunkedArray[Any], qs: list[float]) -> list[float]:
    """Quantiles (numpy's linear interpolation) of the non-null delays, in minutes."""
    ticks = delays.drop_null().cast(pa.int64()).to_numpy()
    if len(ticks) == 0:
        return [float("nan")] * len(qs)
    per_minute = _PER_MINUTE[delays.type.unit]
    return [float(v) / per_minute for v in np.quantile(ticks, qs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loopwatch.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("loopwatch-demo"))
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args(argv)

    predictions, feedback = example_logs(args.requests)
    started = time.perf_counter()
    labeled = label_join(predictions, feedback, on=["user_id", "item_id"], windows=WINDOWS)
    seconds = time.perf_counter() - started
    stats = join_stats(labeled)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "labeled.parquet"
    label_join(predictions, feedback, on=["user_id", "item_id"], windows=WINDOWS, output=path)

    events = stats["events"]
    print(
        f"labeled {stats['predictions']['total']:,} predictions from {events['total']:,} "
        f"clicks in {seconds:.2f} s"
    )
    print(
        f"clicks: {events['credited']:,} credited, {events['late']:,} late, "
        f"{events['orphan']:,} orphan"
    )
    p50, p90, p99 = _delay_quantiles_minutes(
        labeled.column("first_feedback_delay"), [0.5, 0.9, 0.99]
    )
    print(f"feedback loop length: p50 {p50:.1f} min · p90 {p90:.1f} min · p99 {p99:.1f} min")
    reference = stats["labels"][WINDOWS[-1]]["positive"]
    for window in WINDOWS:
        counts = stats["labels"][window]
        share = counts["positive"] / reference if reference else float("nan")
        print(
            f"  label_{window:<4} positive {counts['positive']:>7,}  negative "
            f"{counts['negative']:>8,}  pending {counts['pending']:>6,}  "
            f"({share:.1%} of the {WINDOWS[-1]} positives)"
        )
    print(f"labeled table written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
