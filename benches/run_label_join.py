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
import platform
import time
from datetime import UTC, datetime
from importlib import metadata

import duckdb
import polars as pl
from baselines import check_engines, engines
from generate import generate_log


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores (nproc), {model}, {platform.system()} {platform.release()}"


def threads() -> str:
    with duckdb.connect() as con:  # a fresh connection, as duckdb_label_join uses
        ddb = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    return (
        f"pandas 1 (single-threaded), polars {pl.thread_pool_size()} (POLARS_MAX_THREADS), "
        f"duckdb {ddb} (default threads setting), loopwatch default (all cores)"
    )


def versions() -> str:
    names = ["loopwatch", "pandas", "polars", "duckdb", "pyarrow", "numpy"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


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

    best = {}
    for name, fn in runs.items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn(pred, fb)
            times.append(time.perf_counter() - t0)
        best[name] = min(times)
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in times)} s", flush=True)

    base_name = "loopwatch" if "loopwatch" in best else min(best, key=best.__getitem__)
    print(
        f'\n`label_join(on=[user_id, item_id], windows="30m")`, {pred.num_rows:,} '
        f"impressions, {fb.num_rows:,} clicks, best of {args.repeat}\n"
    )
    print(f"| engine | best (s) | ratio vs {base_name} |")
    print("|---|---:|---:|")
    for name, t in best.items():
        print(f"| {name} | {t:.3f} | {t / best[base_name]:.2f} |")
    print(f"\nmachine: {machine()}; load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"threads: {threads()}")
    print(f"versions: {versions()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
