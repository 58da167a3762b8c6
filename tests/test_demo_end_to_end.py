"""The README's main job, exactly as a newcomer runs it: ``make demo``.

``make demo`` builds, then runs ``$(VENV)/bin/loopwatch demo``. The build is what ``make test``
has just done, so this test checks that the recipe is that one command and then runs the
installed console script itself at its default size, in a process of its own: exit 0, a report
with every section drawn, a summary that says the feedback loop is homogenizing (ARP and Gini
rising, APLT and coverage falling, by clear margins), in well under a minute.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loopwatch.reporting import SECTION_NAMES

ROOT = Path(__file__).resolve().parent.parent
TREND_LINE = re.compile(
    r"^  (?P<metric>ARP|APLT|coverage|Gini|entropy)\s+(?P<first>[-\d.]+) → (?P<last>[-\d.]+)\s+"
    r"(?P<direction>rising|falling|flat)\b"
)


def make_recipe(target: str) -> tuple[list[str], list[str]]:
    """The prerequisites and the recipe lines of ``target`` in the Makefile."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{target}:"):
            prerequisites = line.partition(":")[2].split()
            recipe = []
            for following in lines[index + 1 :]:
                if not following.startswith("\t"):
                    break
                recipe.append(following.strip())
            return prerequisites, recipe
    raise AssertionError(f"no {target!r} target in the Makefile")


def test_readme_main_job_is_make_demo_and_make_demo_is_loopwatch_demo() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme[: readme.index("## ", readme.index("## ") + 1)]
    assert re.search(r"^make demo\s+# the main job", setup, re.M), setup
    assert re.search(r"^make test\s+#", setup, re.M), setup
    prerequisites, recipe = make_recipe("demo")
    assert prerequisites == ["build"]
    assert recipe == ["$(VENV)/bin/loopwatch demo"]


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    # What `make demo` runs: the console script `maturin develop` installed next to python.
    script = Path(sys.executable).parent / "loopwatch"
    assert script.exists(), f"{script} missing: run `make build` (maturin develop) first"
    out = tmp_path_factory.mktemp("demo") / "out"
    started = time.perf_counter()
    completed = subprocess.run(
        [str(script), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=out.parent,
    )
    return completed, out, time.perf_counter() - started


def test_demo_exits_0_quickly_and_writes_its_files(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    completed, out, seconds = demo
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert seconds < 60, f"the demo took {seconds:.1f} s"
    for name in ["logs/predictions.parquet", "logs/feedback.parquet", "labeled.parquet"]:
        assert (out / name).stat().st_size > 10_000, name
    assert f"report written to {out / 'report.html'}" in completed.stdout


def test_demo_report_has_every_section_drawn(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    _, out, _ = demo
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-section="summary"' in html
    for name in SECTION_NAMES:
        match = re.search(rf'<section [^>]*data-section="{name}">(.*?)</section>', html, re.S)
        assert match is not None, name
        assert f'data-chart="{name}"' in match.group(1), f"{name}: no chart"
        assert 'class="note"' not in match.group(1), f"{name}: a note instead of a chart"
    assert "homogenizing" in html and "shaded reference period" in html


def test_demo_summary_says_the_loop_is_homogenizing(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    stdout = demo[0].stdout
    for window in ["5m", "30m", "1d"]:
        assert re.search(rf"^  label_{window}\s+positive\s+[\d,]+", stdout, re.M), window
    assert re.search(r"^feedback loop length: p50 \S+ · p90 \S+ · p99 \S+$", stdout, re.M)
    trends = {}
    for line in stdout.splitlines():
        match = TREND_LINE.match(line)
        if match:
            trends[match["metric"]] = (
                float(match["first"]),
                float(match["last"]),
                match["direction"],
            )
    assert set(trends) == {"ARP", "APLT", "coverage", "Gini", "entropy"}, stdout
    assert [trends[m][2] for m in ["ARP", "Gini", "APLT", "coverage"]] == [
        "rising",
        "rising",
        "falling",
        "falling",
    ]
    # Level changes from the reference period to the end, with wide margins (SIMULATOR.md:
    # assert levels, not slopes). Seed 0 gives ARP ×3.3, Gini +0.43, APLT ÷7.7, coverage −44%.
    arp, gini, aplt, coverage = (trends[m] for m in ["ARP", "Gini", "APLT", "coverage"])
    assert arp[1] > 1.8 * arp[0]
    assert gini[1] > gini[0] + 0.2
    assert aplt[1] < aplt[0] / 3
    assert coverage[1] < 0.8 * coverage[0]
    alarm = [line for line in stdout.splitlines() if line.startswith("ALARM  Degenerate")]
    assert len(alarm) == 1 and "recommendations are homogenizing" in alarm[0], stdout


def test_readme_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``python`` block of the README's quickstart, in order, as one script."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme[readme.index("## Quickstart") : readme.index("## Semantics")]
    blocks = re.findall(r"```python\n(.*?)```", quickstart, re.S)
    assert len(blocks) >= 8
    monkeypatch.chdir(tmp_path)  # the examples write labeled.parquet and report.html
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(blocks), "README.md quickstart", "exec"), namespace)
    assert namespace["report"].homogenizing
    assert (tmp_path / "labeled.parquet").exists() and (tmp_path / "report.html").exists()
