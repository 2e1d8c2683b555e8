"""Request and response bodies of the model server (pydantic models).

FastAPI checks every request body against these models and writes them into the ``/docs`` page
and its OpenAPI schema; every answer is one of them. Every error answer, from any layer of the
server, has the shape of :class:`ErrorResponse`, the one FastAPI uses for validation errors::

    {"detail": [{"loc": ["body", "inputs"], "msg": "...", "type": "..."}]}

Used by :func:`utils.deployment.serving.create_app`: labs/w1_deploy_a_model.ipynb reads
``/metadata`` and the prediction bodies (and shows the ``/docs`` page), project/05_deployment.ipynb
and project/06_monitoring.ipynb serve the spam filter with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

__all__ = [
    "ErrorItem",
    "ErrorResponse",
    "Metadata",
    "PredictRequest",
    "PredictResponse",
    "Prediction",
    "Readiness",
    "TextPredictRequest",
]


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

    inputs: Annotated[
        Any,
        WithJsonSchema(
            {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            }
        ),
    ] = Field(..., description="One text, or a list of texts (see max_text_chars in /metadata).")


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
    """What a client needs to know to call the model, and the server's limits."""

    model_name: str
    model_version: str
    framework: str
    input_type: Literal["numbers", "text"]
    input_shape: list[int] | None
    class_names: list[str]
    accepts_images: bool
    image_types: list[str]
    max_request_rows: int = Field(
        description="Most examples one request may carry (more is answered 422)."
    )
    max_body_bytes: int
    max_text_chars: int | None
    value_range: list[float] | None
    micro_batching: bool
    micro_batch_rows: int | None = Field(
        description="Rows at which the micro-batcher stops merging concurrent requests into one "
        "model call (null: no micro-batching, one call per request)."
    )
    inference_timeout_s: float | None = Field(
        description="Seconds a request waits for the model before a 504 (null: no time-out)."
    )


class Readiness(BaseModel):
    """Answer of ``GET /ready`` when the model can answer requests."""

    status: Literal["ready"]
    model_name: str
    model_version: str


class ErrorItem(BaseModel):
    """One problem: where it is (``loc``), what it is (``msg``) and its short ``type``."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer: which field, and what is wrong with it."""

    detail: list[ErrorItem]


def error_detail(loc: Sequence[str | int], msg: str, kind: str) -> list[dict[str, Any]]:
    """The ``detail`` of an :class:`ErrorResponse` holding one problem, as plain JSON values."""
    return [{"loc": list(loc), "msg": msg, "type": kind}]
