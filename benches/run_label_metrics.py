"""Time ``lw.label_metrics`` (hourly buckets, AUC) against pandas + scikit-learn and Polars.

    python benches/run_label_metrics.py [--requests N] [--repeat R] [--engines a,b] [--by COL]

Generates the log and labels it once with ``lw.label_join(windows="30m")`` (not timed), checks
that every engine gives the same table (floats to 1e-9; this run is also the warm-up), then
reports the best of ``R`` timed runs per engine. Every engine starts from the same Arrow table
and returns the contract's Arrow table, so conversions are part of its time.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

from baselines_metrics import check_engines, engines, labeled_log
from timing import best_times, print_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000, help="10 impressions each")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine (best kept)")
    ap.add_argument("--engines", default=None, help="comma-separated subset, e.g. loopwatch,polars")
    ap.add_argument("--by", default=None, help="also group by this column (e.g. position)")
    args = ap.parse_args()

    print(f"load average at the start: {os.getloadavg()[0]:.2f} (other work skews timings)")
    t0 = time.perf_counter()
    labeled = labeled_log(args.requests)
    print(f"data: {labeled.num_rows:,} labeled impressions ({time.perf_counter() - t0:.1f}s)")
    by = [args.by] if args.by else []
    runs = {name: partial(fn, by=by) for name, fn in engines().items()}
    if args.engines:
        runs = {n: runs[n] for n in args.engines.split(",")}
    t0 = time.perf_counter()
    check_engines(labeled, only=list(runs))
    print(f"check: {', '.join(runs)} agree ({time.perf_counter() - t0:.1f}s, warm-up)")

    best = best_times(runs, (labeled,), args.repeat)
    by_arg = f", by={args.by!r}" if args.by else ""
    print_report(
        f'`label_metrics(label="label_30m", score="score", every="1h"{by_arg})`, '
        f"{labeled.num_rows:,} impressions, best of {args.repeat}",
        best,
    )


if __name__ == "__main__":
    main()
