"""Helpers for *ML in Production, the executable companion*.

Every notebook of the book starts with::

    import utils
    utils.setup()

The sub-packages follow the course:

- :mod:`utils.data`: the real data sets (Fashion-MNIST, YouTube Spam Collection), verified.
- :mod:`utils.deployment`: serving a model over HTTP, deployment patterns, monitoring and drift.
- :mod:`utils.error_analysis`: slices, tags, prioritisation, skewed-data metrics, audits, splits.
- :mod:`utils.labeling`: labeling functions, their analysis, vote aggregation, agreement, label errors.
- :mod:`utils.pipeline`, :mod:`utils.lineage`, :mod:`utils.tracking`: replicable pre-processing,
  provenance and lineage records, experiment tracking.

Sub-packages are imported lazily, so ``import utils`` is cheap and never imports TensorFlow or
NumPy. It does one thing more: it caps the numerical libraries' kernels at AVX2 on x86-64
(:func:`utils._setup.apply_portable_numerics`), before they load, so that a notebook whose first
line is ``import utils`` prints the book's digits on any processor, in JupyterLab as in the tests.
"""

from __future__ import annotations

import importlib
from typing import Any

from utils._setup import apply_portable_numerics, setup

apply_portable_numerics()

__version__ = "0.1.0"
__all__ = ["__version__", "setup"]

_SUBMODULES = {
    "data",
    "deployment",
    "error_analysis",
    "labeling",
    "lineage",
    "pipeline",
    "quiz",
    "spam_filter",
    "tracking",
}


def __getattr__(name: str) -> Any:
    """Import a sub-package on first use (``utils.data`` without ``import utils.data``)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"utils.{name}")
    raise AttributeError(f"module 'utils' has no attribute {name!r}")
