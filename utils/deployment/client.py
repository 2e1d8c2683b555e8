"""A small HTTP client for the server of :mod:`utils.deployment.serving`.

Introduced in labs/w1_deploy_a_model.ipynb. Every call has a time-out, and every failure raises
:class:`ServingError` with the HTTP status and the server's own ``detail``, so a mistake reads
like ``POST /predict answered 422: body.inputs: inputs has shape (3,); expected ...`` instead
of a bare status code. :meth:`ModelClient.predict` sends numbers or, to a text model (introduced
for text in the final project, project/05_deployment.ipynb), strings.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from utils._validation import check_number

__all__ = ["ModelClient", "ServingError", "encode_png"]


class ServingError(RuntimeError):
    """A request failed: no answer (``status_code`` None) or an error status from the server."""

    def __init__(self, message: str, *, status_code: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


def _format_detail(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()))
                parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def encode_png(image: Any) -> bytes:
    """Encode a (H, W) greyscale or (H, W, 3) RGB image of 0-255 values as PNG bytes, in memory.

    Introduced in labs/w1_deploy_a_model.ipynb.
    """
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3) or arr.size == 0:
        raise ValueError(f"image must have shape (H, W), (H, W, 1) or (H, W, 3), got {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
            raise ValueError("image values must be finite and within [0, 255]")
        arr = np.rint(arr).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _json_inputs(inputs: Any) -> Any:
    """``inputs`` as JSON-ready values: numbers and NumPy (or pandas) strings become lists.

    A string, or a list or tuple holding strings, is sent as it is: the server names what is
    wrong with a bad element (NumPy would only fail on a nested list).
    """
    if isinstance(inputs, str):
        return inputs
    sequence = isinstance(inputs, (list, tuple))
    if sequence and any(isinstance(v, str) for v in inputs):
        return inputs
    arr = np.asarray(inputs)
    if arr.dtype.kind in "biuf" or (arr.dtype.kind in "UO" and not sequence):
        return arr.tolist()  # numbers, or an array of strings as plain Python str
    return inputs


class ModelClient:
    """Call a model server: ``health()``, ``metadata()``, ``predict(x)``, ``predict_image(img)``.

    Args:
        base_url: e.g. ``"http://127.0.0.1:8000"``.
        timeout: seconds to wait for a connection and for an answer.

    Use it as a context manager (or call ``close()``) so its connection is released.

    Introduced in labs/w1_deploy_a_model.ipynb.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = check_number("timeout", timeout, min=0.0, min_open=True)  # seconds
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout)
        self._class_names: list[str] | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request and return the response whatever its status (for experiments)."""
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ServingError(
                f"{method} {path}: no answer from {self.base_url} within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise ServingError(
                f"{method} {path}: cannot reach {self.base_url} (is the server running?): {exc}"
            ) from None

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else response.text[:200]
            raise ServingError(
                f"{method} {path} answered {response.status_code} {response.reason_phrase}: "
                f"{_format_detail(detail)}",
                status_code=response.status_code,
                detail=detail,
            )
        if not isinstance(body, dict):
            what = "not JSON" if body is None else "JSON but not an object"
            raise ServingError(
                f"{method} {path}: the answer is {what}", status_code=response.status_code
            )
        return body

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def metadata(self) -> dict[str, Any]:
        return self._call("GET", "/metadata")

    def metrics(self) -> dict[str, Any]:
        """The server's request counts and latency percentiles (``GET /metrics.json``).

        ``GET /metrics`` holds the same counts, and more, in Prometheus' text format, for a
        Prometheus server to scrape (module ``utils.deployment.prometheus``).
        """
        return self._call("GET", "/metrics.json")

    def predict(self, inputs: Any, *, min_confidence: float | None = None) -> dict[str, Any]:
        """POST one example or a batch to ``/predict``.

        ``inputs`` is an array-like of numbers or, for a text model, one ``str`` or a list,
        tuple, NumPy array or pandas Series of them.
        """
        params = {} if min_confidence is None else {"min_confidence": min_confidence}
        return self._call("POST", "/predict", json={"inputs": _json_inputs(inputs)}, params=params)

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """POST a batch to ``/predict`` and return its ``(n, k)`` class probabilities.

        Columns follow the server's ``class_names`` (read once from ``/metadata``). With this
        method a client is a *model* for :mod:`utils.deployment.patterns`, so a
        ``ShadowDeployment`` or a ``CanaryRollout`` can route requests to real servers.
        Introduced in project/05_deployment.ipynb.
        """
        if self._class_names is None:
            self._class_names = [str(c) for c in self.metadata()["class_names"]]
        answer = self.predict(inputs)
        return np.array(
            [[p["probabilities"][c] for c in self._class_names] for p in answer["predictions"]],
            dtype=np.float64,
        )

    def predict_image(
        self, image: Any, *, content_type: str = "image/png", min_confidence: float | None = None
    ) -> dict[str, Any]:
        """POST an image to ``/predict/image``: PNG/JPEG bytes, a file path, or a pixel array.

        An array is encoded to PNG in memory first. The file name sent is always
        ``upload`` plus an extension: the server never uses it, and neither should any server.
        """
        if isinstance(image, (str, os.PathLike)):
            data = Path(image).read_bytes()
        elif isinstance(image, (bytes, bytearray)):
            data = bytes(image)
        else:
            data, content_type = encode_png(image), "image/png"
        ext = ".jpg" if content_type == "image/jpeg" else ".png"
        params = {} if min_confidence is None else {"min_confidence": min_confidence}
        return self._call(
            "POST",
            "/predict/image",
            params=params,
            files={"file": ("upload" + ext, data, content_type)},
        )
