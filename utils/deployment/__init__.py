"""Deployment: serving a model over HTTP, deployment patterns, monitoring and drift.

- :mod:`utils.deployment.serving`: ``create_app`` (FastAPI), ``load_model``.
- :mod:`utils.deployment.client`: a small HTTP client with time-outs and clear errors.
- :mod:`utils.deployment.patterns`: ``CanaryRollout``, ``ShadowDeployment``, ``BlueGreen``.
- :mod:`utils.deployment.monitoring`: ``ReferenceProfile``, ``drift_report``, latency and alerts.

Names are imported lazily from their module on first use, so monitoring never imports FastAPI.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("patterns", "monitoring", "serving", "client")


def __getattr__(name: str) -> Any:
    """Resolve ``utils.deployment.NAME`` from the sub-module whose ``__all__`` lists it."""
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
