"""Replicable pre-processing: the transformations travel with the model and are checked on load.

Introduced in week3/03_obtaining_data_and_pipelines.ipynb (syllabus item W3.09).

A model trained on cleaned, vectorised text only works if the very same cleaning and
vectorising run at prediction time. Two habits make that hold from proof of concept to
production, and this module supports both:

- pre-processing code lives in an importable module, never only in a notebook, so that a
  pickled pipeline can find it again in another process (:func:`normalise_comments`);
- the whole scikit-learn ``Pipeline`` is saved as one file together with a small probe set
  and the outputs it gave, and loading replays the probe and refuses a file whose outputs
  changed (:func:`save_pipeline`, :func:`load_pipeline`).

Loading uses pickle (through joblib): only load files you or your own pipeline wrote.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import as_1d, check_number
from utils.lineage import content_hash

__all__ = [
    "ReplayMismatchError",
    "is_saved_pipeline",
    "load_pipeline",
    "normalise_comments",
    "replay",
    "save_pipeline",
]

_FORMAT = "utils.pipeline/1"
_URL = r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\s?\.\s?(?:com|net|org|ly|info|co|us)\b\S*"


class ReplayMismatchError(RuntimeError):
    """A reloaded pipeline gave different outputs on its probe set than when it was saved."""


def normalise_comments(texts: Any) -> npt.NDArray[np.object_]:
    """Clean comment texts the same way at training and at prediction time.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb. Each text is lower-cased; web
    addresses (``http://...``, ``www....``, ``name.com``, also the spaced ``name . com`` that
    spammers use to dodge filters) become the token ``urltoken``; invisible characters such as
    the byte-order mark are removed; runs of white space become one space.

    Args:
        texts: a 1-D sequence of strings (a list, an array or a pandas Series).

    Returns:
        A 1-D object array of cleaned strings, the same length as ``texts``.
    """
    arr = as_1d(texts, "texts", allow_empty=True, allow_missing=True)
    series = pd.Series(arr, dtype=object)
    bad = ~series.map(lambda v: isinstance(v, str))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise TypeError(f"texts must all be strings; texts[{i}] is {type(arr[i]).__name__}")
    out = (
        series.astype(str)
        .str.replace(r"[\ufeff\u200b\u200c\u200d\u2060]", "", regex=True)
        .str.lower()
        .str.replace(r"\s+", " ", regex=True)
        .str.replace(_URL, " urltoken ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    return out.to_numpy(dtype=object)


def _outputs(model: Any, probe: Any) -> npt.NDArray[Any]:
    for method in ("predict_proba", "predict", "transform"):
        if hasattr(model, method):
            out = getattr(model, method)(probe)
            if hasattr(out, "toarray"):  # a sparse matrix from a transformer
                out = out.toarray()
            return np.asarray(out)
    raise TypeError(
        f"model of type {type(model).__name__} has none of predict_proba, predict, transform"
    )


def save_pipeline(model: Any, path: str | PathLike[str], *, probe: Any) -> str:
    """Save a fitted pipeline with a probe set and its outputs; return the outputs' hash.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb.

    Args:
        model: a fitted estimator or ``Pipeline`` (pre-processing included). Its outputs are
            those of ``predict_proba``, else ``predict``, else ``transform``.
        path: where to write the file (joblib format).
        probe: a few inputs, in the form ``model`` expects (for text pipelines, a list of
            strings), that exercise the pre-processing; 10 to 100 typical rows are plenty.

    Returns:
        The :func:`~utils.lineage.content_hash` of the outputs on ``probe``, handy as the
        model's identifier in a :class:`~utils.lineage.LineageLog`.
    """
    if probe is None or len(probe) == 0:
        raise ValueError("probe is empty; give a few typical inputs to replay on load")
    outputs = _outputs(model, probe)
    digest = content_hash(outputs)
    joblib.dump(
        {
            "format": _FORMAT,
            "model": model,
            "probe": probe,
            "outputs": outputs,
            "output_hash": digest,
        },
        Path(path),
    )
    return digest


def load_pipeline(path: str | PathLike[str], *, atol: float = 0.0) -> Any:
    """Load a pipeline saved by :func:`save_pipeline` and check it replays its probe set.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb.

    Args:
        path: a file written by :func:`save_pipeline` (pickle: load only files you trust).
        atol: 0 (the default) demands byte-identical outputs, the right check on the machine
            and library versions that saved the file. A small positive value (say ``1e-9``)
            accepts last-digit differences from another processor's floating-point library.

    Raises:
        ReplayMismatchError: the reloaded pipeline's outputs differ from the stored ones, for
            example because a library upgrade changed the pre-processing.
        ValueError: the file was not written by :func:`save_pipeline`.
    """
    saved = joblib.load(Path(path))
    if not is_saved_pipeline(saved):
        raise ValueError(f"{Path(path).name} was not written by utils.pipeline.save_pipeline")
    return replay(saved, name=Path(path).name, atol=atol)


def is_saved_pipeline(obj: Any) -> bool:
    """True when ``obj`` is what :func:`save_pipeline` writes (a loaded file's content).

    Introduced for the serving code (:func:`utils.deployment.serving.load_model`), which
    accepts such files and replays them before serving.
    """
    return isinstance(obj, dict) and obj.get("format") == _FORMAT


def replay(saved: Any, *, name: str = "pipeline", atol: float = 0.0) -> Any:
    """Check a loaded :func:`save_pipeline` record against its probe set; return its model.

    :func:`load_pipeline` reads a file and calls this; ``name`` only labels error messages.
    Raises :class:`ReplayMismatchError` as described there.
    """
    check_number("atol", atol, min=0.0)
    if not is_saved_pipeline(saved):
        raise ValueError(f"{name} is not a record written by utils.pipeline.save_pipeline")
    model = saved["model"]
    outputs = _outputs(model, saved["probe"])
    stored = saved["outputs"]
    if atol == 0:
        same = content_hash(outputs) == saved["output_hash"]
    else:
        same = outputs.shape == stored.shape and bool(
            np.allclose(outputs, stored, rtol=0.0, atol=atol, equal_nan=True)
        )
    if not same:
        if outputs.shape == stored.shape and outputs.dtype.kind in "fiub":
            diff = float(np.max(np.abs(outputs.astype(float) - stored.astype(float))))
            detail = f"largest difference {diff:.3g}"
        else:
            detail = f"shape {outputs.shape} instead of {stored.shape}"
        raise ReplayMismatchError(
            f"{name}: the reloaded pipeline does not reproduce its saved outputs "
            f"on the probe set ({detail}); check library versions and pre-processing code"
        )
    return model
