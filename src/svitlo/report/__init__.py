"""Reports of a timeline for people: one self-contained, offline HTML file (:func:`write_report`)."""

from svitlo.report.html import render_report, write_report

__all__ = ["write_report", "render_report"]
