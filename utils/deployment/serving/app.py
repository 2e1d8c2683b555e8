"""The FastAPI application: :func:`create_app`, its routes and how every failure is answered.

Routes: ``GET /health`` (liveness: the process answers), ``GET /ready`` (readiness: the model
answers; 503 with a JSON reason when it cannot), ``GET /metadata``, ``GET /metrics``,
``POST /predict`` (JSON numbers or text) and ``POST /predict/image`` (a PNG or JPEG upload),
with ``/docs`` served from packaged files (module ``utils.deployment.docs_offline``). Every input
is checked before the model sees it (module ``utils.deployment.serving.validation``); this
module turns each refusal, an :class:`~utils.deployment.serving.validation.InputError` or a
:class:`~utils.deployment.inference.ModelUnavailable`, into a 4xx or 5xx answer whose JSON
``detail`` names the field and the problem (schemas in ``utils.deployment.serving.schemas``).
The options are checked in ``utils.deployment.serving.config``; the guard in front of the app
and the model's runner are in ``utils.deployment.serving.guard``.

Introduced in labs/w1_deploy_a_model.ipynb; serves the spam filter, through
:func:`utils.spam_filter.model.filter_app`, in project/05_deployment.ipynb and
project/06_monitoring.ipynb.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from utils.deployment.docs_offline import install_offline_docs
from utils.deployment.inference import DEFAULT_INFERENCE_TIMEOUT, ModelRunner, ModelUnavailable
from utils.deployment.serving.config import ServerConfig, check_input_options, make_config
from utils.deployment.serving.guard import CONTENT_TYPES, _Guard, _LatencyWindow, new_runner
from utils.deployment.serving.predictors import as_predictor
from utils.deployment.serving.schemas import (
    ErrorResponse,
    Metadata,
    Prediction,
    PredictRequest,
    PredictResponse,
    Readiness,
    TextPredictRequest,
    error_detail,
)
from utils.deployment.serving.validation import (
    IMAGE_TYPES,
    InputError,
    decode_image,
    validate_inputs,
    validate_texts,
)

__all__ = ["create_app"]

logger = logging.getLogger("utils.deployment.serving")

MinConfidence = Annotated[float, Query(
    ge=0.0, le=1.0,
    description="Withhold predictions whose confidence (top probability) is below this.",
)]


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
        predictor, model_name=model_name, model_version=model_version, input_type=input_type,
        input_shape=input_shape, class_names=class_names, max_request_rows=max_request_rows,
        max_body_bytes=max_body_bytes, max_text_chars=max_text_chars, value_range=value_range,
        micro_batching=micro_batching, micro_batch_rows=micro_batch_rows,
        batch_wait_ms=batch_wait_ms, max_image_pixels=max_image_pixels,
        inference_timeout=inference_timeout, body_timeout=body_timeout)
    tracker = _LatencyWindow()
    runner = new_runner(predictor, cfg, tracker)
    app = _new_app(cfg, runner)
    app.state.config, app.state.tracker, app.state.predictor = cfg, tracker, predictor
    app.state.runner, app.state.batcher = runner, runner.batcher
    install_offline_docs(app)
    _add_status_routes(app, cfg, tracker, runner)
    _add_predict_routes(app, cfg, runner)
    _install_error_handlers(app)
    app.add_middleware(_Guard, max_body_bytes=cfg.max_body_bytes, body_timeout=cfg.body_timeout,
                       content_types=CONTENT_TYPES, model_version=cfg.model_version,
                       tracker=tracker, timed_paths=frozenset(CONTENT_TYPES))
    return app


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
        version=cfg.model_version, lifespan=lifespan, docs_url=None, redoc_url=None,
        responses={422: {"model": ErrorResponse, "description": "Invalid input"}},
    )


def _input_error(exc: InputError) -> HTTPException:
    """The answer to a client mistake: its 4xx status, and a detail naming the field."""
    return HTTPException(exc.status, detail=error_detail(exc.loc, exc.msg, exc.kind))


def _unavailable(exc: ModelUnavailable) -> HTTPException:
    """The answer while the model cannot answer: 503 or 504, with a Retry-After if known."""
    return HTTPException(exc.status, detail=error_detail(["model"], exc.msg, exc.kind),
                         headers=exc.headers)


def _add_status_routes(app: FastAPI, cfg: ServerConfig, tracker: _LatencyWindow,
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
            max_request_rows=cfg.max_request_rows, max_body_bytes=cfg.max_body_bytes,
            max_text_chars=cfg.max_text_chars if cfg.input_type == "text" else None,
            value_range=list(cfg.value_range) if cfg.value_range else None,
            micro_batching=cfg.micro_batching,
            micro_batch_rows=cfg.micro_batch_rows if cfg.micro_batching else None,
            inference_timeout_s=cfg.inference_timeout,
        )

    @app.get("/metrics", summary="Request counts and latency percentiles (server side)")
    def metrics() -> dict[str, Any]:
        snap = tracker.snapshot()
        calls = runner.calls
        snap["model_calls"] = calls if calls is not None else snap["model_latency_ms"]["n"]
        snap["inference"] = runner.stats()
        return snap


def _add_predict_routes(app: FastAPI, cfg: ServerConfig, runner: ModelRunner) -> None:
    """``POST /predict`` (JSON numbers or text) and, for images, ``POST /predict/image``."""

    async def infer(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        try:
            return await runner.predict(x)
        except ModelUnavailable as exc:
            raise _unavailable(exc) from None
        except Exception:
            logger.exception("the model failed on a batch of shape %s", x.shape)
            raise HTTPException(500, detail=error_detail(
                ["model"], "the model failed on valid input; the error is in the server log",
                "model_error")) from None

    def answer(p: npt.NDArray[Any], min_confidence: float, notes: list[str]) -> PredictResponse:
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
            raise _input_error(exc) from None
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

    shape = cfg.input_shape
    if not cfg.accepts_images or shape is None:
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
            raise _input_error(InputError(
                ["body", "file"], f"file has content type {ctype or '(none)'!r}; send a PNG or "
                "JPEG image (image/png or image/jpeg)", "content_type", 415))
        data = await file.read()
        await file.close()
        try:
            x, notes = await run_in_threadpool(decode_image, data, shape,
                                               max_pixels=cfg.max_image_pixels)
        except InputError as exc:
            raise _input_error(exc) from None
        if cfg.value_range is not None:
            x = np.clip(x, *cfg.value_range)
        return answer(await infer(x), min_confidence, notes)


def _validate_json(raw: Any, cfg: ServerConfig) -> npt.NDArray[Any]:
    """Check the JSON ``inputs`` of ``POST /predict`` the way the app's input type needs."""
    if cfg.input_type == "text":
        texts, _ = validate_texts(raw, max_rows=cfg.max_request_rows, max_chars=cfg.max_text_chars)
        return texts
    assert cfg.input_shape is not None  # always set for numbers
    x, _ = validate_inputs(raw, cfg.input_shape, max_rows=cfg.max_request_rows,
                           value_range=cfg.value_range)
    return x


def _predictions(p: npt.NDArray[Any], names: tuple[str, ...], min_confidence: float) -> list[Prediction]:
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
        detail: Any = exc.detail
        if not isinstance(detail, list):
            detail = error_detail([], str(detail), "http_error")
        return JSONResponse({"detail": detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def on_starlette_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers is not None else None
        return await on_http_error(request, HTTPException(exc.status_code, exc.detail, headers))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": error_detail([], "internal server error; see the server log",
                                                    "server_error")}, status_code=500)
