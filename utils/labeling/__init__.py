"""Labeling: labeling functions, their analysis, vote aggregation, agreement and label errors.

- :mod:`utils.labeling.lf`: ``labeling_function``, ``apply_lfs``, ``ABSTAIN``.
- :mod:`utils.labeling.analysis`: ``lf_summary`` and coverage, overlap and conflict measures.
- :mod:`utils.labeling.aggregate`: ``majority_vote``, ``DawidSkeneLabelModel``.
- :mod:`utils.labeling.dependencies`: ``lf_dependencies``, the rules that depend on each other.
- :mod:`utils.labeling.agreement`: Cohen's and Fleiss' kappa, Krippendorff's alpha.
- :mod:`utils.labeling.report`: ``agreement_report``, every agreement view of a round at once.
- :mod:`utils.labeling.label_errors`: ``find_label_issues`` (confident learning).

Names are imported lazily from their module on first use.
"""

from __future__ import annotations

from utils._lazy import lazy_getattr

_SUBMODULES = (
    "lf",
    "analysis",
    "aggregate",
    "dependencies",
    "agreement",
    "report",
    "label_errors",
)

__getattr__ = lazy_getattr(__name__, _SUBMODULES)
