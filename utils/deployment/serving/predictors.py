"""Predictors: what a model is to the rest of :mod:`utils.deployment`, and how one is loaded.

A *predictor* is anything with ``predict_proba(X) -> (n, k)`` class probabilities (the
:class:`Predictor` protocol). :func:`load_model` reads a saved model (``.keras`` through Keras'
safe mode, ``.joblib`` or ``.pkl`` for scikit-learn) and returns one; :func:`as_predictor`
wraps a model already in memory (:class:`KerasPredictor`, :class:`SklearnPredictor`).

Nothing here imports the web stack (FastAPI, Starlette, pydantic, uvicorn): loading a model, or
routing requests between models with :mod:`utils.deployment.patterns`, never needs it
(``tests/test_serving_layout.py`` checks this).

Used by labs/w1_deploy_a_model.ipynb (``load_model`` of the two Keras models, the compiled
forward pass), by project/05_deployment.ipynb (``load_model`` of the saved text pipeline) and,
for the :class:`Predictor` protocol, by week1/03_deployment_patterns.ipynb through
:mod:`utils.deployment.patterns`.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from utils._validation import check_bool, check_choice

__all__ = [
    "KerasPredictor",
    "Predictor",
    "SklearnPredictor",
    "as_predictor",
    "load_model",
]

#: The kinds of input a predictor takes: nested numbers of a fixed shape, or strings.
INPUT_TYPES: tuple[str, ...] = ("numbers", "text")


@runtime_checkable
class Predictor(Protocol):
    """Anything with ``predict_proba(X) -> (n, k)`` class probabilities is a model.

    ``X`` is a batch of ``n`` examples: an array of numbers, or a sequence of strings for a text
    model (a list, or a 1-D object array). Each row of the answer holds the probabilities of the
    ``k`` classes. This is all that :mod:`utils.deployment.patterns` (canary, shadow, blue/green)
    and :func:`utils.deployment.serving.create_app` require; ``create_app`` also reads the
    optional attributes ``input_shape``, ``n_classes``, ``classes`` and ``framework`` when a
    predictor has them (:class:`~utils.deployment.serving.KerasPredictor` and
    :class:`~utils.deployment.serving.SklearnPredictor` do).
    """

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]: ...


def _is_text(input_type: str) -> bool:
    """Check ``input_type`` and say whether it is ``"text"``."""
    return bool(check_choice("input_type", input_type, INPUT_TYPES) == "text")


def _keras_text_error() -> TypeError:
    return TypeError(
        "Keras models are not supported with input_type='text': serve a scikit-learn pipeline "
        "(or any object whose predict_proba takes a list of strings), or turn the text into "
        "numbers before the request and serve those"
    )


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """``shape`` as a non-empty tuple of positive ints (the shape of one example)."""
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be a sequence of positive ints, got {shape!r}"
        ) from None
    if not out or any(d <= 0 for d in out):
        raise ValueError(f"input_shape must be a non-empty sequence of positive ints, got {out}")
    return out


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

    def _compile(self, model: Any) -> Callable[[npt.NDArray[Any]], Any]:
        import keras

        if keras.backend.backend() != "tensorflow":
            return lambda x: keras.ops.convert_to_numpy(model(x, training=False))
        import tensorflow as tf

        spec = tf.TensorSpec((None, *self.input_shape), tf.as_dtype(self._dtype))
        forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        concrete = forward.get_concrete_function()
        return lambda x: concrete(tf.constant(x)).numpy()

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
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

    Used by :func:`as_predictor`, which :func:`load_model` and
    :func:`utils.deployment.serving.create_app` call. The book's pages serve only text pipelines
    with it (``text=True``): the final project's, through
    :func:`utils.spam_filter.model.filter_app` (project/05_deployment.ipynb and
    project/06_monitoring.ipynb).
    """

    framework = "scikit-learn"

    def __init__(
        self, estimator: Any, input_shape: Sequence[int] | None = None, *, text: bool = False
    ) -> None:
        if not callable(getattr(estimator, "predict_proba", None)):
            raise TypeError(
                f"estimator must have a predict_proba method; {type(estimator).__name__} has none"
            )
        text = check_bool("text", text)
        if text and input_shape is not None:
            raise ValueError(
                f"input_shape does not apply to a text model (one example is one "
                f"string); got input_shape={input_shape!r} with text=True"
            )
        self.estimator = estimator
        self.text = text
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

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
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


def as_predictor(
    model: Any,
    input_shape: Sequence[int] | None = None,
    *,
    input_type: Literal["numbers", "text"] = "numbers",
) -> Any:
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

    Used by :func:`utils.deployment.serving.create_app` (labs/w1_deploy_a_model.ipynb) and by
    :func:`load_model` for a ``.joblib`` or ``.pkl`` file; ``input_type="text"`` in the final
    project, through :func:`utils.spam_filter.model.filter_app` (project/05_deployment.ipynb and
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


def load_model(
    path: str | os.PathLike[str], *, input_type: Literal["numbers", "text"] = "numbers"
) -> Any:
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
        raise ValueError(
            f"model file {str(p)!r} is truncated or corrupt: it is not a complete "
            f".keras archive ({exc})"
        ) from None
    if damaged is not None:
        raise ValueError(
            f"model file {str(p)!r} is corrupt: its member {damaged!r} fails its checksum"
        ) from None
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
        raise ValueError(
            f"model file {str(p)!r} needs a module that cannot be imported here "
            f"({exc}); was it saved with other library versions?"
        ) from exc
    except Exception as exc:  # a cut-off pickle raises EOFError, UnpicklingError, KeyError...
        raise ValueError(
            f"model file {str(p)!r} is truncated or corrupt: it could not be "
            f"unpickled ({type(exc).__name__}: {exc})"
        ) from None
