"""The report opened in a real headless browser (Debian's ``chromium``, driven by Playwright).

Checks: the page loads from a ``file://`` URL with no console error, no page error and no
request leaving the file; every chart section is there, visible, and its chart is drawn
(a sizeable SVG whose pixels are not blank); sections without data show their note. Once on
the fixture tables, once on the real report ``loopwatch demo`` writes (the engine's own
output). Full-page screenshots go to ``tests/artifacts/report.png`` and
``tests/artifacts/demo-report.png`` (``docs/report.png`` is a copy of the latter).

``chromium`` comes from the system (``.ci/run`` installs it). Without it, or without the
``playwright`` package, these tests fail when ``CI`` is set and skip only on a developer's
machine.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import report_fixtures as fx
from click.testing import CliRunner
from matplotlib import image

from loopwatch.cli import main
from loopwatch.reporting import SECTION_NAMES, render_html, render_report

ARTIFACTS = Path(__file__).parent / "artifacts"


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must run the browser test (.ci/run installs chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _unavailable("no chromium on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (the `test` extra)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """A page opened on a local file, with everything it reported on the way."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.goto(path.as_uri(), wait_until="load")

    def _console(self, message: Any) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console {message.type}: {message.text}")


def _drawn(pixels: np.ndarray, box: dict[str, float]) -> bool:
    """True when the box of the page screenshot has real content, not a blank area."""
    top, left = int(box["y"]), int(box["x"])
    crop = pixels[top : top + int(box["height"]), left : left + int(box["width"])]
    rgb = (crop[..., :3] * 255).astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    return len(colours) > 10


def _check_every_chart_is_drawn(page: Any, shot: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pixels = image.imread(io.BytesIO(page.screenshot(path=str(shot), full_page=True)), "png")
    assert shot.stat().st_size > 50_000
    for name in SECTION_NAMES:
        section = page.locator(f"section[data-section={name}]")
        assert section.count() == 1, name
        assert section.is_visible(), name
        assert section.locator("p.note").count() == 0, name
        svg = section.locator("svg")
        assert svg.count() == 1, name
        box = svg.bounding_box()  # page coordinates: the page is not scrolled
        assert box is not None and box["width"] > 300 and box["height"] > 150, (name, box)
        assert svg.locator("path").count() > 10, name
        assert _drawn(pixels, box), f"{name}: the chart looks blank"


def test_report_loads_cleanly_and_every_chart_is_drawn(browser: Any, tmp_path: Path) -> None:
    path = render_report(fx.full_report_data(), tmp_path / "report.html")
    opened = Page(browser, path)
    page = opened.page
    assert opened.errors == []
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    assert page.title() == "loopwatch report"
    assert page.locator("section[data-section=summary] li.alarm").count() >= 1
    _check_every_chart_is_drawn(page, ARTIFACTS / "report.png")
    page.close()


def test_the_demo_report_from_the_engine_opens_cleanly(browser: Any, tmp_path: Path) -> None:
    """The report of ``loopwatch demo`` (default size): real engine tables, every section."""
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    opened = Page(browser, tmp_path / "report.html")
    page = opened.page
    assert opened.errors == []
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    assert page.title().startswith("loopwatch demo")
    alarms = page.locator("section[data-section=summary] li.alarm").all_inner_texts()
    assert any("Degenerate feedback loop" in a and "homogenizing" in a for a in alarms), alarms
    _check_every_chart_is_drawn(page, ARTIFACTS / "demo-report.png")
    page.close()


def test_sections_without_data_show_their_note(browser: Any, tmp_path: Path) -> None:
    path = render_report(fx.empty_report_data(), tmp_path / "empty.html")
    opened = Page(browser, path)
    assert opened.errors == []
    for name in SECTION_NAMES:
        section = opened.page.locator(f"section[data-section={name}]")
        assert section.locator("svg").count() == 0, name
        assert section.locator("p.note").is_visible(), name
    opened.page.close()


@pytest.mark.parametrize(
    "script",
    ['console.error("boom")', "undefined_function()", 'fetch("http://example.invalid/x")'],
)
def test_the_harness_catches_errors(browser: Any, tmp_path: Path, script: str) -> None:
    """The checks above can fail: a page that logs an error, throws or reaches out is caught."""
    html = render_html(fx.empty_report_data()).replace(
        "</body>", f"<script>{script}</script></body>"
    )
    path = tmp_path / "broken.html"
    path.write_text(html, encoding="utf-8")
    opened = Page(browser, path)
    opened.page.wait_for_timeout(300)
    outside = [u for u in opened.requests if not u.startswith("file://")]
    assert opened.errors or outside
    opened.page.close()
