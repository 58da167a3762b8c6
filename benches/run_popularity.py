"""Time ``lw.popularity_metrics`` against the pandas and Polars baselines on one generated log.

    python benches/run_popularity.py [--requests N] [--repeat R] [--engines a,b]

Generates the log of ``generate.py`` once (``--requests`` x 10 impressions; popularity = click
counts from the feedback table, lists = requests, hourly buckets), checks that every engine
agrees (with the reference on a small adversarial log first; this is also the warm-up), then
reports the best of ``R`` timed runs per engine as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

from baselines_popularity import check_engines, engines
from generate import generate_log
from timing import best_times, print_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000, help="10 impressions each")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine (best kept)")
    ap.add_argument("--engines", default=None, help="comma-separated subset")
    args = ap.parse_args()

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (other work skews timings)")
    pred, fb = generate_log(args.requests)
    print(f"data: {pred.num_rows:,} impressions, {fb.num_rows:,} clicks")
    runs = engines()
    if args.engines:
        runs = {n: runs[n] for n in args.engines.split(",")}
    t0 = time.perf_counter()
    check_engines(pred, fb, only=list(runs))
    print(f"check: {', '.join(runs)} agree ({time.perf_counter() - t0:.1f}s, warm-up)")

    best = best_times(runs, (pred, fb), args.repeat)
    print_report(
        f'`popularity_metrics(list_id="request_id", time="ts", every="1h")` with '
        f"`Popularity.from_interactions(clicks, user=...)` built inside the timed call, "
        f"{pred.num_rows:,} impressions, best of {args.repeat}",
        best,
    )


if __name__ == "__main__":
    main()
