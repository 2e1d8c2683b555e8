"""Between a request and the model: the guard, the latency window and the model's runner.

- :class:`_Guard`, the app's outermost layer (ASGI middleware), refuses a request body that is
  too large (413) or too slow (408) while it arrives, a wrong content type (415) before the
  body is read, adds the ``X-Model-Version`` header to every answer, and counts and times every
  answer in the app's Prometheus metrics (module ``utils.deployment.serving.metrics``).
- :class:`_LatencyWindow` keeps the last latencies of the prediction routes and the count of
  their answers by status code, which ``GET /metrics.json`` reports.
- :func:`new_runner` builds the :class:`utils.deployment.inference.ModelRunner` that calls the
  model: micro-batching (concurrent requests merged into one call, which takes no more requests
  once it holds ``micro_batch_rows`` rows), the inference time-out, and the check that the
  model's answer is probabilities; each model call's rows and time go to the metrics.

Used by :func:`utils.deployment.serving.create_app`. labs/w1_deploy_a_model.ipynb sends an
oversized body and a burst of requests (micro-batching, ``/metrics``); project/05_deployment.ipynb
slows a canary down with ``batch_wait_ms``; week1/04_monitoring.ipynb and
project/06_monitoring.ipynb scrape the metrics with Prometheus.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import HTTPException
from fastapi.responses import JSONResponse

from utils.deployment.inference import ModelRunner
from utils.deployment.monitoring.latency import LatencyTracker
from utils.deployment.serving.config import ServerConfig
from utils.deployment.serving.metrics import ServerMetrics
from utils.deployment.serving.schemas import error_detail

__all__ = ["CONTENT_TYPES", "new_runner"]

#: The content types each prediction route accepts (its requests are also timed).
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "/predict": ("application/json",),
    "/predict/image": ("multipart/form-data",),
}


class _LatencyWindow:
    """The count of answers by status code, and two latency windows (ms).

    The windows are the :class:`~utils.deployment.monitoring.LatencyTracker` of week1/04: whole
    requests answered below 400, and model calls.
    """

    def __init__(self, window: int = 10_000) -> None:
        self.total = LatencyTracker(window)
        self.model = LatencyTracker(window)
        self._status: Counter[int] = Counter()
        self._lock = threading.Lock()

    def observe(self, ms: float, status: int) -> None:
        with self._lock:
            self._status[status] += 1
        if status < 400:
            self.total.observe(ms)

    def observe_model(self, ms: float) -> None:
        self.model.observe(ms)

    @staticmethod
    def _summary(tracker: LatencyTracker) -> dict[str, float | None]:
        n = len(tracker)
        if n == 0:  # undefined: no observation yet (the tracker's NaN; JSON has no NaN)
            return {"p50": None, "p95": None, "p99": None, "n": 0}
        p = tracker.percentiles((50, 95, 99))
        return {"p50": p[50.0], "p95": p[95.0], "p99": p[99.0], "n": n}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            status = dict(self._status)
        return {
            "requests": sum(status.values()),
            "by_status": {str(k): v for k, v in sorted(status.items())},
            "latency_ms": self._summary(self.total),
            "model_latency_ms": self._summary(self.model),
        }


#: Header of an error answer after which the server stops reading the request and closes.
_CLOSE = {"Connection": "close"}


class _Guard:
    """ASGI middleware: body size (413) and pace (408), content type (415), version, metrics.

    The body is counted as it arrives: past ``max_body_bytes`` the request is answered 413 at
    once and the connection closed, without reading the rest, whether or not the client sent a
    Content-Length. A body that stops arriving for ``body_timeout`` seconds is answered 408.
    Every answer given before the body is read closes the connection, so the rest is not read.
    """

    def __init__(
        self,
        app: Any,
        *,
        max_body_bytes: int,
        body_timeout: float,
        content_types: Mapping[str, tuple[str, ...]],
        model_version: str,
        tracker: _LatencyWindow,
        timed_paths: frozenset[str],
        metrics: ServerMetrics,
    ) -> None:
        self.app, self.max_body, self.content_types = app, max_body_bytes, content_types
        self.body_timeout = body_timeout
        self.version = model_version.encode("latin-1", "replace")
        self.tracker, self.timed, self.metrics = tracker, timed_paths, metrics

    async def _reject(self, send: Any, status: int, loc: list[str], msg: str, kind: str) -> None:
        response = JSONResponse(
            {"detail": error_detail(loc, msg, kind)}, status_code=status, headers=_CLOSE
        )
        await response({"type": "http"}, _no_receive, send)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        route = self.metrics.route(scope["path"])
        in_flight = self.metrics.in_flight.labels(route)
        in_flight.inc()

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-model-version", self.version),
                ]
            await send(message)

        try:
            await self._handle(scope, receive, send_with_header)
        finally:
            seconds = time.perf_counter() - start
            in_flight.dec()
            self.metrics.observe_request(route, status[0], seconds)
            if scope["path"] in self.timed:
                self.tracker.observe(seconds * 1000.0, status[0])

    async def _check_headers(self, scope: Any, send: Any) -> bool:
        """Answer a bad Content-Length (400), too large (413) or Content-Type (415); True if so."""
        headers = dict(scope.get("headers", ()))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await self._reject(
                    send,
                    400,
                    ["header", "content-length"],
                    "Content-Length is not an integer",
                    "header",
                )
                return True
            if n > self.max_body:
                await self._reject(
                    send,
                    413,
                    ["body"],
                    f"request body has {n} bytes; at most {self.max_body} are accepted",
                    "body_too_large",
                )
                return True
        allowed = self.content_types.get(scope["path"])
        if allowed is not None and scope["method"] == "POST":
            raw = headers.get(b"content-type", b"").decode("latin-1")
            ctype = raw.split(";")[0].strip().lower()
            if (ctype or allowed[0] != "application/json") and ctype not in allowed:
                await self._reject(
                    send,
                    415,
                    ["header", "content-type"],
                    f"content type {ctype or '(none)'!r} is not accepted here; send "
                    f"{' or '.join(allowed)}",
                    "content_type",
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
                raise HTTPException(
                    408,
                    detail=error_detail(
                        ["body"],
                        f"no part of the request body arrived for {wait:g} s",
                        "body_timeout",
                    ),
                    headers=_CLOSE,
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise HTTPException(
                        413,
                        detail=error_detail(
                            ["body"], f"request body exceeds {limit} bytes", "body_too_large"
                        ),
                        headers=_CLOSE,
                    )
            return message

        await self.app(scope, counting_receive, send)


async def _no_receive() -> Any:  # pragma: no cover - JSONResponse never reads the request
    return {"type": "http.disconnect"}


def new_runner(
    predictor: Any, cfg: ServerConfig, tracker: _LatencyWindow, metrics: ServerMetrics
) -> ModelRunner:
    """The model's runner: micro-batching (or not), the inference time-out, the output check."""
    n_classes = len(cfg.class_names)
    probe = _probe(cfg)

    def predict(x: npt.NDArray[Any]) -> Any:
        if x is probe:  # the warm-up call of GET /ready is not a request: not counted
            return predictor.predict_proba(x)
        start, seconds = time.perf_counter(), None
        try:
            p = predictor.predict_proba(x)
            seconds = time.perf_counter() - start
            return p
        finally:
            metrics.observe_model_call(len(x), seconds)

    return ModelRunner(
        predict,
        observe=tracker.observe_model,
        probe=probe,
        check=lambda p, n: _check_output(p, n, n_classes),
        timeout=cfg.inference_timeout,
        micro_batching=cfg.micro_batching,
        micro_batch_rows=cfg.micro_batch_rows,
        batch_wait_ms=cfg.batch_wait_ms,
    )


def _probe(cfg: ServerConfig) -> npt.NDArray[Any]:
    """A harmless batch of one example for the model's warm-up call (``GET /ready``)."""
    if cfg.input_type == "text":
        out = np.empty(1, dtype=object)
        out[0] = "warm-up"
        return out
    assert cfg.input_shape is not None  # always set for numbers
    x = np.zeros((1, *cfg.input_shape))
    return np.clip(x, *cfg.value_range) if cfg.value_range is not None else x


def _check_output(p: Any, n: int, k: int) -> npt.NDArray[np.float64]:
    """A model bug (wrong shape, NaN, not probabilities) must not reach the client as data."""
    out: npt.NDArray[np.float64] = np.asarray(p, dtype=np.float64)
    if out.shape != (n, k):
        raise ValueError(f"model returned shape {out.shape}, expected {(n, k)}")
    if not np.isfinite(out).all():
        raise ValueError("model returned NaN or infinite probabilities")
    if (out < -1e-6).any() or (np.abs(out.sum(axis=1) - 1.0) > 1e-3).any():
        raise ValueError("model output rows are not probabilities (end the model with a softmax)")
    return out
