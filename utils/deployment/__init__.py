"""Deployment: serving a model over HTTP, deployment patterns, monitoring and drift.

- :mod:`utils.deployment.serving`: ``create_app`` (FastAPI), ``serve_in_background``, and
  ``load_model`` with the ``Predictor`` protocol (module ``serving.predictors``, which, like
  ``patterns``, imports no web framework).
- :mod:`utils.deployment.client`: a small HTTP client with time-outs and clear errors.
- :mod:`utils.deployment.patterns`: ``CanaryRollout``, ``ShadowDeployment``, ``BlueGreen``.
- :mod:`utils.deployment.monitoring`: ``ReferenceProfile``, ``drift_report``, latency and alerts.

Names are imported lazily from their module on first use, so monitoring never imports FastAPI.
"""

from __future__ import annotations

from utils._lazy import lazy_getattr

_SUBMODULES = ("patterns", "monitoring", "serving", "client")

__getattr__ = lazy_getattr(__name__, _SUBMODULES)
