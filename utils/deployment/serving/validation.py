"""Input validation: the checks every request passes before the model sees it (pure functions).

:func:`validate_inputs` turns the JSON ``inputs`` of ``POST /predict`` into a batch of numbers of
the model's input shape, :func:`validate_texts` into a batch of strings for a text model, and
:func:`decode_image` turns an uploaded PNG or JPEG into one example. Each raises
:class:`InputError`, which names the field, the problem and the HTTP status the answer gets;
turning it into that answer is the job of the routes and the app's error handlers (modules
``utils.deployment.serving.routes`` and ``.app``), so these
functions need no web framework and are tested directly.

Used by :func:`utils.deployment.serving.create_app` for every prediction: the bad requests of
labs/w1_deploy_a_model.ipynb (numbers and image uploads) and the malformed comments of
project/05_deployment.ipynb (text).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from utils._validation import as_finite_float

__all__ = ["InputError", "decode_image", "validate_inputs", "validate_texts"]

#: Content types the image route accepts (checked on the upload and on the decoded bytes).
IMAGE_TYPES: dict[str, str] = {"image/png": "PNG", "image/jpeg": "JPEG"}


class InputError(Exception):
    """A client mistake found before the model runs.

    ``loc`` is where the mistake is (``["body", "inputs"]``), ``msg`` what it is, ``kind`` a
    short machine-readable type, and ``status`` the 4xx status of the answer (422 unless the
    check says otherwise, such as 415 for a wrong content type).
    """

    def __init__(self, loc: Sequence[str | int], msg: str, kind: str, status: int = 422) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.kind, self.status = list(loc), msg, kind, status


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

    Used by :func:`utils.deployment.serving.create_app` for every ``POST /predict`` of numbers
    (labs/w1_deploy_a_model.ipynb).
    """
    loc = ("body", "inputs")
    expected = f"one example of shape {input_shape} or a batch of shape (n, {', '.join(map(str, input_shape))})"
    try:
        arr = np.asarray(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        if "maximum number of dimension" in str(exc):
            raise InputError(
                loc, f"inputs is nested too deeply; expected {expected}", "shape"
            ) from None
        raise InputError(
            loc,
            f"inputs has nested lists of unequal lengths (a ragged array); expected {expected}",
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

    Used by :func:`utils.deployment.serving.create_app` for ``POST /predict`` of a text model,
    which the final project serves through :func:`utils.spam_filter.model.filter_app`
    (project/05_deployment.ipynb and project/06_monitoring.ipynb).
    """
    loc = _INPUTS_LOC
    if isinstance(raw, str):
        single, texts = True, [raw]
    elif isinstance(raw, list):
        single, texts = False, raw
    else:
        raise InputError(
            loc, f"inputs is {_describe(raw)}; send one string or a list of strings", "not_a_string"
        )
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
        raise InputError(
            loc,
            f"{where} is a list; send one string or a flat list of strings (no nested lists)",
            "nested",
        )
    if not isinstance(text, str):
        raise InputError(
            loc, f"{where} is {_describe(text)}; every input must be a string", "not_a_string"
        )
    if not text.strip():
        raise InputError(
            loc,
            f"{where} is {'only white space' if text else 'an empty string'}; "
            "every input must contain some text",
            "empty_text",
        )
    if len(text) > max_chars:
        raise InputError(
            loc,
            f"{where} has {len(text)} characters; at most {max_chars} are accepted",
            "text_too_long",
        )


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

    Used by :func:`utils.deployment.serving.create_app` for ``POST /predict/image``
    (labs/w1_deploy_a_model.ipynb).
    """
    from PIL import Image, UnidentifiedImageError

    loc = ("body", "file")
    if not data:
        raise InputError(loc, "file is empty", "empty")
    h, w, c = _image_geometry(input_shape)
    try:
        img: Image.Image = Image.open(io.BytesIO(data), formats=tuple(IMAGE_TYPES.values()))
    except UnidentifiedImageError:
        raise InputError(
            loc, "file could not be decoded as a PNG or JPEG image", "image_decode"
        ) from None
    except Exception as exc:  # Pillow raises many types for hostile input
        raise InputError(loc, f"file could not be decoded: {exc}", "image_decode") from None
    width, height = img.size
    if width * height > max_pixels:
        raise InputError(
            loc,
            f"image is {width}x{height} pixels; at most {max_pixels} pixels are accepted",
            "image_too_large",
        )
    try:
        img.load()
    except Exception as exc:
        raise InputError(
            loc, f"file is a damaged or truncated image: {exc}", "image_decode"
        ) from None
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
