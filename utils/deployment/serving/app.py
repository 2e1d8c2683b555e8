"""The FastAPI application: :func:`create_app`, its routes and how every failure is answered.

Routes (added by module ``utils.deployment.serving.routes``): ``GET /health`` (liveness: the
process answers), ``GET /ready`` (readiness: the model answers; 503 with a JSON reason when it
cannot), ``GET /metadata``, ``GET /metrics`` (Prometheus' text format, module
``utils.deployment.serving.metrics``), ``GET /metrics.json`` (request counts and latency
percentiles as JSON), ``POST /predict`` (JSON numbers or text) and ``POST /predict/image`` (a PNG
or JPEG upload), with ``/docs`` served from packaged files (module
``utils.deployment.docs_offline``). Every input is checked before the model sees it (module
``utils.deployment.serving.validation``); the routes turn each refusal, an
:class:`~utils.deployment.serving.validation.InputError` or a
:class:`~utils.deployment.inference.ModelUnavailable`, into a 4xx or 5xx error, and the handlers
this module installs answer every error with JSON whose ``detail`` names the field and the
problem (schemas in ``utils.deployment.serving.schemas``). The options are checked in
``utils.deployment.serving.config``; the guard in front of the app and the model's runner are in
``utils.deployment.serving.guard``.

Introduced in labs/w1_deploy_a_model.ipynb; serves the spam filter, through
:func:`utils.spam_filter.model.filter_app`, in project/05_deployment.ipynb and
project/06_monitoring.ipynb.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from utils.deployment.docs_offline import install_offline_docs
from utils.deployment.inference import DEFAULT_INFERENCE_TIMEOUT, ModelRunner
from utils.deployment.serving.config import ServerConfig, check_input_options, make_config
from utils.deployment.serving.guard import CONTENT_TYPES, _Guard, _LatencyWindow, new_runner
from utils.deployment.serving.metrics import ServerMetrics
from utils.deployment.serving.predictors import as_predictor
from utils.deployment.serving.routes import add_predict_routes, add_status_routes
from utils.deployment.serving.schemas import ErrorResponse, error_detail

__all__ = ["create_app"]

logger = logging.getLogger("utils.deployment.serving")


def create_app(
    model: Any,
    *,
    model_name: str = "model",
    model_version: str = "1",
    input_type: Literal["numbers", "text"] = "numbers",
    input_shape: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    max_request_rows: int = 256,
    max_body_bytes: int = 2_000_000,
    max_text_chars: int = 5_000,
    value_range: tuple[float, float] | None = None,
    micro_batching: bool = True,
    micro_batch_rows: int = 64,
    batch_wait_ms: float = 0.0,
    max_image_pixels: int = 4096 * 4096,
    inference_timeout: float | None = DEFAULT_INFERENCE_TIMEOUT,
    body_timeout: float = 10.0,
) -> FastAPI:
    """Build a FastAPI app that serves ``model`` (loaded once, shared by every request).

    Args:
        model: a predictor, a Keras model, a scikit-learn estimator, or anything with
            ``predict_proba`` (see :func:`~utils.deployment.serving.as_predictor`).
        model_name, model_version: reported by ``/metadata`` and in the ``X-Model-Version``
            header of every answer.
        input_type: ``"numbers"``: an example is nested numbers of shape ``input_shape``.
            ``"text"``: an example is one string, and ``POST /predict`` takes
            ``{"inputs": "one text"}`` or ``{"inputs": ["text 1", "text 2"]}``; the model's
            ``predict_proba`` receives a 1-D object array of strings (see
            :class:`~utils.deployment.serving.SklearnPredictor`). ``input_shape`` and
            ``value_range`` do not apply to text (a ValueError if given).
        input_shape: shape of one example; read from the model when it knows it.
        class_names: one name per output column; read from the model when it knows them.
        max_request_rows: most examples one request may carry (more is a 422).
        max_body_bytes: largest request body; a bigger one is refused with 413 (and the
            connection closed) before it is read, or as soon as the limit is passed.
        max_text_chars: longest text one example may be, in characters (else 422); text only.
        value_range: optional ``(low, high)`` every input value must lie in (else 422).
        micro_batching: run the model on a worker thread that merges concurrent requests into
            one call. Off: each request calls the model on its own in a worker thread.
        micro_batch_rows: rows at which the micro-batcher stops merging requests into one
            call (a request is never split, so a call can exceed it by the rows of the last
            request merged).
        batch_wait_ms: how long the micro-batcher waits for more requests, in ms (0 to 1000).
        max_image_pixels: largest uploaded image (width x height), a guard against image bombs.
        inference_timeout: seconds a request waits for the model (then 504); while a model
            call is older than this, predictions and ``/ready`` get 503 at once (module
            ``utils.deployment.inference``). None waits for ever.
        body_timeout: seconds the server waits for the next part of a request body (else 408).

    The routes are listed in the module's docstring; ``POST /predict/image`` exists only when
    the input shape is an image (never for text), and ``GET /metadata`` shows the limits above.

    Introduced in labs/w1_deploy_a_model.ipynb. For text it is used by
    :func:`utils.spam_filter.model.filter_app` in the final project (project/05_deployment.ipynb
    and project/06_monitoring.ipynb).
    """
    check_input_options(input_type, input_shape=input_shape, value_range=value_range)
    predictor = as_predictor(model, input_shape, input_type=input_type)
    cfg = make_config(
        predictor,
        model_name=model_name,
        model_version=model_version,
        input_type=input_type,
        input_shape=input_shape,
        class_names=class_names,
        max_request_rows=max_request_rows,
        max_body_bytes=max_body_bytes,
        max_text_chars=max_text_chars,
        value_range=value_range,
        micro_batching=micro_batching,
        micro_batch_rows=micro_batch_rows,
        batch_wait_ms=batch_wait_ms,
        max_image_pixels=max_image_pixels,
        inference_timeout=inference_timeout,
        body_timeout=body_timeout,
    )
    return _assemble_app(predictor, cfg)


def _assemble_app(predictor: Any, cfg: ServerConfig) -> FastAPI:
    """The app for a checked configuration: the model's runner, the metrics, the routes and
    the guard in front of them; ``app.state`` keeps each part for the tests and the pages."""
    tracker, metrics = _LatencyWindow(), _new_metrics(cfg)
    runner = new_runner(predictor, cfg, tracker, metrics)
    app = _new_app(cfg, runner)
    app.state.config, app.state.tracker, app.state.predictor = cfg, tracker, predictor
    app.state.runner, app.state.batcher, app.state.metrics = runner, runner.batcher, metrics
    _add_routes(app, cfg, tracker, runner, metrics)
    app.add_middleware(
        _Guard,
        max_body_bytes=cfg.max_body_bytes,
        body_timeout=cfg.body_timeout,
        content_types=CONTENT_TYPES,
        model_version=cfg.model_version,
        tracker=tracker,
        timed_paths=frozenset(CONTENT_TYPES),
        metrics=metrics,
    )
    return app


def _new_metrics(cfg: ServerConfig) -> ServerMetrics:
    """The app's Prometheus metrics; the routes that call the model get error series at 0."""
    routes = ("/predict", "/predict/image") if cfg.accepts_images else ("/predict",)
    return ServerMetrics(
        model_name=cfg.model_name,
        model_version=cfg.model_version,
        class_names=cfg.class_names,
        input_type=cfg.input_type,
        predict_routes=routes,
    )


def _add_routes(
    app: FastAPI,
    cfg: ServerConfig,
    tracker: _LatencyWindow,
    runner: ModelRunner,
    metrics: ServerMetrics,
) -> None:
    """Every route, the handlers of every failure, and the routes' names for the metrics."""
    install_offline_docs(app)
    add_status_routes(app, cfg, tracker, runner, metrics)
    add_predict_routes(app, cfg, runner, metrics)
    _install_error_handlers(app)
    metrics.set_routes(getattr(route, "path", "") for route in app.routes)


def _new_app(cfg: ServerConfig, runner: ModelRunner) -> FastAPI:
    """The FastAPI object, without FastAPI's own docs pages (they need a CDN)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.stop()

    return FastAPI(
        title=f"{cfg.model_name} (version {cfg.model_version})",
        description="Predictions from a classifier. Every client mistake is answered with a 4xx "
        "status and a JSON detail naming the field and the problem.",
        version=cfg.model_version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={422: {"model": ErrorResponse, "description": "Invalid input"}},
    )


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
            items.append(
                {
                    "loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
                    "msg": msg,
                    "type": str(err.get("type", "value_error")),
                }
            )
        return JSONResponse({"detail": items}, status_code=422)

    @app.exception_handler(HTTPException)
    async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if not isinstance(detail, list):
            detail = error_detail([], str(detail), "http_error")
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_starlette_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers is not None else None
        return await on_http_error(request, HTTPException(exc.status_code, exc.detail, headers))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {
                "detail": error_detail(
                    [], "internal server error; see the server log", "server_error"
                )
            },
            status_code=500,
        )
