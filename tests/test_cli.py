"""The ``loopwatch`` command line: help, happy paths, and one-line errors for bad input.

A user error must end with exactly one line on stderr (``Error: ...``), no traceback, and a
non-zero exit. ``report`` and ``demo`` run on the real engine here (small simulated runs); the
full-size demo is ``test_demo_end_to_end.py``.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

import loopwatch as lw
from loopwatch.cli import main
from loopwatch.reporting import SECTION_NAMES
from loopwatch.simulate import feedback_loop, write

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated run written as Parquet: predictions, feedback, interactions."""
    folder = tmp_path_factory.mktemp("logs")
    sim = feedback_loop(days=8, users=120, items=100, exploration=0.1, seed=5, reference_days=3)
    return write(sim, folder)


@pytest.fixture(scope="module")
def labeled(logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labeled") / "labeled.parquet"
    lw.label_join(
        logs / "predictions.parquet",
        logs / "feedback.parquet",
        on=["user_id", "item_id"],
        windows=["30m", "1d"],
        output=out,
    )
    return out


def run(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_console_script_points_at_the_click_group() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        scripts = tomllib.load(file)["project"]["scripts"]
    module, _, attribute = scripts["loopwatch"].partition(":")
    assert getattr(importlib.import_module(module), attribute) is main
    assert isinstance(main, click.Group)


@pytest.mark.parametrize("command", [[], ["demo"], ["label"], ["report"]])
def test_help_everywhere(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")
    assert len(result.output.splitlines()) > 4


def test_label_writes_the_labeled_table_and_prints_its_counts(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "labeled.parquet"
    result = run(
        "label",
        logs / "predictions.parquet",
        logs / "feedback.parquet",
        "--on",
        "user_id,item_id",
        "--window",
        "30m",
        "--window",
        "1d",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    stats = lw.join_stats(out)
    assert stats["windows"] == ["30m", "1d"]
    assert {"label_30m", "label_1d"} <= set(pq.read_schema(out).names)
    assert f"labeled {stats['predictions']['total']:,} predictions" in result.stdout
    assert f"{stats['events']['credited']:,} credited" in result.stdout
    positive_1d = f"{stats['labels']['1d']['positive']:,}"
    assert any("label_1d" in line and positive_1d in line for line in result.stdout.splitlines())


def test_label_takes_a_directory_and_options(logs: Path, tmp_path: Path) -> None:
    parts = tmp_path / "predictions"
    parts.mkdir()
    predictions = pq.read_table(logs / "predictions.parquet")
    half = predictions.num_rows // 2
    pq.write_table(predictions.slice(0, half), parts / "part-0.parquet")
    pq.write_table(predictions.slice(half), parts / "part-1.parquet")
    out = tmp_path / "labeled.parquet"
    result = run(
        "label", parts, logs / "feedback.parquet", "--on", "user_id", "--on", "item_id",
        "--window", "1h", "--out", out, "--attribution", "first",
        "--watermark", "2024-01-05T00:00:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stats = lw.join_stats(out)
    assert stats["attribution"] == "first"
    assert stats["predictions"]["total"] == predictions.num_rows
    assert stats["events"]["after_watermark"] > 0
    # --out ending in "/": a directory of parts, one per predictions part, in order.
    folder = tmp_path / "labeled"
    result = run(
        "label", parts, logs / "feedback.parquet", "--on", "user_id,item_id",
        "--window", "1h", "--out", f"{folder}/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(folder)) == ["part-00000.parquet", "part-00001.parquet"]
    labeled = pq.read_table(folder / "part-00000.parquet")
    assert labeled.num_rows == half and "label_1h" in labeled.column_names
    # A non-empty directory is refused with one line naming --out.
    result = run(
        "label", parts, logs / "feedback.parquet", "--on", "user_id,item_id",
        "--window", "1h", "--out", folder,
    )  # fmt: skip
    assert result.exit_code != 0 and "not empty" in result.output, result.output


def test_label_missing_file(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "labeled.parquet"
    result = run(
        "label", tmp_path / "nope.parquet", logs / "feedback.parquet",
        "--on", "user_id,item_id", "--window", "30m", "--out", out,
    )  # fmt: skip
    assert_one_line_error(result, "PREDICTIONS", "nope.parquet")
    assert not out.exists()


def test_label_bad_window(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "labeled.parquet"
    result = run(
        "label", logs / "predictions.parquet", logs / "feedback.parquet",
        "--on", "user_id,item_id", "--window", "3 fortnights", "--out", out,
    )  # fmt: skip
    assert_one_line_error(result, "--window: ", "3 fortnights")
    assert not out.exists()


def test_label_unknown_column(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "labeled.parquet"
    result = run(
        "label", logs / "predictions.parquet", logs / "feedback.parquet",
        "--on", "user_id,nope", "--window", "30m", "--out", out,
    )  # fmt: skip
    assert_one_line_error(result, "nope")
    assert not out.exists()


def test_label_bad_watermark(logs: Path, tmp_path: Path) -> None:
    result = run(
        "label", logs / "predictions.parquet", logs / "feedback.parquet",
        "--on", "user_id,item_id", "--window", "30m", "--out", tmp_path / "x.parquet",
        "--watermark", "yesterday",
    )  # fmt: skip
    assert_one_line_error(result, "--watermark", "yesterday")


def test_report_writes_every_section_and_prints_the_summary(
    labeled: Path, logs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = run(
        "report", labeled, "--interactions", logs / "interactions.parquet", "--out", out,
        "--every", "1d", "--head-share", "0.7", "--reference", "2024-01-04T00:00:00,",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"report written to {out}" in result.stdout
    assert "feedback loop length: p50 " in result.stdout
    assert "popularity trend from the reference period on" in result.stdout
    assert any(line.startswith("  ARP ") for line in result.stdout.splitlines())
    html = out.read_text(encoding="utf-8")
    assert all(f'data-section="{name}"' in html for name in SECTION_NAMES)
    assert "shaded reference period" in html


def test_report_bad_reference(labeled: Path, tmp_path: Path) -> None:
    result = run("report", labeled, "--reference", "soon,later", "--out", tmp_path / "r.html")
    assert_one_line_error(result, "--reference", "soon")
    result = run("report", labeled, "--reference", "2024-01-04", "--out", tmp_path / "r.html")
    assert_one_line_error(result, "--reference: expected START,END")
    result = run(
        "report", labeled, "--reference", "2024-01-09,2024-01-04", "--out", tmp_path / "r.html"
    )
    assert_one_line_error(result, "--reference: start")
    assert not (tmp_path / "r.html").exists()


def test_report_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(run("report", tmp_path / "nope.parquet"), "LABELED", "nope.parquet")


def test_report_missing_interactions(labeled: Path, tmp_path: Path) -> None:
    result = run("report", labeled, "--interactions", tmp_path / "nope.parquet")
    assert_one_line_error(result, "--interactions", "nope.parquet")


def test_report_bad_window(labeled: Path, tmp_path: Path) -> None:
    result = run("report", labeled, "--every", "3 fortnights", "--out", tmp_path / "r.html")
    assert_one_line_error(result, "--every", "3 fortnights")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("option", ["--by", "--label", "--time"])
def test_report_unknown_column(labeled: Path, tmp_path: Path, option: str) -> None:
    result = run("report", labeled, option, "nope", "--out", tmp_path / "r.html")
    assert_one_line_error(result, f"{option}: no column 'nope'", "LABELED", "label_1d")


def test_report_on_a_table_not_made_by_label(logs: Path) -> None:
    result = run("report", logs / "predictions.parquet")
    assert_one_line_error(result, "LABELED", "loopwatch label")


def test_report_bad_head_share_is_a_usage_error(labeled: Path) -> None:
    result = run("report", labeled, "--head-share", "1.5")
    assert result.exit_code == 2
    assert "--head-share" in result.stderr and "Traceback" not in result.output


def test_report_with_default_options(labeled: Path, tmp_path: Path) -> None:
    result = run("report", labeled, "--out", tmp_path / "report.html")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert all(f'data-section="{name}"' in html for name in SECTION_NAMES)
    assert "shaded reference period" not in html


def test_demo_small(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run("demo", "--out", out, "--days", "20", "--users", "100", "--items", "80")
    assert result.exit_code == 0, result.output
    for name in ["predictions", "feedback", "interactions"]:
        assert (out / "logs" / f"{name}.parquet").exists()
    assert lw.join_stats(out / "labeled.parquet")["windows"] == ["5m", "30m", "1d"]
    assert (
        pq.read_table(out / "logs" / "predictions.parquet")
        .column("explored")
        .to_pylist()
        .count(True)
    )  # the demo explores by default
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'data-section="{name}"' in html for name in SECTION_NAMES)
    assert "simulated 20 days" in result.stdout and "feedback loop length" in result.stdout
    assert f"report written to {out / 'report.html'}" in result.stdout


def test_demo_too_few_days() -> None:
    assert_one_line_error(run("demo", "--days", "5"), "--days: 5")


def test_demo_out_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert_one_line_error(run("demo", "--out", file), "--out", "not a directory")


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "loopwatch.cli", "report", str(tmp_path / "missing.parquet")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"Error: LABELED: no such file or directory: {tmp_path / 'missing.parquet'}"
    ]


def test_label_spills_within_a_memory_limit_with_a_progress_bar(
    logs: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out, spill = tmp_path / "labeled.parquet", tmp_path / "spill"
    spill.mkdir()
    args = ["--on", "user_id,item_id", "--window", "30m", "--out", out]
    capfd.readouterr()
    result = run(
        "label", logs / "predictions.parquet", logs / "feedback.parquet", *args,
        "--memory-limit", "10KiB", "--tmp-dir", spill,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "100%" in capfd.readouterr().err  # drawn by the engine on the real stderr
    want = lw.label_join(
        pq.read_table(logs / "predictions.parquet"),
        pq.read_table(logs / "feedback.parquet"),
        on=["user_id", "item_id"],
        windows="30m",
    )
    assert pq.read_table(out).equals(want)
    assert list(spill.iterdir()) == []


def test_label_bad_memory_limit(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "labeled.parquet"
    result = run(
        "label", logs / "predictions.parquet", logs / "feedback.parquet",
        "--on", "user_id,item_id", "--window", "30m", "--out", out, "--memory-limit", "lots",
    )  # fmt: skip
    assert_one_line_error(result, "--memory-limit", "lots")
    assert not out.exists()
