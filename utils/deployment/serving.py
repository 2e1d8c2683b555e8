"""Serve a classifier over HTTP with FastAPI: validated inputs, fast inference, clean errors.

Introduced in labs/w1_deploy_a_model.ipynb (the week-1 lab) and used again by the notes on
deployment patterns and monitoring. Introduced for text in the final project
(project/05_deployment.ipynb), which serves a scikit-learn pipeline that classifies comments.

The pieces:

- :func:`load_model` reads a saved model (``.keras`` through Keras' safe mode, ``.joblib`` or
  ``.pkl`` for scikit-learn) and returns a *predictor*: an object with
  ``predict_proba(X) -> (n, k)`` probabilities. :func:`as_predictor` wraps an in-memory model.
- :func:`create_app` builds the FastAPI application: ``GET /health`` (liveness), ``GET /ready``
  (readiness), ``GET /metadata``, ``GET /metrics``, ``POST /predict`` (JSON) and
  ``POST /predict/image`` (PNG/JPEG upload), with its ``/docs`` served from packaged files
  (module ``utils.deployment.docs_offline``). Every input is checked before the model sees it;
  every client mistake is answered with a 4xx status and a JSON ``detail`` that names the
  field and the problem. Each request waits for the model at most ``inference_timeout``
  seconds (504 after it; 503 while the model is stuck: module ``utils.deployment.inference``).
- Two kinds of input: ``input_type="numbers"`` (the default) takes examples of a fixed
  ``input_shape`` as nested numbers (images, feature vectors), checked by
  :func:`validate_inputs`; ``input_type="text"`` takes one string or a list of strings, checked
  by :func:`validate_texts`, and has no image route.
- :func:`serve_in_background` runs an app on 127.0.0.1 and a free port in a thread, so that a
  notebook keeps working while the server answers; ``python -m utils.deployment serve`` runs the
  same app from the command line. Both drop slow and idle clients
  (module ``utils.deployment.connections``).

Error responses all have the shape FastAPI uses for validation errors::

    {"detail": [{"loc": ["body", "inputs"], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import math
import os
import socket
import sys
import threading
import time
import zipfile
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from utils._validation import as_finite_float
from utils.deployment.connections import ConnectionLimits, bind_socket
from utils.deployment.docs_offline import install_offline_docs
from utils.deployment.inference import (
    DEFAULT_INFERENCE_TIMEOUT,
    ModelRunner,
    ModelUnavailable,
    _MicroBatcher,  # noqa: F401  (its old import path)
    check_timeout,
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

logger = logging.getLogger(__name__)

#: Content types the image route accepts (checked on the upload and on the decoded bytes).
IMAGE_TYPES: dict[str, str] = {"image/png": "PNG", "image/jpeg": "JPEG"}

#: The kinds of input ``create_app`` serves: nested numbers of a fixed shape, or strings.
INPUT_TYPES: tuple[str, ...] = ("numbers", "text")


def _is_text(input_type: str) -> bool:
    """Check ``input_type`` and say whether it is ``"text"``."""
    if input_type not in INPUT_TYPES:
        raise ValueError(f"input_type must be 'numbers' or 'text', got {input_type!r}")
    return input_type == "text"


def _keras_text_error() -> TypeError:
    return TypeError(
        "Keras models are not supported with input_type='text': serve a scikit-learn pipeline "
        "(or any object whose predict_proba takes a list of strings), or turn the text into "
        "numbers before the request and serve those"
    )


# --------------------------------------------------------------------------------------------
# Predictors
# --------------------------------------------------------------------------------------------
@runtime_checkable
class Predictor(Protocol):
    """Anything with ``predict_proba(X) -> (n, k)`` class probabilities."""

    def predict_proba(self, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]: ...


class KerasPredictor:
    """A Keras classifier behind ``predict_proba``, called the fast way.

    Keras' ``model.predict`` builds a data pipeline and a progress loop on every call: right for
    a million examples, about a hundred times too slow for one. This wrapper compiles the forward
    pass once (``tf.function`` with a fixed input signature) and calls it directly, which costs
    well under a millisecond for a small CNN. A model with one sigmoid output is turned into two
    columns ``[1 - p, p]``.

    Used by :func:`load_model` for a ``.keras`` file (labs/w1_deploy_a_model.ipynb).
    """

    framework = "keras"

    def __init__(self, model: Any) -> None:
        inputs = getattr(model, "inputs", None)
        if not inputs or len(inputs) != 1:
            raise ValueError("model must be a built Keras model with exactly one input")
        shape = tuple(model.inputs[0].shape[1:])
        if any(d is None for d in shape):
            raise ValueError(f"model input shape {shape} has unknown dimensions; fix them")
        self.model = model
        self.input_shape: tuple[int, ...] = tuple(int(d) for d in shape)
        out = tuple(model.outputs[0].shape[1:])
        if len(out) != 1 or out[0] is None:
            raise ValueError(f"model output must be (n, k) class scores, got (n, *{out})")
        self.n_classes: int = max(2, int(out[0]))
        self._dtype = np.dtype(str(getattr(model.inputs[0], "dtype", "float32")))
        self._call = self._compile(model)

    def _compile(self, model: Any) -> Callable[[np.ndarray], Any]:
        import keras

        if keras.backend.backend() != "tensorflow":
            return lambda x: keras.ops.convert_to_numpy(model(x, training=False))
        import tensorflow as tf

        spec = tf.TensorSpec((None, *self.input_shape), tf.as_dtype(self._dtype))
        forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        concrete = forward.get_concrete_function()
        return lambda x: concrete(tf.constant(x)).numpy()

    def predict_proba(self, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Return (n, k) probabilities for a batch shaped ``(n, *input_shape)``."""
        x = np.asarray(X, dtype=self._dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"X must have shape (n, *{self.input_shape}), got {x.shape}")
        p = np.asarray(self._call(x), dtype=np.float64)
        if p.ndim == 2 and p.shape[1] == 1:
            p = np.hstack([1.0 - p, p])
        return p


class SklearnPredictor:
    """A scikit-learn classifier (or pipeline) behind ``predict_proba``.

    Inputs are flattened to ``(n, n_features)``, so a model trained on flattened 28x28 images
    can be served with ``input_shape=(28, 28)`` and receive images. With ``text=True`` the
    estimator is a text pipeline (for example a ``TfidfVectorizer`` and a classifier): its
    inputs are passed on unchanged, as a 1-D object array of strings, and it has no
    ``input_shape``.

    Used by :func:`as_predictor`, which :func:`load_model` and :func:`create_app` call. The
    book's pages serve only text pipelines with it (``text=True``): the final project's, through
    :func:`utils.spam_filter.model.filter_app` (project/05_deployment.ipynb and
    project/06_monitoring.ipynb).
    """

    framework = "scikit-learn"

    def __init__(self, estimator: Any, input_shape: Sequence[int] | None = None, *,
                 text: bool = False) -> None:
        if not callable(getattr(estimator, "predict_proba", None)):
            raise TypeError(
                f"estimator must have a predict_proba method; {type(estimator).__name__} has none"
            )
        if text and input_shape is not None:
            raise ValueError(f"input_shape does not apply to a text model (one example is one "
                             f"string); got input_shape={input_shape!r} with text=True")
        self.estimator = estimator
        self.text = bool(text)
        n = getattr(estimator, "n_features_in_", None)
        if input_shape is not None:
            self.input_shape: tuple[int, ...] | None = _check_shape(input_shape)
        else:
            self.input_shape = (int(n),) if n is not None and not text else None
        classes = getattr(estimator, "classes_", None)
        self.classes: tuple[str, ...] | None = (
            tuple(str(c) for c in classes) if classes is not None else None
        )
        self.n_classes: int | None = len(self.classes) if self.classes is not None else None

    def predict_proba(self, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Return (n, k) probabilities; ``X`` is flattened to one row per example.

        A text model receives ``X`` as a 1-D object array of strings instead.
        """
        if self.text:
            x = np.asarray(X, dtype=object)
            if x.ndim != 1:
                raise ValueError(f"X must be a 1-D sequence of strings, got shape {x.shape}")
        else:
            x = np.asarray(X, dtype=np.float64)
            x = x.reshape(len(x), -1)
        return np.asarray(self.estimator.predict_proba(x), dtype=np.float64)


def as_predictor(model: Any, input_shape: Sequence[int] | None = None, *,
                 input_type: Literal["numbers", "text"] = "numbers") -> Any:
    """Wrap ``model`` so that it answers ``predict_proba`` with (n, k) probabilities.

    Keras models become :class:`KerasPredictor`, scikit-learn estimators :class:`SklearnPredictor`;
    any other object with ``predict_proba`` is used as it is.

    Args:
        model: the model to wrap.
        input_shape: shape of one example, for a scikit-learn model of numbers.
        input_type: ``"text"`` for a model whose ``predict_proba`` takes strings: a
            scikit-learn estimator is wrapped with ``text=True`` (a :class:`SklearnPredictor`
            made for the other input type is wrapped again around its estimator); a Keras model
            is refused with a TypeError.

    Used by :func:`create_app` (labs/w1_deploy_a_model.ipynb) and by :func:`load_model` for a
    ``.joblib`` or ``.pkl`` file; ``input_type="text"`` in the final project, through
    :func:`utils.spam_filter.model.filter_app` (project/05_deployment.ipynb and
    project/06_monitoring.ipynb).
    """
    text = _is_text(input_type)
    keras = sys.modules.get("keras")
    if isinstance(model, KerasPredictor) or (keras is not None and isinstance(model, keras.Model)):
        if text:
            raise _keras_text_error()
        return model if isinstance(model, KerasPredictor) else KerasPredictor(model)
    if isinstance(model, SklearnPredictor):
        if model.text == text:
            return model
        return SklearnPredictor(model.estimator, input_shape, text=text)
    if hasattr(model, "fit") and callable(getattr(model, "predict_proba", None)):
        return SklearnPredictor(model, input_shape, text=text)
    if callable(getattr(model, "predict_proba", None)):
        return model
    raise TypeError(
        f"model must be a Keras model or have a predict_proba method; got {type(model).__name__}"
    )


def load_model(path: str | os.PathLike[str], *,
               input_type: Literal["numbers", "text"] = "numbers") -> Any:
    """Load a saved classifier and return it as a predictor (see :func:`as_predictor`).

    - ``.keras``: read with ``keras.saving.load_model(path, safe_mode=True, compile=False)``.
      Safe mode refuses files that would run arbitrary Python code (``Lambda`` layers).
    - ``.joblib`` / ``.pkl``: a scikit-learn estimator read with :mod:`joblib`. Pickle files can
      run code when loaded: only load files you made or trust.

    ``input_type="text"`` loads a text pipeline (a ``.joblib`` or ``.pkl`` file) whose
    ``predict_proba`` takes strings; a ``.keras`` file is then refused with a TypeError.
    A file written by :func:`utils.pipeline.save_pipeline` is replayed on its probe set first,
    and refused with :class:`utils.pipeline.ReplayMismatchError` if its outputs changed, so a
    server never starts with a pipeline that no longer computes what it was saved with.
    A truncated or corrupt file is refused with a ValueError that names it.

    Introduced in labs/w1_deploy_a_model.ipynb; ``input_type`` in the final project
    (project/05_deployment.ipynb).
    """
    text = _is_text(input_type)
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path {str(path)!r} is not a file")
    suffix = p.suffix.lower()
    if suffix == ".keras":
        if text:
            raise _keras_text_error()
        return KerasPredictor(_read_keras(p))
    if suffix in (".joblib", ".pkl"):
        obj = _read_joblib(p)
        from utils.pipeline import is_saved_pipeline, replay

        if is_saved_pipeline(obj):  # written by utils.pipeline.save_pipeline: check it first
            obj = replay(obj, name=p.name)
        return as_predictor(obj, input_type=input_type)
    if suffix in (".h5", ".hdf5"):
        raise ValueError(f"path {p.name!r}: legacy HDF5 files are not served; re-save as .keras")
    raise ValueError(f"path {p.name!r}: expected a .keras, .joblib or .pkl file")


def _read_keras(p: Path) -> Any:
    """The Keras model in ``p``; ValueError naming the file if it is damaged or refused."""
    try:
        with zipfile.ZipFile(p) as archive:  # a .keras file is a zip archive: check it whole
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"model file {str(p)!r} is truncated or corrupt: it is not a complete "
                         f".keras archive ({exc})") from None
    if damaged is not None:
        raise ValueError(f"model file {str(p)!r} is corrupt: its member {damaged!r} fails "
                         "its checksum") from None
    import keras

    try:
        return keras.saving.load_model(p, safe_mode=True, compile=False)
    except Exception as exc:
        raise ValueError(f"model file {str(p)!r} could not be loaded: {exc}") from exc


def _read_joblib(p: Path) -> Any:
    """The object pickled in ``p``; ValueError naming the file if it cannot be read."""
    import joblib

    try:
        return joblib.load(p)
    except ImportError as exc:  # ModuleNotFoundError too: written with other libraries
        raise ValueError(f"model file {str(p)!r} needs a module that cannot be imported here "
                         f"({exc}); was it saved with other library versions?") from exc
    except Exception as exc:  # a cut-off pickle raises EOFError, UnpicklingError, KeyError...
        raise ValueError(f"model file {str(p)!r} is truncated or corrupt: it could not be "
                         f"unpickled ({type(exc).__name__}: {exc})") from None


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a sequence of positive ints, got {shape!r}") from None
    if not out or any(d <= 0 for d in out):
        raise ValueError(f"input_shape must be a non-empty sequence of positive ints, got {out}")
    return out


# --------------------------------------------------------------------------------------------
# Request and response bodies
# --------------------------------------------------------------------------------------------
class PredictRequest(BaseModel):
    """Body of ``POST /predict``: one example, or a list of examples, as nested numbers."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[Any] = Field(
        ...,
        description="One example shaped like input_shape (see /metadata), or a list of them.",
    )


class TextPredictRequest(PredictRequest):
    """Body of ``POST /predict`` for a text model: one string, or a list of strings.

    Any JSON value is accepted here, so that the server can say precisely what is wrong with
    a bad one.
    """

    inputs: Annotated[Any, WithJsonSchema({
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    })] = Field(..., description="One text, or a list of texts (see max_text_chars in /metadata).")


MinConfidence = Annotated[float, Query(
    ge=0.0, le=1.0,
    description="Withhold predictions whose confidence (top probability) is below this.",
)]


class Prediction(BaseModel):
    """The answer for one example. A withheld prediction has ``label = None`` and a reason."""

    label: str | None
    class_index: int | None
    confidence: float
    withheld: bool
    reason: str | None = None
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    """Body of a successful prediction."""

    model_name: str
    model_version: str
    min_confidence: float
    n_withheld: int
    predictions: list[Prediction]
    notes: list[str] = Field(default_factory=list)


class Metadata(BaseModel):
    """What a client needs to know to call the model."""

    model_name: str
    model_version: str
    framework: str
    input_type: Literal["numbers", "text"]
    input_shape: list[int] | None
    class_names: list[str]
    accepts_images: bool
    image_types: list[str]
    max_batch_rows: int
    max_body_bytes: int
    max_text_chars: int | None
    value_range: list[float] | None
    micro_batching: bool
    inference_timeout_s: float | None = Field(
        description="Seconds a request waits for the model before a 504 (null: no time-out).")


class Readiness(BaseModel):
    """Answer of ``GET /ready`` when the model can answer requests."""

    status: Literal["ready"]
    model_name: str
    model_version: str


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer: which field, and what is wrong with it."""

    detail: list[ErrorItem]


class InputError(Exception):
    """A client mistake found before the model runs; becomes a 4xx JSON answer."""

    def __init__(self, loc: Sequence[str | int], msg: str, kind: str, status: int = 422) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.kind, self.status = list(loc), msg, kind, status

    def to_http(self) -> HTTPException:
        return HTTPException(self.status, detail=_detail(self.loc, self.msg, self.kind))


def _detail(loc: Sequence[str | int], msg: str, kind: str) -> list[dict[str, Any]]:
    return [{"loc": list(loc), "msg": msg, "type": kind}]


# --------------------------------------------------------------------------------------------
# Input validation (pure functions, tested directly)
# --------------------------------------------------------------------------------------------
def _path_str(path: Sequence[int]) -> str:
    return "inputs" + "".join(f"[{i}]" for i in path)


def _first_non_number(raw: Any, path: tuple[int, ...] = ()) -> tuple[tuple[int, ...], Any] | None:
    """Depth-first search for the first leaf that is not an int or float (error path only)."""
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            found = _first_non_number(item, (*path, i))
            if found is not None:
                return found
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return path, raw
    if isinstance(raw, int) and abs(raw) > 2**53:
        return path, raw
    return None


def _describe(value: Any) -> str:
    """Name a JSON value for an error message: ``the integer 5``, ``null``, ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {shown!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _describe_non_number(value: Any) -> str:
    """Name a leaf that is not a usable number; an int here is one too large for a float."""
    too_large = isinstance(value, int) and not isinstance(value, bool)
    return _describe(value) + (" (too large)" if too_large else "")


#: Where every problem with the JSON ``inputs`` of ``POST /predict`` is reported.
_INPUTS_LOC = ("body", "inputs")


def _check_rows(n: int, max_rows: int) -> None:
    if n > max_rows:
        raise InputError(
            _INPUTS_LOC,
            f"inputs holds {n} examples; this server takes at most {max_rows} per request "
            "(split the batch)",
            "too_many_rows",
        )


def validate_inputs(
    raw: Any,
    input_shape: tuple[int, ...],
    *,
    max_rows: int,
    value_range: tuple[float, float] | None = None,
) -> tuple[npt.NDArray[np.float64], bool]:
    """Turn the JSON ``inputs`` into a float batch ``(n, *input_shape)``, or raise InputError.

    Returns the batch and whether the client sent a single example. A single example may leave
    out a trailing channel axis of size 1 (``(28, 28)`` for ``(28, 28, 1)``), and so may a batch.

    Used by :func:`create_app` for every ``POST /predict`` of numbers
    (labs/w1_deploy_a_model.ipynb).
    """
    loc = ("body", "inputs")
    expected = f"one example of shape {input_shape} or a batch of shape (n, {', '.join(map(str, input_shape))})"
    try:
        arr = np.asarray(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        if "maximum number of dimension" in str(exc):
            raise InputError(loc, f"inputs is nested too deeply; expected {expected}", "shape") from None
        raise InputError(
            loc,
            "inputs has nested lists of unequal lengths (a ragged array); "
            f"expected {expected}",
            "ragged",
        ) from None
    if arr.dtype.kind not in "iuf":
        if arr.size == 0:
            raise InputError(loc, f"inputs is empty; expected {expected}", "empty")
        found = _first_non_number(raw)
        if found is not None:
            where, value = found
            raise InputError(
                loc,
                f"{_path_str(where)} is {_describe_non_number(value)}; every value must be a number",
                "dtype",
            )
        raise InputError(loc, f"inputs must contain only numbers, got dtype {arr.dtype}", "dtype")
    if arr.size == 0:
        raise InputError(loc, f"inputs is empty; expected {expected}", "empty")
    shape = arr.shape
    core = input_shape
    short = input_shape[:-1] if len(input_shape) > 1 and input_shape[-1] == 1 else None
    if shape == core:
        single, batch = True, arr.reshape(1, *core)
    elif len(shape) == len(core) + 1 and shape[1:] == core:
        single, batch = False, arr
    elif short is not None and shape == short:
        single, batch = True, arr.reshape(1, *core)
    elif short is not None and len(shape) == len(short) + 1 and shape[1:] == short:
        single, batch = False, arr.reshape(shape[0], *core)
    else:
        raise InputError(loc, f"inputs has shape {shape}; expected {expected}", "shape")
    _check_rows(len(batch), max_rows)
    try:
        x = as_finite_float(batch, "inputs")
    except ValueError as exc:
        raise InputError(loc, str(exc), "not_finite") from None
    if value_range is not None:
        lo, hi = value_range
        bad = (x < lo) | (x > hi)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            index = first[1:] if single else first
            raise InputError(
                loc,
                f"{_path_str(index)} = {x[first]:g} is outside the allowed range [{lo:g}, {hi:g}]",
                "out_of_range",
            )
    return x, single


def validate_texts(
    raw: Any,
    *,
    max_rows: int,
    max_chars: int,
) -> tuple[npt.NDArray[np.object_], bool]:
    """Turn the JSON ``inputs`` of a text model into a 1-D object array of strings.

    ``raw`` is one string or a flat list of strings. Returns the batch and whether the client
    sent a single string. Raises InputError for anything else: an empty list, more than
    ``max_rows`` texts, a nested list or a non-string element (both named by their index), an
    empty or white-space-only text, or a text longer than ``max_chars`` characters.

    Used by :func:`create_app` for ``POST /predict`` of a text model, which the final project
    serves through :func:`utils.spam_filter.model.filter_app` (project/05_deployment.ipynb and
    project/06_monitoring.ipynb).
    """
    loc = _INPUTS_LOC
    if isinstance(raw, str):
        single, texts = True, [raw]
    elif isinstance(raw, list):
        single, texts = False, raw
    else:
        raise InputError(loc, f"inputs is {_describe(raw)}; send one string or a list of strings",
                         "not_a_string")
    if not texts:
        raise InputError(loc, "inputs is empty; send one string or a list of strings", "empty")
    _check_rows(len(texts), max_rows)
    for i, text in enumerate(texts):
        _check_text(text, "inputs" if single else f"inputs[{i}]", max_chars)
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out, single


def _check_text(text: Any, where: str, max_chars: int) -> None:
    loc = _INPUTS_LOC
    if isinstance(text, list):
        raise InputError(loc, f"{where} is a list; send one string or a flat list of strings "
                         "(no nested lists)", "nested")
    if not isinstance(text, str):
        raise InputError(loc, f"{where} is {_describe(text)}; every input must be a string",
                         "not_a_string")
    if not text.strip():
        raise InputError(loc, f"{where} is {'only white space' if text else 'an empty string'}; "
                         "every input must contain some text", "empty_text")
    if len(text) > max_chars:
        raise InputError(loc, f"{where} has {len(text)} characters; at most {max_chars} are "
                         "accepted", "text_too_long")


def decode_image(
    data: bytes,
    input_shape: tuple[int, ...],
    *,
    max_pixels: int = 4096 * 4096,
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Decode PNG/JPEG bytes in memory into one example ``(1, *input_shape)`` of 0-255 values.

    The image is converted to greyscale or RGB to match the model's channels and resized to
    its height and width (each change is reported in the returned notes). Raises InputError
    for empty, undecodable, truncated or oversized images.

    Used by :func:`create_app` for ``POST /predict/image`` (labs/w1_deploy_a_model.ipynb).
    """
    from PIL import Image, UnidentifiedImageError

    loc = ("body", "file")
    if not data:
        raise InputError(loc, "file is empty", "empty")
    h, w, c = _image_geometry(input_shape)
    try:
        img = Image.open(io.BytesIO(data), formats=tuple(IMAGE_TYPES.values()))
    except UnidentifiedImageError:
        raise InputError(loc, "file could not be decoded as a PNG or JPEG image", "image_decode") from None
    except Exception as exc:  # Pillow raises many types for hostile input
        raise InputError(loc, f"file could not be decoded: {exc}", "image_decode") from None
    width, height = img.size
    if width * height > max_pixels:
        raise InputError(
            loc, f"image is {width}x{height} pixels; at most {max_pixels} pixels are accepted",
            "image_too_large",
        )
    try:
        img.load()
    except Exception as exc:
        raise InputError(loc, f"file is a damaged or truncated image: {exc}", "image_decode") from None
    notes: list[str] = []
    mode = "L" if c == 1 else "RGB"
    if img.mode != mode:
        notes.append(f"converted the image from mode {img.mode} to {mode}")
        img = img.convert(mode)
    if (width, height) != (w, h):
        notes.append(f"resized the image from {width}x{height} to {w}x{h} pixels")
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    x = np.asarray(img, dtype=np.float64).reshape(1, *input_shape)
    return x, notes


def _image_geometry(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1], 1
    if len(input_shape) == 3 and input_shape[2] in (1, 3):
        return input_shape[0], input_shape[1], input_shape[2]
    raise ValueError(f"input shape {input_shape} is not an image (H, W), (H, W, 1) or (H, W, 3)")


def _accepts_images(input_shape: tuple[int, ...]) -> bool:
    try:
        _image_geometry(input_shape)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Latency window, micro-batching, body-size and content-type guard
# --------------------------------------------------------------------------------------------
class _LatencyWindow:
    """The last ``window`` latencies (ms) and the count of answers by status code."""

    def __init__(self, window: int = 10_000) -> None:
        self._total: deque[float] = deque(maxlen=window)
        self._model: deque[float] = deque(maxlen=window)
        self._status: Counter[int] = Counter()
        self._lock = threading.Lock()

    def observe(self, ms: float, status: int) -> None:
        with self._lock:
            self._status[status] += 1
            if status < 400:
                self._total.append(ms)

    def observe_model(self, ms: float) -> None:
        with self._lock:
            self._model.append(ms)

    @staticmethod
    def _summary(values: Sequence[float]) -> dict[str, float | None]:
        if not values:  # undefined: no observation yet (JSON has no NaN)
            return {"p50": None, "p95": None, "p99": None, "n": 0}
        p = np.percentile(np.asarray(values), [50, 95, 99])
        return {"p50": float(p[0]), "p95": float(p[1]), "p99": float(p[2]), "n": len(values)}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            total, model, status = list(self._total), list(self._model), dict(self._status)
        return {
            "requests": sum(status.values()),
            "by_status": {str(k): v for k, v in sorted(status.items())},
            "latency_ms": self._summary(total),
            "model_latency_ms": self._summary(model),
        }


#: Header of an error answer after which the server stops reading the request and closes.
_CLOSE = {"Connection": "close"}


class _Guard:
    """ASGI middleware: body size (413) and pace (408), content type (415), version, latency.

    The body is counted as it arrives: past ``max_body_bytes`` the request is answered 413 at
    once and the connection closed, without reading the rest, whether or not the client sent a
    Content-Length. A body that stops arriving for ``body_timeout`` seconds is answered 408.
    Every answer given before the body is read closes the connection, so the rest is not read.
    """

    def __init__(self, app: Any, *, max_body_bytes: int, body_timeout: float,
                 content_types: dict[str, tuple[str, ...]], model_version: str,
                 tracker: _LatencyWindow, timed_paths: frozenset[str]) -> None:
        self.app, self.max_body, self.content_types = app, max_body_bytes, content_types
        self.body_timeout = body_timeout
        self.version = model_version.encode("latin-1", "replace")
        self.tracker, self.timed = tracker, timed_paths

    async def _reject(self, send: Any, status: int, loc: list[str], msg: str, kind: str) -> None:
        response = JSONResponse({"detail": _detail(loc, msg, kind)}, status_code=status,
                                headers=_CLOSE)
        await response({"type": "http"}, _no_receive, send)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-model-version", self.version)]
            await send(message)

        try:
            await self._handle(scope, receive, send_with_header)
        finally:
            if scope["path"] in self.timed:
                self.tracker.observe((time.perf_counter() - start) * 1000.0, status[0])

    async def _check_headers(self, scope: Any, send: Any) -> bool:
        """Answer a bad Content-Length (400), too large (413) or Content-Type (415); True if so."""
        headers = dict(scope.get("headers", ()))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await self._reject(send, 400, ["header", "content-length"],
                                   "Content-Length is not an integer", "header")
                return True
            if n > self.max_body:
                await self._reject(send, 413, ["body"], f"request body has {n} bytes; at most "
                                   f"{self.max_body} are accepted", "body_too_large")
                return True
        allowed = self.content_types.get(scope["path"])
        if allowed is not None and scope["method"] == "POST":
            raw = headers.get(b"content-type", b"").decode("latin-1")
            ctype = raw.split(";")[0].strip().lower()
            if (ctype or allowed[0] != "application/json") and ctype not in allowed:
                await self._reject(
                    send, 415, ["header", "content-type"],
                    f"content type {ctype or '(none)'!r} is not accepted here; send "
                    f"{' or '.join(allowed)}", "content_type",
                )
                return True
        return False

    async def _handle(self, scope: Any, receive: Any, send: Any) -> None:
        if await self._check_headers(scope, send):
            return
        received, complete = 0, False
        limit, wait = self.max_body, self.body_timeout

        async def counting_receive() -> Any:
            nonlocal received, complete
            if complete:  # after the body, receive() only waits for a disconnect
                return await receive()
            try:
                async with asyncio.timeout(wait):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408, detail=_detail(
                    ["body"], f"no part of the request body arrived for {wait:g} s",
                    "body_timeout"), headers=_CLOSE) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise HTTPException(413, detail=_detail(
                        ["body"], f"request body exceeds {limit} bytes", "body_too_large"),
                        headers=_CLOSE)
            return message

        await self.app(scope, counting_receive, send)


async def _no_receive() -> Any:  # pragma: no cover - JSONResponse never reads the request
    return {"type": "http.disconnect"}


# --------------------------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Config:
    model_name: str
    model_version: str
    framework: str
    input_type: Literal["numbers", "text"]
    input_shape: tuple[int, ...] | None  # None for text
    class_names: tuple[str, ...]
    max_batch_rows: int
    max_body_bytes: int
    max_text_chars: int  # used for text only
    value_range: tuple[float, float] | None
    micro_batching: bool
    max_image_pixels: int
    inference_timeout: float | None = DEFAULT_INFERENCE_TIMEOUT
    body_timeout: float = 10.0
    accepts_images: bool = field(init=False)

    def __post_init__(self) -> None:
        images = self.input_shape is not None and _accepts_images(self.input_shape)
        object.__setattr__(self, "accepts_images", images)


def create_app(
    model: Any,
    *,
    model_name: str = "model",
    model_version: str = "1",
    input_type: Literal["numbers", "text"] = "numbers",
    input_shape: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    max_batch_rows: int = 256,
    max_body_bytes: int = 2_000_000,
    max_text_chars: int = 5_000,
    value_range: tuple[float, float] | None = None,
    micro_batching: bool = True,
    batch_wait_ms: float = 0.0,
    batch_max_rows: int = 64,
    max_image_pixels: int = 4096 * 4096,
    inference_timeout: float | None = DEFAULT_INFERENCE_TIMEOUT,
    body_timeout: float = 10.0,
) -> FastAPI:
    """Build a FastAPI app that serves ``model`` (loaded once, shared by every request).

    Args:
        model: a predictor, a Keras model, a scikit-learn estimator, or anything with
            ``predict_proba`` (see :func:`as_predictor`).
        model_name, model_version: reported by ``/metadata`` and in the ``X-Model-Version``
            header of every answer.
        input_type: ``"numbers"``: an example is nested numbers of shape ``input_shape``.
            ``"text"``: an example is one string, and ``POST /predict`` takes
            ``{"inputs": "one text"}`` or ``{"inputs": ["text 1", "text 2"]}``; the model's
            ``predict_proba`` receives a 1-D object array of strings (see
            :class:`SklearnPredictor`). ``input_shape`` and ``value_range`` do not apply to
            text (a ValueError if given).
        input_shape: shape of one example; read from the model when it knows it.
        class_names: one name per output column; read from the model when it knows them.
        max_batch_rows: most examples one request may carry (more is a 422).
        max_body_bytes: largest request body; a bigger one is refused with 413 (and the
            connection closed) before it is read, or as soon as the limit is passed.
        max_text_chars: longest text one example may be, in characters (else 422); text only.
        value_range: optional ``(low, high)`` every input value must lie in (else 422).
        micro_batching: run the model on a worker thread that merges concurrent requests into
            one call (``batch_max_rows`` rows at most, waiting up to ``batch_wait_ms`` for more).
            Off: each request calls the model on its own in a worker thread.
        max_image_pixels: largest uploaded image (width x height), a guard against image bombs.
        inference_timeout: seconds a request waits for the model (then 504); while a model
            call is older than this, predictions and ``/ready`` get 503 at once (module
            ``utils.deployment.inference``). None waits for ever.
        body_timeout: seconds the server waits for the next part of a request body (else 408).

    Routes: ``GET /health`` (liveness: the process answers), ``GET /ready`` (readiness: the
    model answers; 503 with a JSON reason when it cannot), ``GET /metadata``, ``GET /metrics``,
    ``POST /predict`` and, when the input shape is an image, ``POST /predict/image`` (never for
    text). The interactive docs are at ``/docs``, served from packaged files so that they work
    without internet (module ``utils.deployment.docs_offline``).

    Introduced in labs/w1_deploy_a_model.ipynb. For text it is used by
    :func:`utils.spam_filter.model.filter_app` in the final project (project/05_deployment.ipynb
    and project/06_monitoring.ipynb).
    """
    _check_input_options(input_type, input_shape=input_shape, value_range=value_range)
    predictor = as_predictor(model, input_shape, input_type=input_type)
    cfg = _make_config(predictor, model_name=model_name, model_version=model_version,
                       input_type=input_type, input_shape=input_shape, class_names=class_names,
                       max_batch_rows=max_batch_rows, max_body_bytes=max_body_bytes,
                       max_text_chars=max_text_chars, value_range=value_range,
                       micro_batching=micro_batching, max_image_pixels=max_image_pixels,
                       inference_timeout=inference_timeout, body_timeout=body_timeout)
    tracker = _LatencyWindow()
    runner = _new_runner(predictor, cfg, tracker, batch_max_rows, batch_wait_ms)
    app = _new_app(cfg, runner)
    app.state.config, app.state.tracker, app.state.predictor = cfg, tracker, predictor
    app.state.runner, app.state.batcher = runner, runner.batcher
    install_offline_docs(app)
    _add_status_routes(app, cfg, tracker, runner)
    _add_predict_routes(app, cfg, runner)
    _install_error_handlers(app)
    app.add_middleware(_Guard, max_body_bytes=cfg.max_body_bytes, body_timeout=cfg.body_timeout,
                       content_types=_CONTENT_TYPES, model_version=cfg.model_version,
                       tracker=tracker, timed_paths=frozenset(_CONTENT_TYPES))
    return app


#: The content types each prediction route accepts (its requests are also timed).
_CONTENT_TYPES = {"/predict": ("application/json",), "/predict/image": ("multipart/form-data",)}


def _new_runner(predictor: Any, cfg: _Config, tracker: _LatencyWindow, batch_max_rows: int,
                batch_wait_ms: float) -> ModelRunner:
    """The model's runner: micro-batching (or not) and the inference time-out."""
    if not isinstance(batch_max_rows, int) or batch_max_rows < 1:
        raise ValueError(f"batch_max_rows must be a positive int, got {batch_max_rows!r}")
    if not (isinstance(batch_wait_ms, (int, float)) and 0 <= batch_wait_ms <= 1000):
        raise ValueError(f"batch_wait_ms must be a number in [0, 1000], got {batch_wait_ms!r}")
    n_classes = len(cfg.class_names)
    return ModelRunner(predictor.predict_proba, observe=tracker.observe_model,
                       probe=_probe(cfg), check=lambda p, n: _check_output(p, n, n_classes),
                       timeout=cfg.inference_timeout, micro_batching=cfg.micro_batching,
                       batch_max_rows=batch_max_rows, batch_wait_ms=batch_wait_ms)


def _new_app(cfg: _Config, runner: ModelRunner) -> FastAPI:
    """The FastAPI object, without FastAPI's own docs pages (they need a CDN)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.stop()

    return FastAPI(
        title=f"{cfg.model_name} (version {cfg.model_version})",
        description="Predictions from a classifier. Every client mistake is answered with a 4xx "
        "status and a JSON detail naming the field and the problem.",
        version=cfg.model_version, lifespan=lifespan, docs_url=None, redoc_url=None,
        responses={422: {"model": ErrorResponse, "description": "Invalid input"}},
    )


def _unavailable(exc: ModelUnavailable) -> HTTPException:
    return HTTPException(exc.status, detail=_detail(["model"], exc.msg, exc.kind),
                         headers=exc.headers)


def _add_status_routes(app: FastAPI, cfg: _Config, tracker: _LatencyWindow,
                       runner: ModelRunner) -> None:
    """``GET /health`` (liveness), ``/ready`` (readiness), ``/metadata`` and ``/metrics``."""

    @app.get("/health", summary="Liveness: is the server process up and answering?")
    def health() -> dict[str, str]:
        return {"status": "ok", "model_name": cfg.model_name, "model_version": cfg.model_version}

    @app.get("/ready", summary="Readiness: can the model answer predictions now?",
             response_model=Readiness, responses={503: {"model": ErrorResponse}})
    async def ready() -> Readiness:
        try:
            await runner.ready()
        except ModelUnavailable as exc:
            raise _unavailable(exc) from None
        return Readiness(status="ready", model_name=cfg.model_name,
                         model_version=cfg.model_version)

    @app.get("/metadata", summary="What the model expects and returns", response_model=Metadata)
    def metadata() -> Metadata:
        return Metadata(
            model_name=cfg.model_name, model_version=cfg.model_version, framework=cfg.framework,
            input_type=cfg.input_type,
            input_shape=list(cfg.input_shape) if cfg.input_shape is not None else None,
            class_names=list(cfg.class_names), accepts_images=cfg.accepts_images,
            image_types=list(IMAGE_TYPES) if cfg.accepts_images else [],
            max_batch_rows=cfg.max_batch_rows, max_body_bytes=cfg.max_body_bytes,
            max_text_chars=cfg.max_text_chars if cfg.input_type == "text" else None,
            value_range=list(cfg.value_range) if cfg.value_range else None,
            micro_batching=cfg.micro_batching, inference_timeout_s=cfg.inference_timeout,
        )

    @app.get("/metrics", summary="Request counts and latency percentiles (server side)")
    def metrics() -> dict[str, Any]:
        snap = tracker.snapshot()
        calls = runner.calls
        snap["model_calls"] = calls if calls is not None else snap["model_latency_ms"]["n"]
        snap["inference"] = runner.stats()
        return snap


def _add_predict_routes(app: FastAPI, cfg: _Config, runner: ModelRunner) -> None:
    """``POST /predict`` (JSON numbers or text) and, for images, ``POST /predict/image``."""

    async def infer(x: np.ndarray) -> np.ndarray:
        try:
            return await runner.predict(x)
        except ModelUnavailable as exc:
            raise _unavailable(exc) from None
        except Exception:
            logger.exception("the model failed on a batch of shape %s", x.shape)
            raise HTTPException(500, detail=_detail(
                ["model"], "the model failed on valid input; the error is in the server log",
                "model_error")) from None

    def answer(p: np.ndarray, min_confidence: float, notes: list[str]) -> PredictResponse:
        preds = _predictions(p, cfg.class_names, min_confidence)
        withheld = sum(pr.withheld for pr in preds)
        if withheld:
            notes = [*notes, f"{withheld} of {len(preds)} prediction(s) withheld: confidence "
                     f"below min_confidence={min_confidence:g}"]
        return PredictResponse(model_name=cfg.model_name, model_version=cfg.model_version,
                               min_confidence=min_confidence, n_withheld=withheld,
                               predictions=preds, notes=notes)

    async def predict_json(raw: Any, min_confidence: float) -> PredictResponse:
        try:
            x = _validate_json(raw, cfg)
        except InputError as exc:
            raise exc.to_http() from None
        return answer(await infer(x), min_confidence, [])

    # One route, two bodies: the text body lets validate_texts name what is wrong with any value.
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (408, 413, 415, 503, 504)}
    if cfg.input_type == "text":
        @app.post("/predict", response_model=PredictResponse, summary="Predict from JSON text",
                  responses=errors)
        async def predict_text(body: TextPredictRequest,
                               min_confidence: MinConfidence = 0.0) -> PredictResponse:
            return await predict_json(body.inputs, min_confidence)
    else:
        @app.post("/predict", response_model=PredictResponse, summary="Predict from JSON numbers",
                  responses=errors)
        async def predict(body: PredictRequest,
                          min_confidence: MinConfidence = 0.0) -> PredictResponse:
            return await predict_json(body.inputs, min_confidence)

    if not cfg.accepts_images:
        return

    @app.post("/predict/image", response_model=PredictResponse,
              summary="Predict from an uploaded PNG or JPEG image", responses=errors)
    async def predict_image(
        file: Annotated[UploadFile, File(description="A PNG or JPEG image.")],
        min_confidence: MinConfidence = 0.0,
    ) -> PredictResponse:
        # The client's file name is never used: the bytes are decoded in memory.
        ctype = (file.content_type or "").split(";")[0].strip().lower()
        if ctype not in IMAGE_TYPES:
            raise InputError(["body", "file"], f"file has content type {ctype or '(none)'!r}; "
                             "send a PNG or JPEG image (image/png or image/jpeg)",
                             "content_type", 415).to_http()
        data = await file.read()
        await file.close()
        try:
            x, notes = await run_in_threadpool(decode_image, data, cfg.input_shape,
                                               max_pixels=cfg.max_image_pixels)
        except InputError as exc:
            raise exc.to_http() from None
        if cfg.value_range is not None:
            x = np.clip(x, *cfg.value_range)
        return answer(await infer(x), min_confidence, notes)


def _probe(cfg: _Config) -> np.ndarray:
    """A harmless batch of one example for the model's warm-up call (``GET /ready``)."""
    if cfg.input_type == "text":
        out = np.empty(1, dtype=object)
        out[0] = "warm-up"
        return out
    assert cfg.input_shape is not None  # always set for numbers
    x = np.zeros((1, *cfg.input_shape))
    return np.clip(x, *cfg.value_range) if cfg.value_range is not None else x


def _check_input_options(input_type: str, *, input_shape: Sequence[int] | None,
                         value_range: tuple[float, float] | None) -> None:
    """Refuse options of numeric inputs given together with ``input_type="text"``."""
    if not _is_text(input_type):
        return
    for name, value in (("input_shape", input_shape), ("value_range", value_range)):
        if value is not None:
            raise ValueError(f"{name} does not apply to input_type='text' (one example is one "
                             f"string); got {name}={value!r}")


def _make_config(predictor: Any, *, model_name: str, model_version: str, input_type: str,
                 input_shape: Sequence[int] | None, class_names: Sequence[str] | None,
                 max_batch_rows: int, max_body_bytes: int, max_text_chars: int,
                 value_range: tuple[float, float] | None, micro_batching: bool,
                 max_image_pixels: int, inference_timeout: float | None,
                 body_timeout: float) -> _Config:
    for name, value in (("model_name", model_name), ("model_version", model_version)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    text = _is_text(input_type)
    shape = None if text else _resolve_shape(predictor, input_shape)
    names = _resolve_class_names(predictor, class_names)
    for name, value in (("max_batch_rows", max_batch_rows), ("max_body_bytes", max_body_bytes),
                        ("max_text_chars", max_text_chars), ("max_image_pixels", max_image_pixels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    wait = check_timeout(body_timeout, "body_timeout")
    if wait is None:
        raise ValueError("body_timeout must be a positive number of seconds, got None")
    return _Config(model_name=model_name, model_version=model_version,
                   framework=getattr(predictor, "framework", type(predictor).__name__),
                   input_type="text" if text else "numbers", input_shape=shape,
                   class_names=names, max_batch_rows=max_batch_rows,
                   max_body_bytes=max_body_bytes, max_text_chars=max_text_chars,
                   value_range=_check_range(value_range), micro_batching=bool(micro_batching),
                   max_image_pixels=max_image_pixels,
                   inference_timeout=check_timeout(inference_timeout), body_timeout=wait)


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
        raise ValueError(f"class_names has {len(names)} names but the model has {n_classes} classes")
    return names


def _check_range(value_range: tuple[float, float] | None) -> tuple[float, float] | None:
    if value_range is None:
        return None
    lo, hi = (float(v) for v in value_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    return lo, hi


def _validate_json(raw: Any, cfg: _Config) -> np.ndarray:
    """Check the JSON ``inputs`` of ``POST /predict`` the way the app's input type needs."""
    if cfg.input_type == "text":
        texts, _ = validate_texts(raw, max_rows=cfg.max_batch_rows, max_chars=cfg.max_text_chars)
        return texts
    assert cfg.input_shape is not None  # always set for numbers
    x, _ = validate_inputs(raw, cfg.input_shape, max_rows=cfg.max_batch_rows,
                           value_range=cfg.value_range)
    return x


def _check_output(p: Any, n: int, k: int) -> np.ndarray:
    """A model bug (wrong shape, NaN, not probabilities) must not reach the client as data."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n, k):
        raise ValueError(f"model returned shape {p.shape}, expected {(n, k)}")
    if not np.isfinite(p).all():
        raise ValueError("model returned NaN or infinite probabilities")
    if (p < -1e-6).any() or (np.abs(p.sum(axis=1) - 1.0) > 1e-3).any():
        raise ValueError("model output rows are not probabilities (end the model with a softmax)")
    return p


def _predictions(p: np.ndarray, names: tuple[str, ...], min_confidence: float) -> list[Prediction]:
    top = p.argmax(axis=1)
    conf = p[np.arange(len(p)), top]
    out = []
    for row, i, c in zip(p.tolist(), top.tolist(), conf.tolist(), strict=True):
        held = c < min_confidence
        out.append(Prediction(
            label=None if held else names[i],
            class_index=None if held else i,
            confidence=c,
            withheld=held,
            reason=f"confidence {c:.3f} is below min_confidence {min_confidence:g}" if held else None,
            probabilities=dict(zip(names, row, strict=True)),
        ))
    return out


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid"))
            ctx = err.get("ctx") or {}
            if err.get("type") == "json_invalid" and "error" in ctx:
                msg = f"{msg}: {ctx['error']}"
            if err.get("type") == "missing":
                msg = f"field {'.'.join(map(str, err.get('loc', ())[1:])) or 'body'!s} is required"
            items.append({"loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
                          "msg": msg, "type": str(err.get("type", "value_error"))})
        return JSONResponse({"detail": items}, status_code=422)

    @app.exception_handler(HTTPException)
    async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail
        if not isinstance(detail, list):
            detail = _detail([], str(detail), "http_error")
        return JSONResponse({"detail": detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def on_starlette_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return await on_http_error(request, HTTPException(exc.status_code, exc.detail, exc.headers))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": _detail([], "internal server error; see the server log",
                                               "server_error")}, status_code=500)


# --------------------------------------------------------------------------------------------
# Running the app
# --------------------------------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerHandle:
    """A server running in a background thread. ``stop()`` shuts it down cleanly."""

    url: str
    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish its requests and exit; wait up to ``timeout`` seconds."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_background(app: Any, *, host: str = "127.0.0.1", port: int | None = None,
                        log_level: str = "warning", timeout: float = 20.0,
                        header_timeout: float = ConnectionLimits.header_timeout,
                        keep_alive: float = ConnectionLimits.keep_alive,
                        max_concurrency: int = ConnectionLimits.max_concurrency,
                        max_head_bytes: int = ConnectionLimits.max_head_bytes) -> ServerHandle:
    """Start ``app`` with uvicorn in a daemon thread and return once it accepts connections.

    The notebook's kernel stays free (no ``nest_asyncio``: the server has its own event loop in
    its own thread). ``port=None`` picks a free port; the socket is bound here, so no other
    process can take it in between.

    Slow and idle clients are dropped (module ``utils.deployment.connections``): a connection
    must send a complete request head within ``header_timeout`` seconds, an idle one is closed
    ``keep_alive`` seconds after its last answer, new requests get 503 while
    ``max_concurrency`` connections or requests are open, and a request head still unfinished
    at ``max_head_bytes`` bytes gets 400.

    Introduced in labs/w1_deploy_a_model.ipynb.
    """
    import uvicorn

    limits = ConnectionLimits(header_timeout=header_timeout, keep_alive=keep_alive,
                              max_concurrency=max_concurrency, max_head_bytes=max_head_bytes)
    sock = bind_socket(host, port or 0)
    bound_port, family = int(sock.getsockname()[1]), sock.family
    config = limits.uvicorn_config(app, log_level=log_level, lifespan="on", access_log=False)
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server thread exited during start-up; see the log above")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the server did not start within {timeout} s")
        time.sleep(0.01)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return ServerHandle(url=f"http://{shown}:{bound_port}", host=host, port=bound_port,
                        _server=server, _thread=thread)

