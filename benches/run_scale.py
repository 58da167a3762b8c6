"""Directory in → labeled Parquet out, each engine in its own process, wall time and peak RSS.

    python benches/generate_parts.py /data/log --days 10     # 100M impressions, once
    python benches/run_scale.py /data/log [--engines loopwatch,polars] [--memory-limit 1GiB]
                                          [--rounds 3]

loopwatch: ``lw.label_join(dir, dir, on=[user_id, item_id], windows="30m", output=...)`` with a
memory budget (bounded-memory path: partitions spilled to a temp dir). Polars' streaming engine:
``scan_parquet`` → ``join_asof(by=[user_id, item_id], strategy="forward", tolerance="30m")`` →
``sink_parquet`` — the nearest click after each impression, which is first-touch-like rather
than loopwatch's last-touch crediting, so the comparison is of the same *shape* of work (a
keyed as-of join of the whole log), not identical output. Each run is measured with
``/usr/bin/time -v`` (wall clock, maximum resident set size).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import machine, versions

LOOPWATCH = """
import json, sys, loopwatch as lw
stats = lw.label_join("{d}/predictions", "{d}/feedback", on=["user_id", "item_id"],
                      windows="30m", output="{out}", memory_limit="{limit}", tmp_dir="{tmp}",
                      progress=True)
print(json.dumps(stats["predictions"]), file=sys.stderr)
"""
POLARS = """
import polars as pl
pred = pl.scan_parquet("{d}/predictions/*.parquet")
clicks = pl.scan_parquet("{d}/feedback/*.parquet").with_columns(click_ts=pl.col("ts"))
joined = pred.join_asof(clicks, on="ts", by=["user_id", "item_id"], strategy="forward",
                        tolerance="30m")
joined.sink_parquet("{out}")
"""


def measure(code: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in GiB, exit code) of ``python -c code`` under /usr/bin/time."""
    run = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", code],
        capture_output=True,
        text=True,
    )
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    if run.returncode != 0 or not wall or not rss:
        print(run.stderr[-3000:], file=sys.stderr)
    seconds = 0.0
    if wall:
        h, m, s = wall.groups()
        seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return seconds, (int(rss.group(1)) / 2**20 if rss else float("nan")), run.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path, help="a directory written by generate_parts.py")
    ap.add_argument("--engines", default="loopwatch,polars")
    ap.add_argument("--memory-limit", default="1GiB", help="loopwatch's memory_limit")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of every engine, in turns")
    args = ap.parse_args()
    engines = args.engines.split(",")
    rounds: list[dict[str, tuple[float, float, int]]] = []
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        # Engines take turns, so a slow spell of the shared host hits them alike.
        for r in range(args.rounds):
            rows = {}
            for engine in engines:
                out = Path(tmp) / f"{engine}-{r}.parquet"
                template = LOOPWATCH if engine == "loopwatch" else POLARS
                code = template.format(d=args.data, out=out, limit=args.memory_limit, tmp=tmp)
                os.sync()  # no engine pays for writing back an earlier one's output
                wall, rss, rc = measure(code)
                rows[engine] = (wall, rss, rc)
                print(f"  {engine}: {wall:.1f} s, peak RSS {rss:.2f} GiB, exit {rc}", flush=True)
                out.unlink(missing_ok=True)
            rounds.append(rows)
    n = sum(1 for _ in (args.data / "predictions").glob("*.parquet"))
    print(f"\n{n} parts (about {n * 10}M impressions), directory in → labeled Parquet out\n")
    print("| round | engine | wall (s) | peak RSS (GiB) | ratio vs loopwatch |")
    print("|---:|---|---:|---:|---:|")
    for r, rows in enumerate(rounds, 1):
        base = rows.get("loopwatch", (float("nan"),))[0]
        for engine, (wall, rss, rc) in rows.items():
            note = "" if rc == 0 else f" (exit {rc})"
            ratio = f"{wall / base:.2f}" if base > 0 else "n/a"
            print(f"| {r} | {engine}{note} | {wall:.1f} | {rss:.2f} | {ratio} |")
    print(f"\nmachine: {machine()}\nversions: {versions()}")


if __name__ == "__main__":
    main()
