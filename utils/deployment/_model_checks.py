"""What the deployment patterns ask of a model, and how they check its answer.

Anything with a ``predict_proba(X)`` method is a model (the
:class:`~utils.deployment.serving.predictors.Predictor` protocol). The patterns of
:mod:`utils.deployment.patterns` and :mod:`utils.deployment.shadow` check the models they are
given with :func:`check_model`, and every answer with :func:`checked_probabilities`, as the
server checks it, so that a model bug never passes on as an answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from utils._validation import check_probabilities


def check_model(model: Any, name: str) -> None:
    """Refuse ``model`` (``TypeError`` naming ``name``) unless it has a ``predict_proba`` method."""
    if not callable(getattr(model, "predict_proba", None)):
        raise TypeError(f"{name} must have a predict_proba(X) method, got {type(model).__name__}")


def checked_probabilities(model: Any, X: Any, name: str) -> npt.NDArray[np.float64]:
    """``model.predict_proba(X)``, checked as the server checks it: one row per input, finite,
    in [0, 1], rows summing to 1. A model bug must not pass on as an answer."""
    out = model.predict_proba(X)
    try:
        p = check_probabilities(out, "the output")
    except ValueError as exc:
        raise ValueError(f"{name} returned invalid probabilities: {exc}") from None
    if hasattr(X, "__len__") and len(p) != len(X):
        raise ValueError(f"{name} returned {len(p)} rows of probabilities for {len(X)} inputs")
    return p
