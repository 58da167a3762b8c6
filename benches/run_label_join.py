"""Time ``lw.label_join`` against pandas, Polars and DuckDB on the same generated log.

    python benches/run_label_join.py [--requests N] [--repeat R] [--engines a,b]

Generates the log once (``--requests`` x 10 impressions), checks that every engine gives exactly
the same labels (this run is also the warm-up), then reports the best of ``R`` timed runs per
engine as a markdown table. Every engine starts from the same Arrow tables and returns an Arrow
table in prediction order, so conversions to and from its own frames are part of its time.
"""

from __future__ import annotations

import argparse
import os
import time

from baselines import check_engines, engines
from generate import generate_log
from timing import best_times, print_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000, help="10 impressions each")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine (best kept)")
    ap.add_argument("--engines", default=None, help="comma-separated subset, e.g. loopwatch,polars")
    args = ap.parse_args()

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (other work skews timings)")
    t0 = time.perf_counter()
    pred, fb = generate_log(args.requests)
    print(
        f"data: {pred.num_rows:,} impressions, {fb.num_rows:,} clicks "
        f"(generated in {time.perf_counter() - t0:.1f}s)"
    )
    runs = engines()
    if args.engines:
        runs = {n: runs[n] for n in args.engines.split(",")}
    t0 = time.perf_counter()
    check_engines(pred, fb, only=list(runs))
    print(f"check: {', '.join(runs)} agree exactly ({time.perf_counter() - t0:.1f}s, warm-up)")

    best = best_times(runs, (pred, fb), args.repeat)
    print_report(
        f'`label_join(on=[user_id, item_id], windows="30m")`, {pred.num_rows:,} impressions, '
        f"{fb.num_rows:,} clicks, best of {args.repeat}",
        best,
    )


if __name__ == "__main__":
    main()
