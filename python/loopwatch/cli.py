"""The ``loopwatch`` command line: ``demo``, ``label`` and ``report``.

Every user error (a ``LoopwatchError``, a missing file, a bad duration, an unknown column)
ends the command with one line on stderr, ``Error: <what is wrong>``, and exit status 1;
click's own usage errors (an unknown option, a value of the wrong type) exit with 2.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import click
import pyarrow as pa
import pyarrow.parquet as pq

from . import _core
from ._durations import duration_nanos
from ._join import Attribution, label_join
from ._stats import join_stats
from .errors import LoopwatchError, SchemaError
from .reporting import ReportData, compute_report_data, render_report
from .reporting.summary import delay_text, findings
from .simulate import feedback_loop, write

DEMO_WINDOWS = ["5m", "30m", "1d"]


@contextmanager
def _user_errors(options: dict[str, str] | None = None) -> Iterator[None]:
    """Turn loopwatch's and the file system's errors into one-line click errors.

    ``options`` renames the argument an error starts with (``windows: ...``) to the option the
    user typed (``--window: ...``).
    """
    try:
        yield
    except LoopwatchError as exc:
        message = str(exc)
        argument, colon, rest = message.partition(": ")
        if colon and options and argument in options:
            message = f"{options[argument]}: {rest}"
        raise click.ClickException(message) from exc
    except FileNotFoundError as exc:
        raise click.ClickException(f"{exc.filename}: no such file or directory") from exc
    except (OSError, pa.ArrowException) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc


def _check_input(path: str, argument: str) -> None:
    """A missing path (not a glob) fails before any work, naming the argument."""
    if not any(ch in path for ch in "*?[") and not os.path.exists(path):
        raise click.ClickException(f"{argument}: no such file or directory: {path}")


def _split_columns(values: Sequence[str]) -> list[str]:
    """``--on user_id,item_id`` and ``--on user_id --on item_id`` both give two columns."""
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _check_column(table: pa.Table, column: str | None, option: str, source: str) -> None:
    if column is not None and column not in table.column_names:
        raise click.ClickException(
            f"{option}: no column {column!r} in {source} (columns: {', '.join(table.column_names)})"
        )


def _check_duration(value: str, option: str) -> str:
    with _user_errors():
        duration_nanos(value, option)
    return value


def _print_counts(stats: dict[str, Any], path: str | Path) -> None:
    events, predictions = stats["events"], stats["predictions"]
    click.echo(
        f"labeled {predictions['total']:,} predictions ({predictions['invalid']:,} invalid) "
        f"from {events['total']:,} feedback events: {events['credited']:,} credited, "
        f"{events['late']:,} late, {events['orphan']:,} orphan, "
        f"{events['after_watermark']:,} after the watermark, {events['invalid']:,} invalid"
    )
    for window in stats["windows"]:
        counts = stats["labels"][window]
        click.echo(
            f"  label_{window:<5} positive {counts['positive']:>9,}  negative "
            f"{counts['negative']:>10,}  pending {counts['pending']:>9,}"
        )
    click.echo(f"labeled table written to {path}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_core.__version__, prog_name="loopwatch")
def main() -> None:
    """Natural labels, feedback-loop length and degenerate-feedback-loop monitoring from
    ML prediction logs and delayed feedback."""


@main.command()
@click.argument("predictions")
@click.argument("feedback")
@click.option("--on", "on", multiple=True, required=True, help="Key columns, e.g. user_id,item_id.")
@click.option("--window", "windows", multiple=True, required=True, help="Label window, e.g. 30m.")
@click.option(
    "--out",
    required=True,
    help="Labeled Parquet file, or a directory of parts (a path ending in /, or an empty dir).",
)
@click.option("--time", default="ts", show_default=True, help="Prediction time column.")
@click.option("--feedback-time", default=None, help="Feedback time column [default: --time].")
@click.option("--watermark", default=None, help="As-of time (ISO datetime, or int).")
@click.option(
    "--attribution",
    type=click.Choice(["last", "first", "all"]),
    default="last",
    show_default=True,
)
@click.option(
    "--memory-limit",
    default=None,
    help="Memory budget, e.g. 2GiB [default: LOOPWATCH_MEMORY_LIMIT or a quarter of RAM].",
)
@click.option("--tmp-dir", default=None, help="Where partitions spill [default: system temp].")
def label(
    predictions: str,
    feedback: str,
    on: tuple[str, ...],
    windows: tuple[str, ...],
    out: str,
    time: str,
    feedback_time: str | None,
    watermark: str | None,
    attribution: str,
    memory_limit: str | None,
    tmp_dir: str | None,
) -> None:
    """Label PREDICTIONS with the FEEDBACK that follows them (Parquet files, directories or
    globs) and write the labeled table to --out as Parquet, in bounded memory (partitions
    spill to --tmp-dir beyond --memory-limit), with a progress bar on stderr."""
    _check_input(predictions, "PREDICTIONS")
    _check_input(feedback, "FEEDBACK")
    options = {"windows": "--window", "on": "--on", "time": "--time", "watermark": "--watermark"}
    options |= {"memory_limit": "--memory-limit", "tmp_dir": "--tmp-dir"}
    with _user_errors(options | {"feedback_time": "--feedback-time"}):
        Path(out.rstrip("/") or "/").parent.mkdir(parents=True, exist_ok=True)
        stats = label_join(
            predictions,
            feedback,
            on=_split_columns(on),
            windows=_split_columns(windows),
            time=time,
            feedback_time=feedback_time,
            watermark=_parse_watermark(watermark),
            attribution=cast(Attribution, attribution),
            output=out,
            memory_limit=memory_limit,
            tmp_dir=tmp_dir,
            progress=True,
        )
    _print_counts(stats, out)


def _parse_watermark(text: str | None) -> Any:
    return None if text is None else _parse_time(text, "--watermark")


def _parse_time(text: str, option: str) -> Any:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.ClickException(
            f"{option}: cannot read {text!r} as an ISO datetime or an integer"
        ) from exc


def _parse_reference(text: str | None) -> tuple[Any, Any] | None:
    """``START,END`` (either may be empty) → the reference period."""
    if text is None:
        return None
    start, comma, end = text.partition(",")
    if not comma:
        raise click.ClickException(f"--reference: expected START,END, got {text!r}")
    return (
        _parse_time(start.strip(), "--reference") if start.strip() else None,
        _parse_time(end.strip(), "--reference") if end.strip() else None,
    )


@main.command()
@click.argument("labeled")
@click.option("--interactions", default=None, help="Interaction log for item popularity.")
@click.option("--out", default="report.html", show_default=True, type=click.Path(path_type=Path))
@click.option("--every", default="1d", show_default=True, help="Time bucket width.")
@click.option("--by", "by", multiple=True, help="Segment column (repeatable).")
@click.option(
    "--head-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.8,
    show_default=True,
    help="Share of interactions the popular head covers; the rest is the long tail.",
)
@click.option(
    "--reference",
    default=None,
    help="START,END (ISO datetimes): fix popularity from this period, trend from START on.",
)
@click.option("--label", "label_column", default=None, help="Label column [default: largest].")
@click.option("--time", default="ts", show_default=True, help="Prediction time column.")
def report(
    labeled: str,
    interactions: str | None,
    out: Path,
    every: str,
    by: tuple[str, ...],
    head_share: float,
    reference: str | None,
    label_column: str | None,
    time: str,
) -> None:
    """Write an HTML report (one offline file) on a LABELED Parquet table made by
    `loopwatch label`."""
    _check_input(labeled, "LABELED")
    if interactions is not None:
        _check_input(interactions, "--interactions")
    _check_duration(every, "--every")
    period = _parse_reference(reference)
    with _user_errors():
        table = pq.read_table(labeled)
        history = pq.read_table(interactions) if interactions is not None else None
    try:
        join_stats(table)
    except SchemaError as exc:
        raise click.ClickException(
            f"LABELED: {labeled} has no label_join counts (loopwatch.stats metadata); "
            "make it with `loopwatch label`"
        ) from exc
    by_columns = _split_columns(by)
    _check_column(table, label_column, "--label", "LABELED")
    _check_column(table, time, "--time", "LABELED")
    for column in by_columns:
        _check_column(table, column, "--by", "LABELED")
    with _user_errors({"reference": "--reference"}):
        data = compute_report_data(
            table,
            interactions=history,
            label=label_column,
            time=time,
            every=every,
            by=by_columns,
            head_share=head_share,
            reference=period,
        )
        path = render_report(data, out)
    _print_summary(data)
    click.echo(f"report written to {path}")


DEMO_EXPLORATION = 0.05


@main.command()
@click.option("--out", default="loopwatch-demo", show_default=True, type=click.Path(path_type=Path))
@click.option("--days", type=click.IntRange(min=1), default=45, show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--items", type=click.IntRange(min=2), default=1_000, show_default=True)
@click.option(
    "--exploration",
    type=click.FloatRange(0, 1),
    default=DEMO_EXPLORATION,
    show_default=True,
    help="Share of list slots given to random items (flagged `explored`).",
)
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out: Path, days: int, users: int, items: int, exploration: float, seed: int) -> None:
    """The main job on simulated data: a recommender retrained nightly on its own clicks.

    Simulates it (warm-up on random lists, two weeks frozen: the reference period, then
    nightly retraining), labels its impressions with several windows, computes every metric
    and writes the report that shows its feedback loop degenerating. Writes to --out: the
    logs (logs/*.parquet), the labeled table (labeled.parquet) and report.html.
    """
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"--out: {out} exists and is not a directory")
    options = {name: f"--{name}" for name in ["days", "users", "items", "exploration", "seed"]}
    with _user_errors(options):
        sim = feedback_loop(days=days, users=users, items=items, exploration=exploration, seed=seed)
        sim_dir = out / "logs"
        write(sim, sim_dir)
        labeled_path = out / "labeled.parquet"
        stats = label_join(
            sim.predictions,
            sim.feedback,
            on=["user_id", "item_id"],
            windows=DEMO_WINDOWS,
            output=labeled_path,
        )
    first = (sim.reference_start - sim.start).days
    retrain = (sim.retraining_start - sim.start).days
    click.echo(
        f"simulated {days} days of a recommender retrained on its own clicks ({users:,} users, "
        f"{items:,} items, {exploration:.0%} random slots): {sim.predictions.num_rows:,} "
        f"impressions, {sim.feedback.num_rows:,} clicks (logs in {sim_dir})"
    )
    click.echo(
        f"  days 1-{first}: random lists (warm-up); days {first + 1}-{retrain}: model frozen "
        f"(the reference period); days {retrain + 1}-{days}: retrained every night"
    )
    _print_counts(stats, labeled_path)
    with _user_errors():
        data = compute_report_data(
            pq.read_table(labeled_path),
            interactions=sim.interactions,
            reference=(sim.reference_start, sim.retraining_start),
            title="loopwatch demo: a recommender retrained on its own clicks",
        )
        path = render_report(data, out / "report.html")
    _print_summary(data)
    click.echo(f"report written to {path}")


METRIC_NAMES = {"arp": "ARP", "aplt": "APLT", "gini": "Gini"}


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _print_trend(data: ReportData) -> None:
    """One line per popularity metric: first → last bucket, direction, p-value."""
    if data.trend is None or data.trend.table.num_rows == 0:
        return
    table = data.trend.table
    since = " from the reference period on" if data.reference is not None else ""
    click.echo(f"popularity trend{since} (first → last bucket):")
    for row in table.to_pylist():
        segment = ", ".join(f"{c}={row[c]}" for c in data.by)
        name = METRIC_NAMES.get(row["metric"], row["metric"])
        values = f"{_number(row['first']):>8} → {_number(row['last']):<8}"
        p = row["p_value"]
        p_text = "" if p is None else "(p < 0.001)" if p < 0.001 else f"(p = {p:.3f})"
        click.echo(
            f"  {(segment + ' ') if segment else ''}{name:<9}{values} {row['direction']:<8}{p_text}"
        )


def _print_summary(data: ReportData) -> None:
    delay = delay_text(data)
    if delay is not None:
        click.echo(f"feedback loop length: {delay}")
    _print_trend(data)
    for finding in findings(data):
        click.echo(f"{'ALARM' if finding.level == 'alarm' else 'note '}  {finding.text}")


if __name__ == "__main__":  # `python -m loopwatch.cli`, as the console script `loopwatch`
    main()
