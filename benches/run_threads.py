"""Thread scaling: the same work at 1, 2, 4, … threads (for the lent 16-core machine).

    python benches/run_threads.py [--requests N] [--parts DIR] [--threads 1,2,4,8,16]

In-memory ``label_join`` and ``label_metrics`` on the generated log (``--requests`` x 10
impressions), and, with ``--parts`` (a directory from ``generate_parts.py``), the
bounded-memory ``label_join`` from Parquet parts to a Parquet file. Best of 2 per point.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from generate import generate_log
from timing import machine

import loopwatch as lw


def best(fn: Callable[[], Any], repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--parts", default=None)
    ap.add_argument("--threads", default="1,2,4,8,16")
    ap.add_argument("--memory-limits", default="1GiB", help="budgets of the Parquet runs")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if int(t) <= (os.cpu_count() or 1)]
    pred, fb = generate_log(args.requests)
    kw: dict[str, Any] = {"on": ["user_id", "item_id"], "windows": "30m"}
    labeled = lw.label_join(pred, fb, **kw)
    work: dict[str, Callable[[int], Any]] = {
        f"label_join {pred.num_rows:,} rows in memory": lambda t: lw.label_join(
            pred, fb, threads=t, **kw
        ),
        "label_metrics (hourly, AUC)": lambda t: lw.label_metrics(
            labeled, label="label_30m", score="score", every="1h", threads=t
        ),
    }
    if args.parts:
        out = os.path.join(tempfile.mkdtemp(), "labeled.parquet")
        for limit in args.memory_limits.split(","):
            work[f"label_join {args.parts} → Parquet (memory_limit={limit})"] = (
                lambda t, limit=limit: lw.label_join(
                    f"{args.parts}/predictions", f"{args.parts}/feedback", output=out,
                    memory_limit=limit, threads=t, **kw,
                )
            )  # fmt: skip
    print(f"| work | {' | '.join(f'{t} thr (s)' for t in threads)} | speed-up |")
    print(f"|---|{'---:|' * len(threads)}---:|")
    for name, fn in work.items():
        repeat = 1 if "Parquet" in name else 2
        times = [best(lambda t=t, fn=fn: fn(t), repeat) for t in threads]
        cells = " | ".join(f"{s:.3f}" for s in times)
        print(f"| {name} | {cells} | {times[0] / times[-1]:.1f}x |", flush=True)
    print(f"\nmachine: {machine()}")


if __name__ == "__main__":
    main()
