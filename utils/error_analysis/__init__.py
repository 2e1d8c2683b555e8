"""Error analysis: metrics by slice and tag, prioritisation, skewed data, audits and splits.

Introduced in week2/03_error_analysis.ipynb and week2/04_skewed_data.ipynb, used in
labs/w2_journey_through_data.ipynb.

- :mod:`utils.error_analysis.slices`: ``metrics_by_slice``, ``find_problem_slices``.
- :mod:`utils.error_analysis.prioritize`: ``prioritization_table``.
- :mod:`utils.error_analysis.skewed`: ``binary_report``, ``per_class_report``,
  ``confusion_frame``, ``pr_curve``, ``threshold_for``.
- :mod:`utils.error_analysis.audit`: ``performance_audit``, ``wilson_interval``.
- :mod:`utils.error_analysis.splits`: ``stratified_split``.
"""

from __future__ import annotations

from utils.error_analysis.audit import AuditResult, performance_audit, wilson_interval
from utils.error_analysis.prioritize import prioritization_table
from utils.error_analysis.skewed import (
    BinaryReport,
    binary_report,
    confusion_frame,
    per_class_report,
    pr_curve,
    threshold_for,
)
from utils.error_analysis.slices import OVERALL, find_problem_slices, metrics_by_slice
from utils.error_analysis.splits import stratified_split

__all__ = [
    "OVERALL",
    "AuditResult",
    "BinaryReport",
    "binary_report",
    "confusion_frame",
    "find_problem_slices",
    "metrics_by_slice",
    "per_class_report",
    "performance_audit",
    "pr_curve",
    "prioritization_table",
    "stratified_split",
    "threshold_for",
    "wilson_interval",
]
