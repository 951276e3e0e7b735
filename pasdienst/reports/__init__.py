"""Reports for the municipality: how many children the kindpakket reached.

``usage.usage_report(session, code, year)`` computes the usage report (issue
6) with a handful of GROUP BY queries; ``UsageReport.published()`` is the
only form that leaves the package (API, page, CSV): counts of fewer than
five children become ``"<5"`` there, and so do counts that would give one
away (see ``usage.py`` for exactly which fields). ``charts.py`` draws the page's charts as plain SVG on the server.
"""
from .usage import SUPPRESSED, UsageReport, report_years, usage_report, usage_table

__all__ = ["SUPPRESSED", "UsageReport", "report_years", "usage_report", "usage_table"]
