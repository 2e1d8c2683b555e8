"""The model server's configuration: every option of ``create_app``, checked once, in one record.

:func:`make_config` checks the options of :func:`utils.deployment.serving.create_app` and
completes them from the model (its input shape and class names, when it knows them) into a
frozen :class:`ServerConfig`, which the app, its guard and ``GET /metadata`` read. A bad option
is refused with a ValueError or TypeError that names it, before anything is served; the command
line (``python -m utils.deployment serve``) turns that name back into its option.

Two limits on rows are easy to confuse, so their names say which is which:
``max_request_rows`` is the most examples one request may carry (more is a 422), and
``micro_batch_rows`` the number of rows at which the micro-batcher stops merging concurrent
requests into one model call (module ``utils.deployment.serving.guard``).

Used by labs/w1_deploy_a_model.ipynb (``/metadata`` and the limits of the bad-request
experiments) and by project/05_deployment.ipynb (a text model; ``batch_wait_ms`` makes the slow
canary).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from utils._validation import check_bool, check_int, check_number
from utils.deployment.inference import DEFAULT_INFERENCE_TIMEOUT, check_timeout
from utils.deployment.serving.predictors import _check_shape, _is_text
from utils.deployment.serving.validation import _accepts_images

__all__ = ["ServerConfig", "make_config"]


@dataclass(frozen=True)
class ServerConfig:
    """The checked options of one server (see :func:`utils.deployment.serving.create_app`)."""

    model_name: str
    model_version: str
    framework: str
    input_type: Literal["numbers", "text"]
    input_shape: tuple[int, ...] | None  # None for text
    class_names: tuple[str, ...]
    max_request_rows: int
    max_body_bytes: int
    max_text_chars: int  # used for text only
    value_range: tuple[float, float] | None
    micro_batching: bool
    micro_batch_rows: int
    batch_wait_ms: float
    max_image_pixels: int
    inference_timeout: float | None = DEFAULT_INFERENCE_TIMEOUT
    body_timeout: float = 10.0
    accepts_images: bool = field(init=False)

    def __post_init__(self) -> None:
        images = self.input_shape is not None and _accepts_images(self.input_shape)
        object.__setattr__(self, "accepts_images", images)


def make_config(
    predictor: Any,
    *,
    model_name: str,
    model_version: str,
    input_type: str,
    input_shape: Sequence[int] | None,
    class_names: Sequence[str] | None,
    max_request_rows: int,
    max_body_bytes: int,
    max_text_chars: int,
    value_range: tuple[float, float] | None,
    micro_batching: bool,
    micro_batch_rows: int,
    batch_wait_ms: float,
    max_image_pixels: int,
    inference_timeout: float | None,
    body_timeout: float,
) -> ServerConfig:
    """Check ``create_app``'s options for ``predictor`` and return them as a ServerConfig."""
    for name, label in (("model_name", model_name), ("model_version", model_version)):
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{name} must be a non-empty string, got {label!r}")
    text = _is_text(input_type)
    shape = None if text else _resolve_shape(predictor, input_shape)
    names = _resolve_class_names(predictor, class_names)
    limits = {
        "max_request_rows": max_request_rows,
        "max_body_bytes": max_body_bytes,
        "max_text_chars": max_text_chars,
        "micro_batch_rows": micro_batch_rows,
        "max_image_pixels": max_image_pixels,
    }
    for name, value in limits.items():
        check_int(name, value, min=1)
    wait = check_timeout(body_timeout, "body_timeout")
    if wait is None:
        raise ValueError("body_timeout must be a positive number of seconds, got None")
    return ServerConfig(
        model_name=model_name,
        model_version=model_version,
        framework=getattr(predictor, "framework", type(predictor).__name__),
        input_type="text" if text else "numbers",
        input_shape=shape,
        class_names=names,
        max_request_rows=max_request_rows,
        max_body_bytes=max_body_bytes,
        max_text_chars=max_text_chars,
        value_range=_check_range(value_range),
        micro_batching=check_bool("micro_batching", micro_batching),
        micro_batch_rows=micro_batch_rows,
        batch_wait_ms=check_number("batch_wait_ms", batch_wait_ms, min=0.0, max=1000.0),
        max_image_pixels=max_image_pixels,
        inference_timeout=check_timeout(inference_timeout),
        body_timeout=wait,
    )


def check_input_options(
    input_type: str, *, input_shape: Sequence[int] | None, value_range: tuple[float, float] | None
) -> None:
    """Refuse options of numeric inputs given together with ``input_type="text"``."""
    if not _is_text(input_type):
        return
    for name, value in (("input_shape", input_shape), ("value_range", value_range)):
        if value is not None:
            raise ValueError(
                f"{name} does not apply to input_type='text' (one example is one "
                f"string); got {name}={value!r}"
            )


def _resolve_shape(predictor: Any, input_shape: Sequence[int] | None) -> tuple[int, ...]:
    shape = input_shape if input_shape is not None else getattr(predictor, "input_shape", None)
    if shape is None:
        raise ValueError("input_shape is required: the model does not say what one example is")
    return _check_shape(shape)


def _resolve_class_names(predictor: Any, class_names: Sequence[str] | None) -> tuple[str, ...]:
    n_classes = getattr(predictor, "n_classes", None)
    if class_names is None:
        known = getattr(predictor, "classes", None)
        if known is not None:
            class_names = known
        elif n_classes is not None:
            class_names = [f"class_{i}" for i in range(n_classes)]
        else:
            raise ValueError("class_names is required: the model does not name its classes")
    names = tuple(class_names)
    if len(names) < 2 or not all(isinstance(c, str) and c for c in names):
        raise ValueError(f"class_names must be at least 2 non-empty strings, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names must be unique, got {names!r}")
    if n_classes is not None and len(names) != n_classes:
        raise ValueError(
            f"class_names has {len(names)} names but the model has {n_classes} classes"
        )
    return names


def _check_range(value_range: tuple[float, float] | None) -> tuple[float, float] | None:
    if value_range is None:
        return None
    lo, hi = (float(v) for v in value_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    return lo, hi
