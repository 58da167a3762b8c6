"""Write a large generated log as Parquet parts: one day (10M impressions) per part.

    python benches/generate_parts.py OUT_DIR --days 10      # 100M impressions

``OUT_DIR/predictions/part-NNNN.parquet`` and ``OUT_DIR/feedback/part-NNNN.parquet``: day ``i``
is ``generate_log(seed=i)`` shifted by ``i`` days (the same users and items every day, so keys
repeat across parts), clicks in event-time order. Parts are written one at a time, so memory
stays at one day's tables whatever ``--days`` is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from generate import DAY_US, TS, generate_log


def shifted(table: pa.Table, days: int) -> pa.Table:
    """``table`` with its ``ts`` column moved ``days`` days later."""
    ts = pc.add(table.column("ts").cast(pa.int64()), days * DAY_US).cast(TS)
    return table.set_column(table.schema.get_field_index("ts"), "ts", ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--days", type=int, default=10, help="parts (10M impressions each)")
    ap.add_argument("--requests", type=int, default=1_000_000, help="requests per day (x10)")
    args = ap.parse_args()
    for side in ("predictions", "feedback"):
        (args.out / side).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    total = 0
    for day in range(args.days):
        pred, fb = generate_log(args.requests, seed=day)
        # Request ids stay unique across days.
        request = pc.add(pred.column("request_id"), day * args.requests)
        pred = pred.set_column(0, "request_id", request)
        pq.write_table(shifted(pred, day), args.out / "predictions" / f"part-{day:04d}.parquet")
        pq.write_table(shifted(fb, day), args.out / "feedback" / f"part-{day:04d}.parquet")
        total += pred.num_rows
        print(f"day {day}: {total:,} impressions ({time.perf_counter() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
