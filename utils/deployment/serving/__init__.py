"""Serve a classifier over HTTP with FastAPI: validated inputs, fast inference, clean errors.

Introduced in labs/w1_deploy_a_model.ipynb (the week-1 lab) and used again by the final project
(project/05_deployment.ipynb and project/06_monitoring.ipynb), which serves a scikit-learn
pipeline that classifies comments. One module per idea, in the order a request meets them:

- ``predictors``: what a model is (the :class:`Predictor` protocol), :func:`load_model` and
  :func:`as_predictor`. It needs no web stack, so loading a model never imports FastAPI.
- ``validation``: the checks of every input (:func:`validate_inputs`, :func:`validate_texts`,
  :func:`decode_image`), pure functions that raise :class:`InputError`.
- ``schemas``: the request and response bodies (pydantic models).
- ``config``: the options of :func:`create_app`, checked once.
- ``guard``: what stands between a request and the model: body size, pace and content type,
  the latency window of ``GET /metrics.json``, and the model's runner (micro-batching, time-out).
- ``metrics``: the Prometheus metrics of ``GET /metrics``, in a registry per app.
- ``routes``: the status routes (``/health``, ``/ready``, ``/metadata``, ``/metrics``) and the
  prediction routes, each step of a prediction a method.
- ``app``: :func:`create_app`, which assembles the app, and the HTTP answer to every failure.
- ``background``: :func:`serve_in_background`, :class:`ServerHandle` and :func:`free_port`.

Every public name is importable from here, as it was when this package was one module
(``from utils.deployment.serving import create_app``). Names are imported from their module on
first use, so ``import utils.deployment.serving.predictors`` does not import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils._lazy import lazy_getattr

if TYPE_CHECKING:
    from utils.deployment.serving.app import create_app
    from utils.deployment.serving.background import ServerHandle, free_port, serve_in_background
    from utils.deployment.serving.predictors import (
        KerasPredictor,
        Predictor,
        SklearnPredictor,
        as_predictor,
        load_model,
    )
    from utils.deployment.serving.validation import (
        InputError,
        decode_image,
        validate_inputs,
        validate_texts,
    )

__all__ = [
    "InputError",
    "KerasPredictor",
    "Predictor",
    "ServerHandle",
    "SklearnPredictor",
    "as_predictor",
    "create_app",
    "decode_image",
    "free_port",
    "load_model",
    "serve_in_background",
    "validate_inputs",
    "validate_texts",
]

#: The modules, lightest first: a name is looked up in them in this order.
_SUBMODULES = ("predictors", "validation", "background", "schemas", "config", "guard", "app")

__getattr__ = lazy_getattr(__name__, _SUBMODULES)


def __dir__() -> list[str]:
    """The public names too, before their modules are imported (for ``dir()`` and autodoc)."""
    return sorted({*globals(), *__all__})
