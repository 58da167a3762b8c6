"""The HTML report rendered from tables with the contract's schemas (``report_fixtures``).

Checks that every section is there, in order, with one real (parseable, drawn) SVG chart or
a note; that the file is self-contained; that chart ids never collide; that the summary says
the alarms in words; that ``compute_report_data`` calls the engine with the contract's
arguments (a spy around the real functions); that ``lw.report`` writes the report; and that the
report's duration reader agrees with the engine's.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import report_fixtures as fx

import loopwatch as lw
from loopwatch._durations import duration_nanos
from loopwatch.reporting import (
    SECTION_NAMES,
    compute_report_data,
    render_html,
    render_report,
)
from loopwatch.reporting import compute as compute_module
from loopwatch.simulate import feedback_loop

SVG_NS = "{http://www.w3.org/2000/svg}"
SECTION = re.compile(
    r'<section class="report-section" id="([^"]+)" data-section="\1">(.*?)</section>', re.S
)


def sections(html: str) -> dict[str, str]:
    return dict(SECTION.findall(html))


def assert_drawn_svg(body: str, name: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", body, re.S)
    assert len(svgs) == 1, f"{name}: expected one chart, found {len(svgs)}"
    root = ET.fromstring(svgs[0])  # well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    assert float(root.get("width", "0").removesuffix("pt")) > 100
    drawn = [e for e in root.iter() if e.tag in {f"{SVG_NS}path", f"{SVG_NS}use"}]
    assert len(drawn) > 10, f"{name}: the chart draws almost nothing"
    assert root.get("data-chart") == name


def test_every_section_has_a_chart(tmp_path: Path) -> None:
    path = render_report(fx.full_report_data(), tmp_path / "sub" / "report.html")
    html = path.read_text(encoding="utf-8")
    found = sections(html)
    assert list(found) == SECTION_NAMES
    for name, body in found.items():
        assert_drawn_svg(body, name)
        assert 'class="note"' not in body
    assert html.count("<svg") == len(SECTION_NAMES)


def test_sections_without_data_show_a_note() -> None:
    html = render_html(fx.empty_report_data())
    found = sections(html)
    assert list(found) == SECTION_NAMES
    for name, body in found.items():
        assert "<svg" not in body, name
        assert re.search(r'<p class="note">[^<]+</p>', body), name
    assert 'data-section="summary"' in html


def test_no_exploration_traffic_gives_a_note_not_a_chart() -> None:
    found = sections(render_html(fx.full_report_data(exploration=False)))
    assert "No exploration traffic" in found["exploration"]
    assert "<svg" not in found["exploration"]
    assert_drawn_svg(found["position-bias"], "position-bias")


def test_file_is_self_contained_and_ids_are_unique() -> None:
    html = render_html(fx.full_report_data())
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((?!#)", html)  # only in-document references
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "two elements share an id"
    for ref in re.findall(r'(?:url\(#|href="#)([^)"]+)', html):
        assert ref in ids, f"dangling reference #{ref}"


def test_summary_states_volumes_labels_and_alarms_in_words() -> None:
    html = render_html(fx.full_report_data())
    summary = html[html.index('data-section="summary"') : html.index('class="report-section"')]
    assert "66,000" in summary  # predictions
    assert "9,120 credited" in summary
    assert "label_1d" in summary and "13.6%" in summary  # pending share
    alarms = re.findall(r'<li class="alarm">(.*?)</li>', summary)
    assert any("Degenerate feedback loop" in a and "homogenizing" in a for a in alarms)
    assert any("Position bias: position 10" in a for a in alarms)
    notes = re.findall(r'<li class="info">(.*?)</li>', summary)
    assert any("12h window already captures 98%" in n for n in notes)
    assert any("label_5m misses 43%" in n for n in notes)


def test_no_alarm_when_nothing_is_wrong() -> None:
    html = render_html(fx.empty_report_data())
    assert '<li class="alarm">' not in html
    assert "No alarms." in html


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    a = render_report(fx.full_report_data(), tmp_path / "a.html").read_bytes()
    b = render_report(fx.full_report_data(), tmp_path / "b.html").read_bytes()
    assert a == b


def _small_labeled() -> pa.Table:
    sim = feedback_loop(days=8, users=100, items=100, exploration=0.2, seed=2, reference_days=3)
    return lw.label_join(
        sim.predictions, sim.feedback, on=["user_id", "item_id"], windows=["5m", "1d", "30m"]
    )


ENGINE_FUNCTIONS = [
    "label_metrics",
    "position_curve",
    "delay_profile",
    "window_tradeoff",
    "popularity_metrics",
    "hit_rate_by_popularity",
    "trend",
]


class Spy:
    """Wraps the engine functions ``compute`` calls: records the arguments, returns the real
    results. ``calls[name]`` lists ``(args, kwargs)`` per call, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
        for name in ENGINE_FUNCTIONS:
            monkeypatch.setattr(compute_module, name, self._wrap(name, getattr(lw, name)))
        real = lw.Popularity.from_interactions
        spy = self

        class Popularity:
            @staticmethod
            def from_interactions(*args: Any, **kwargs: Any) -> lw.Popularity:
                spy.calls.setdefault("Popularity.from_interactions", []).append((args, kwargs))
                return real(*args, **kwargs)

        monkeypatch.setattr(compute_module, "Popularity", Popularity)

    def _wrap(self, name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.setdefault(name, []).append((args, kwargs))
            return function(*args, **kwargs)

        return call


def test_compute_calls_the_engine_as_the_contract_says(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    labeled = _small_labeled()
    data = compute_report_data(labeled, every="1d", head_share=0.7)
    calls = spy.calls
    assert data.label == "label_1d"  # the largest window, whatever the order given
    assert calls["window_tradeoff"][0][1]["reference"] == "1d"
    first, second = calls["label_metrics"]
    assert first[1] == {
        "label": "label_1d",
        "score": "score",
        "time": "ts",
        "every": "1d",
        "by": None,
    }
    assert second[1]["by"] == ["explored"]  # exploration vs policy
    assert calls["position_curve"][0][1] == {
        "label": "label_1d",
        "position": "position",
        "by": ["explored"],
    }
    pop_args = calls["popularity_metrics"][0][1]
    assert pop_args["list_id"] == "request_id" and pop_args["head_share"] == 0.7
    assert pop_args["every"] == "1d" and pop_args["position"] == "position"
    # without interactions, popularity comes from the positive rows (item and time columns)
    source = calls["Popularity.from_interactions"][0][0][0]
    assert source.column_names == ["item_id", "ts"]
    assert source.num_rows == lw.join_stats(labeled)["labels"]["1d"]["positive"]
    # the trend is measured on every popularity bucket (no reference period given)
    assert calls["trend"][0][0][0].num_rows == data.popularity_metrics.num_rows
    assert data.exploration_metrics is not None and data.trend is not None
    html = render_html(data)
    assert list(sections(html)) == SECTION_NAMES


def test_reference_period_fixes_popularity_and_starts_the_trend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = feedback_loop(days=10, users=100, items=100, exploration=0.2, seed=2, reference_days=3)
    labeled = lw.label_join(
        sim.predictions, sim.feedback, on=["user_id", "item_id"], windows=["1d"]
    )
    spy = Spy(monkeypatch)
    period = (sim.reference_start, sim.retraining_start)
    data = compute_report_data(labeled, interactions=sim.interactions, reference=period)
    source = spy.calls["Popularity.from_interactions"][0][0][0]
    times = source.column("ts").to_pylist()
    assert 0 < len(times) < sim.interactions.num_rows
    assert min(times) >= sim.reference_start and max(times) < sim.retraining_start
    trended = spy.calls["trend"][0][0][0].column("bucket_start").to_pylist()
    assert min(trended) == sim.reference_start
    assert data.popularity_metrics is not None
    assert data.popularity_metrics.num_rows == 10 > len(trended) == 7  # days 3..9
    assert data.reference == period
    assert "shaded reference period" in sections(render_html(data))["popularity"]


def test_compute_refuses_bad_arguments_before_any_work() -> None:
    labeled = _small_labeled()
    with pytest.raises(lw.ConfigError, match=r"^every: "):
        compute_report_data(labeled, every="3 fortnights")
    with pytest.raises(lw.SchemaError, match=r"^by: column 'segment'"):
        compute_report_data(labeled, by="segment")
    with pytest.raises(lw.SchemaError, match=r"^label: column 'label_7d'"):
        compute_report_data(labeled, label="label_7d")
    with pytest.raises(lw.ConfigError, match=r"^reference: "):
        compute_report_data(labeled, reference=(dt.datetime(2024, 2, 1), dt.datetime(2024, 1, 1)))
    with pytest.raises(lw.ConfigError, match=r"^reference: "):
        compute_report_data(labeled, reference=("yesterday", None))


def test_compute_with_the_real_engine_end_to_end(tmp_path: Path) -> None:
    data = compute_report_data(_small_labeled())
    html = render_report(data, tmp_path / "report.html").read_text(encoding="utf-8")
    assert list(sections(html)) == SECTION_NAMES
    for name, body in sections(html).items():
        assert_drawn_svg(body, name)


def test_lw_report_writes_the_report_from_a_table_or_a_path(tmp_path: Path) -> None:
    labeled = _small_labeled()
    path = lw.report(labeled, out=tmp_path / "a" / "report.html", title="mine")
    assert path == tmp_path / "a" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert list(sections(html)) == SECTION_NAMES and "<title>mine</title>" in html
    parquet = tmp_path / "labeled.parquet"
    pq.write_table(labeled, parquet)
    again = lw.report(str(parquet), out=tmp_path / "b.html", title="mine")
    assert again.read_bytes() == path.read_bytes()
    with pytest.raises(lw.InputFileError, match=r"^labeled: no such file"):
        lw.report(tmp_path / "missing.parquet", out=tmp_path / "c.html")
    with pytest.raises(lw.SchemaError, match=r"^labeled: expected a pyarrow Table"):
        lw.report(42, out=tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


GOOD_DURATIONS = ["90s", "30m", "1h30m", "7d", "250ms", "1w", "1us", "1µs", " 5m ", "1 h", "0s"]
BAD_DURATIONS = ["", "-5m", "5", "m", "1mo", "2y", "3x", "1.5h", "3 fortnights", "1h 30"]
BAD_DURATIONS += ["99999999999999d", "\u0661\u0662m"]  # the last: Arabic-Indic digits


@pytest.mark.parametrize("text", GOOD_DURATIONS + BAD_DURATIONS)
def test_duration_reader_agrees_with_the_engine(text: str) -> None:
    probe = pa.table({"k": [0], "ts": pa.array([0], pa.timestamp("ns"))})
    try:
        lw.label_join(probe, probe, on="k", windows=[text])
        engine_ok = True
    except lw.ConfigError:
        engine_ok = False
    try:
        duration_nanos(text, "every")
        ours_ok = True
    except lw.ConfigError as exc:
        assert str(exc).startswith("every: ")
        ours_ok = False
    assert ours_ok == engine_ok
    assert ours_ok == (text in GOOD_DURATIONS)
