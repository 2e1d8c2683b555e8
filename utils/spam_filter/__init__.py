"""The final project: a YouTube comment spam filter taken through every stage of the lifecycle.

Introduced in project/index.md. The notebooks of ``project/`` call the general helpers of
``utils`` for every step; what is specific to this one problem lives here, so that every
page of the project (and the closing summary) uses the same data, rules, tags and model.

- :mod:`utils.spam_filter.data`: development and production videos, splits, the gold labels.
- :mod:`utils.spam_filter.rules`: the labeling functions and their majority vote.
- :mod:`utils.spam_filter.features`: measurements and tags of a comment (error analysis, drift).
- :mod:`utils.spam_filter.model`: the model pipeline and tracked tuning.
- :mod:`utils.spam_filter.versions`: the training labels of each version, and its training.
- :mod:`utils.spam_filter.spec`: the targets set by the scoping document.

Names are imported lazily from their module on first use.
"""

from __future__ import annotations

from utils._lazy import lazy_getattr

_SUBMODULES = ("data", "rules", "features", "model", "versions", "spec")

__getattr__ = lazy_getattr(__name__, _SUBMODULES)
