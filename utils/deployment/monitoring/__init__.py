"""Monitoring a deployed model: drift of inputs and outputs, latency, alerts.

Introduced in week1/04_monitoring.ipynb (drift in week1/02_key_challenges.ipynb) and used in
project/06_monitoring.ipynb. One module per idea; every public name is importable from here:

- ``utils.deployment.monitoring.profile``: :class:`ReferenceProfile` (and its
  :class:`ColumnProfile` per column), the reference fitted once and stored as JSON.
- ``utils.deployment.monitoring.statistics``: the drift statistics (Kolmogorov-Smirnov,
  Wasserstein, PSI, Jensen-Shannon, chi-square), private: the pages reach them through
  :func:`drift_report`.
- ``utils.deployment.monitoring.drift``: :func:`drift_report`, :class:`DriftReport` and
  :func:`prediction_drift`.
- ``utils.deployment.monitoring.alerts``: :class:`AlertRule`, :func:`evaluate_alerts` and
  :func:`reference_thresholds`.
- ``utils.deployment.monitoring.latency``: :class:`LatencyTracker`.

The design follows the anchors' lessons (see the book's design notes):

- **Fit the reference once.** :meth:`ReferenceProfile.fit` stores, per column, the bins and their
  counts, the category counts, a sorted sample and summary statistics. A production window is
  then scored against the profile, never against the raw training data.
- **Tests chosen by column type and size**, with the rule written into the report, and **two
  drift rules named after their direction**: a test flags a column whose p-value is below
  ``p_value_below``, a distance one whose value is above ``distance_above``.
- **Effect size and p-value side by side**: with a million rows a test flags shifts too small to
  matter, while a distance threshold ignores them. Every row of the report shows both.
- **Undefined is explicit**: a column with no values on one side gets NaN and a reason.
"""

from __future__ import annotations

from utils.deployment.monitoring.alerts import AlertRule, evaluate_alerts, reference_thresholds
from utils.deployment.monitoring.drift import (
    DriftMethod,
    DriftReport,
    drift_report,
    prediction_drift,
)
from utils.deployment.monitoring.latency import LatencyTracker
from utils.deployment.monitoring.profile import ColumnProfile, ReferenceProfile

__all__ = [
    "AlertRule",
    "ColumnProfile",
    "DriftMethod",
    "DriftReport",
    "LatencyTracker",
    "ReferenceProfile",
    "drift_report",
    "evaluate_alerts",
    "prediction_drift",
    "reference_thresholds",
]
