"""The routes of the app that :func:`utils.deployment.serving.create_app` builds.

- :func:`add_status_routes`: ``GET /health`` (liveness), ``GET /ready`` (readiness: 503 with a
  JSON reason while the model cannot answer), ``GET /metadata`` (the model and the limits),
  ``GET /metrics`` (Prometheus' text format, module ``utils.deployment.serving.metrics``) and
  ``GET /metrics.json`` (request counts and latency percentiles).
- :func:`add_predict_routes`: ``POST /predict`` (JSON numbers or text) and, when one example is
  an image, ``POST /predict/image`` (a PNG or JPEG upload). Each checks its input (module
  ``utils.deployment.serving.validation``), calls the model through its runner and answers one
  prediction a row, withholding those whose confidence is below ``min_confidence``.

A refused input (:class:`~utils.deployment.serving.validation.InputError`) becomes its 4xx
error, a model that cannot answer (:class:`~utils.deployment.inference.ModelUnavailable`) 503 or
504, and a model that fails on valid input 500; the handlers installed by
``utils.deployment.serving.app`` send each as JSON whose ``detail`` names the field.

Introduced in labs/w1_deploy_a_model.ipynb, which calls every route; project/05_deployment.ipynb
and project/06_monitoring.ipynb call them on the spam filter.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, File, HTTPException, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from utils.deployment.inference import ModelRunner, ModelUnavailable
from utils.deployment.serving.config import ServerConfig
from utils.deployment.serving.guard import _LatencyWindow
from utils.deployment.serving.metrics import CONTENT_TYPE, ServerMetrics
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

__all__ = ["add_predict_routes", "add_status_routes"]

logger = logging.getLogger("utils.deployment.serving")

MinConfidence = Annotated[
    float,
    Query(
        ge=0.0,
        le=1.0,
        description="Withhold predictions whose confidence (top probability) is below this.",
    ),
]


def _input_error(exc: InputError) -> HTTPException:
    """The answer to a client mistake: its 4xx status, and a detail naming the field."""
    return HTTPException(exc.status, detail=error_detail(exc.loc, exc.msg, exc.kind))


def _unavailable(exc: ModelUnavailable) -> HTTPException:
    """The answer while the model cannot answer: 503 or 504, with a Retry-After if known."""
    return HTTPException(
        exc.status, detail=error_detail(["model"], exc.msg, exc.kind), headers=exc.headers
    )


def add_status_routes(
    app: FastAPI,
    cfg: ServerConfig,
    tracker: _LatencyWindow,
    runner: ModelRunner,
    metrics: ServerMetrics,
) -> None:
    """``GET /health`` (liveness), ``/ready`` (readiness), ``/metadata`` and the metrics."""

    @app.get("/health", summary="Liveness: is the server process up and answering?")
    def health() -> dict[str, str]:
        return {"status": "ok", "model_name": cfg.model_name, "model_version": cfg.model_version}

    @app.get(
        "/ready",
        summary="Readiness: can the model answer predictions now?",
        response_model=Readiness,
        responses={503: {"model": ErrorResponse}},
    )
    async def ready() -> Readiness:
        try:
            await runner.ready()
        except ModelUnavailable as exc:
            raise _unavailable(exc) from None
        return Readiness(status="ready", model_name=cfg.model_name, model_version=cfg.model_version)

    @app.get("/metadata", summary="What the model expects and returns", response_model=Metadata)
    def metadata() -> Metadata:
        return Metadata(
            model_name=cfg.model_name,
            model_version=cfg.model_version,
            framework=cfg.framework,
            input_type=cfg.input_type,
            input_shape=list(cfg.input_shape) if cfg.input_shape is not None else None,
            class_names=list(cfg.class_names),
            accepts_images=cfg.accepts_images,
            image_types=list(IMAGE_TYPES) if cfg.accepts_images else [],
            max_request_rows=cfg.max_request_rows,
            max_body_bytes=cfg.max_body_bytes,
            max_text_chars=cfg.max_text_chars if cfg.input_type == "text" else None,
            value_range=list(cfg.value_range) if cfg.value_range else None,
            micro_batching=cfg.micro_batching,
            micro_batch_rows=cfg.micro_batch_rows if cfg.micro_batching else None,
            inference_timeout_s=cfg.inference_timeout,
        )

    @app.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "The metrics"}},
    )
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/metrics.json", summary="Request counts and latency percentiles (server side)")
    def metrics_json() -> dict[str, Any]:
        snap = tracker.snapshot()
        calls = runner.calls
        snap["model_calls"] = calls if calls is not None else snap["model_latency_ms"]["n"]
        snap["inference"] = runner.stats()
        return snap


def add_predict_routes(
    app: FastAPI, cfg: ServerConfig, runner: ModelRunner, metrics: ServerMetrics
) -> None:
    """``POST /predict`` (JSON numbers or text) and, for images, ``POST /predict/image``."""
    steps = _PredictSteps(cfg, runner, metrics)
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (408, 413, 415, 503, 504)
    }
    _add_json_route(app, steps, errors)
    if cfg.accepts_images and cfg.input_shape is not None:
        _add_image_route(app, steps, cfg.input_shape, errors)


class _PredictSteps:
    """What every predict route does: refuse bad input, call the model, answer; all counted."""

    def __init__(self, cfg: ServerConfig, runner: ModelRunner, metrics: ServerMetrics) -> None:
        self.cfg, self.runner, self.metrics = cfg, runner, metrics

    def refuse(self, exc: InputError) -> HTTPException:
        """Count a refused input by its kind, and answer it with its 4xx status."""
        self.metrics.observe_rejection(exc.kind)
        return _input_error(exc)

    async def infer(self, x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The model's probabilities for ``x``; 503 or 504 when it cannot answer, 500 on a bug."""
        self.metrics.observe_inputs(x)
        try:
            return await self.runner.predict(x)
        except ModelUnavailable as exc:
            raise _unavailable(exc) from None
        except Exception:
            logger.exception("the model failed on a batch of shape %s", x.shape)
            raise HTTPException(
                500,
                detail=error_detail(
                    ["model"],
                    "the model failed on valid input; the error is in the server log",
                    "model_error",
                ),
            ) from None

    def answer(
        self, p: npt.NDArray[Any], min_confidence: float, notes: list[str]
    ) -> PredictResponse:
        """The response body: one prediction a row, those below ``min_confidence`` withheld."""
        cfg = self.cfg
        self.metrics.observe_predictions(p)
        preds = _predictions(p, cfg.class_names, min_confidence)
        withheld = sum(pr.withheld for pr in preds)
        if withheld:
            notes = [
                *notes,
                f"{withheld} of {len(preds)} prediction(s) withheld: confidence "
                f"below min_confidence={min_confidence:g}",
            ]
        return PredictResponse(
            model_name=cfg.model_name,
            model_version=cfg.model_version,
            min_confidence=min_confidence,
            n_withheld=withheld,
            predictions=preds,
            notes=notes,
        )

    async def predict_json(self, raw: Any, min_confidence: float) -> PredictResponse:
        """Check the JSON ``inputs``, call the model on them and answer."""
        try:
            x = _validate_json(raw, self.cfg)
        except InputError as exc:
            raise self.refuse(exc) from None
        return self.answer(await self.infer(x), min_confidence, [])


def _add_json_route(
    app: FastAPI, steps: _PredictSteps, errors: dict[int | str, dict[str, Any]]
) -> None:
    """``POST /predict``, whose body is JSON text or JSON numbers as the app's input type says."""
    # One route, two bodies: the text body lets validate_texts name what is wrong with any value.
    if steps.cfg.input_type == "text":

        @app.post(
            "/predict",
            response_model=PredictResponse,
            summary="Predict from JSON text",
            responses=errors,
        )
        async def predict_text(
            body: TextPredictRequest, min_confidence: MinConfidence = 0.0
        ) -> PredictResponse:
            return await steps.predict_json(body.inputs, min_confidence)
    else:

        @app.post(
            "/predict",
            response_model=PredictResponse,
            summary="Predict from JSON numbers",
            responses=errors,
        )
        async def predict(
            body: PredictRequest, min_confidence: MinConfidence = 0.0
        ) -> PredictResponse:
            return await steps.predict_json(body.inputs, min_confidence)


def _add_image_route(
    app: FastAPI,
    steps: _PredictSteps,
    shape: tuple[int, ...],
    errors: dict[int | str, dict[str, Any]],
) -> None:
    """``POST /predict/image``: an uploaded PNG or JPEG, resized to ``shape``, then predicted."""
    cfg = steps.cfg

    @app.post(
        "/predict/image",
        response_model=PredictResponse,
        summary="Predict from an uploaded PNG or JPEG image",
        responses=errors,
    )
    async def predict_image(
        file: Annotated[UploadFile, File(description="A PNG or JPEG image.")],
        min_confidence: MinConfidence = 0.0,
    ) -> PredictResponse:
        # The client's file name is never used: the bytes are decoded in memory.
        ctype = (file.content_type or "").split(";")[0].strip().lower()
        if ctype not in IMAGE_TYPES:
            raise steps.refuse(
                InputError(
                    ["body", "file"],
                    f"file has content type {ctype or '(none)'!r}; send a PNG or "
                    "JPEG image (image/png or image/jpeg)",
                    "content_type",
                    415,
                )
            )
        data = await file.read()
        await file.close()
        try:
            x, notes = await run_in_threadpool(
                decode_image, data, shape, max_pixels=cfg.max_image_pixels
            )
        except InputError as exc:
            raise steps.refuse(exc) from None
        if cfg.value_range is not None:
            x = np.clip(x, *cfg.value_range)
        return steps.answer(await steps.infer(x), min_confidence, notes)


def _validate_json(raw: Any, cfg: ServerConfig) -> npt.NDArray[Any]:
    """Check the JSON ``inputs`` of ``POST /predict`` the way the app's input type needs."""
    if cfg.input_type == "text":
        texts, _ = validate_texts(raw, max_rows=cfg.max_request_rows, max_chars=cfg.max_text_chars)
        return texts
    assert cfg.input_shape is not None  # always set for numbers
    x, _ = validate_inputs(
        raw, cfg.input_shape, max_rows=cfg.max_request_rows, value_range=cfg.value_range
    )
    return x


def _predictions(
    p: npt.NDArray[Any], names: tuple[str, ...], min_confidence: float
) -> list[Prediction]:
    top = p.argmax(axis=1)
    conf = p[np.arange(len(p)), top]
    out = []
    for row, i, c in zip(p.tolist(), top.tolist(), conf.tolist(), strict=True):
        held = c < min_confidence
        out.append(
            Prediction(
                label=None if held else names[i],
                class_index=None if held else i,
                confidence=c,
                withheld=held,
                reason=f"confidence {c:.3f} is below min_confidence {min_confidence:g}"
                if held
                else None,
                probabilities=dict(zip(names, row, strict=True)),
            )
        )
    return out
