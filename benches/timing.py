"""Shared by the ``run_*.py`` benchmark scripts: timing engines side by side and printing the
result with the machine, threads, versions and date (ratios are what matter on shared hosts)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from typing import Any


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
    import duckdb  # (imported here: the scaling script runs where only pyarrow is installed)
    import polars as pl

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


def best_times(
    runs: dict[str, Callable[..., Any]], args: tuple[Any, ...], repeat: int
) -> dict[str, float]:
    """The best of ``repeat`` wall times per engine, each called as ``fn(*args)``. Engines take
    turns (one call each per round), so a slow spell of a shared host hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn(*args)
            times[name].append(time.perf_counter() - t0)
    best = {}
    for name in runs:
        best[name] = min(times[name])
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in times[name])} s", flush=True)
    return best


def print_report(title: str, best: dict[str, float]) -> None:
    """A markdown table of best times and ratios vs loopwatch, then the context."""
    base_name = "loopwatch" if "loopwatch" in best else min(best, key=best.__getitem__)
    print(f"\n{title}\n")
    print(f"| engine | best (s) | ratio vs {base_name} |")
    print("|---|---:|---:|")
    for name, t in best.items():
        print(f"| {name} | {t:.3f} | {t / best[base_name]:.2f} |")
    print(f"\nmachine: {machine()}; load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"threads: {threads()}")
    print(f"versions: {versions()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
