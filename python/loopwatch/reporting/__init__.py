"""The HTML report: metric tables in (``ReportData``), one self-contained HTML file out.

``compute_report_data(labeled, ...)`` computes the tables with the engine's metric functions;
``render_report(data, out)`` draws them (matplotlib, inline SVG) into one file that opens
offline. ``SECTION_NAMES`` lists the chart sections in page order.
"""

from __future__ import annotations

from .compute import compute_report_data, reference_window
from .data import DelayData, HitRateData, ReportData, TrendData
from .html import SECTION_NAMES, render_html, render_report

__all__ = [
    "SECTION_NAMES",
    "DelayData",
    "HitRateData",
    "ReportData",
    "TrendData",
    "compute_report_data",
    "reference_window",
    "render_html",
    "render_report",
]
