"""Labeling: labeling functions, their analysis, vote aggregation, agreement and label errors.

- :mod:`utils.labeling.lf`: ``labeling_function``, ``apply_lfs``, ``ABSTAIN``.
- :mod:`utils.labeling.analysis`: ``lf_summary`` and coverage, overlap and conflict measures.
- :mod:`utils.labeling.aggregate`: ``majority_vote``, ``DawidSkeneLabelModel``.
- :mod:`utils.labeling.agreement`: Cohen's and Fleiss' kappa, Krippendorff's alpha.
- :mod:`utils.labeling.label_errors`: ``find_label_issues`` (confident learning).

Names are imported lazily from their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("lf", "analysis", "aggregate", "agreement", "label_errors")


def __getattr__(name: str) -> Any:
    """Resolve ``utils.labeling.NAME`` from the sub-module whose ``__all__`` lists it."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    for sub in _SUBMODULES:
        try:
            module = importlib.import_module(f"{__name__}.{sub}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{sub}":
                continue  # that part of the package is not installed
            raise
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
