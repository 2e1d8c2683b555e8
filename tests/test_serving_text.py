"""Tests for text input in utils.deployment.serving, its client and its command line.

A tiny real text pipeline (normalise_comments, TF-IDF, logistic regression) stands in for the
final project's spam classifier. Servers listen on loopback only.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from _serving_checks import assert_withholds_exactly
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from utils.deployment.__main__ import _parser
from utils.deployment.client import ModelClient, ServingError
from utils.deployment.serving import (
    InputError,
    SklearnPredictor,
    as_predictor,
    create_app,
    load_model,
    serve_in_background,
    validate_texts,
)
from utils.pipeline import normalise_comments

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["not spam", "spam"]

SPAM = [
    "Check out my channel http://spam.example.com",
    "subscribe to my channel for free gifts",
    "Buy cheap followers at www.followers.example",
    "free money, click here now",
    "visit my site . com for prizes",
    "CHECK MY CHANNEL PLEASE and subscribe",
]
HAM = [
    "I love this song so much",
    "this video brings back memories",
    "great beat, the singer is amazing",
    "who is still listening in 2024?",
    "the chorus is beautiful",
    "best music video ever made",
]
QUERIES = [
    "subscribe to my channel",
    "what a beautiful song",
    "free gifts at www.example.com",
    "the singer is great",
    "click here for money",
    "memories of this video",
    "hello",
    "best channel ever, subscribe",
]


# ---------------------------------------------------------------------------------------------
# Fixtures: a tiny spam pipeline and an app that serves it
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """Small matrices: BLAS threads only fight each other (and other jobs) on 2 cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    texts, labels = SPAM + HAM, [1] * len(SPAM) + [0] * len(HAM)
    model = make_pipeline(
        FunctionTransformer(normalise_comments), TfidfVectorizer(), LogisticRegression()
    )
    return model.fit(texts, labels)


@pytest.fixture(scope="module")
def app(pipeline: Pipeline):
    return create_app(
        pipeline,
        input_type="text",
        class_names=NAMES,
        model_name="spam",
        model_version="t1",
        max_request_rows=20,
        max_body_bytes=20_000,
        max_text_chars=200,
    )


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    with TestClient(app) as c:
        yield c


def _expected(pipeline: Pipeline, texts: list[str]) -> np.ndarray:
    return pipeline.predict_proba(np.array(texts, dtype=object))


def _probabilities(body: dict[str, Any]) -> np.ndarray:
    return np.array([list(p["probabilities"].values()) for p in body["predictions"]])


class _Counting:
    """A text model that counts its calls and the rows it saw (and checks they are strings)."""

    classes = ("not spam", "spam")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.batches: list[np.ndarray] = []

    def predict_proba(self, X: Any) -> np.ndarray:
        x = np.asarray(X)
        assert x.dtype == object and x.ndim == 1 and all(type(t) is str for t in x), x
        self.batches.append(x)
        return self.pipeline.predict_proba(x)


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------
def test_one_text_and_a_batch_match_the_pipeline(client, pipeline) -> None:
    r = client.post("/predict", json={"inputs": QUERIES[0]})
    assert r.status_code == 200, r.text
    assert r.headers["x-model-version"] == "t1"
    body = r.json()
    assert body["model_name"] == "spam" and body["model_version"] == "t1"
    assert len(body["predictions"]) == 1
    one = body["predictions"][0]
    p = _expected(pipeline, QUERIES[:1])[0]
    assert one["label"] == NAMES[int(p.argmax())] and one["class_index"] == int(p.argmax())
    assert list(one["probabilities"]) == NAMES
    np.testing.assert_allclose(list(one["probabilities"].values()), p, atol=1e-12)

    batch = client.post("/predict", json={"inputs": QUERIES}).json()
    got = _probabilities(batch)
    np.testing.assert_allclose(got, _expected(pipeline, QUERIES), atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    labels = [p["label"] for p in batch["predictions"]]
    assert labels == [NAMES[i] for i in pipeline.predict(np.array(QUERIES, dtype=object))]
    assert batch["n_withheld"] == 0 and batch["notes"] == []


def test_the_pipeline_tells_spam_from_ham(client) -> None:
    body = client.post("/predict", json={"inputs": [SPAM[0], HAM[0]]}).json()
    assert [p["label"] for p in body["predictions"]] == ["spam", "not spam"]


def test_min_confidence_withholds_exactly_the_unsure(client, pipeline) -> None:
    conf = _expected(pipeline, QUERIES).max(axis=1)
    threshold = float(np.median(conf))
    r = client.post("/predict", params={"min_confidence": threshold}, json={"inputs": QUERIES})
    assert_withholds_exactly(r.json(), conf, threshold)
    everything = client.post("/predict?min_confidence=1", json={"inputs": "hello"}).json()
    assert everything["n_withheld"] == 1


# ---------------------------------------------------------------------------------------------
# Client mistakes: 422 with a message naming the problem, and the model never runs
# ---------------------------------------------------------------------------------------------
MALFORMED = [
    ("empty list", [], "empty", "inputs is empty"),
    (
        "integer element",
        ["ok", "fine", 5],
        "not_a_string",
        "inputs[2] is the integer 5; every input must be a string",
    ),
    ("float element", ["ok", 1.5], "not_a_string", "inputs[1] is the number 1.5"),
    ("null element", [None, "ok"], "not_a_string", "inputs[0] is null"),
    ("boolean element", ["ok", True], "not_a_string", "inputs[1] is the boolean true"),
    ("object element", [{"text": "hi"}], "not_a_string", "inputs[0] is an object"),
    (
        "nested list",
        ["ok", ["nested"]],
        "nested",
        "inputs[1] is a list; send one string or a flat list of strings (no nested lists)",
    ),
    ("empty string in a batch", ["ok", ""], "empty_text", "inputs[1] is an empty string"),
    (
        "white space in a batch",
        ["ok", "ok", " \t\n "],
        "empty_text",
        "inputs[2] is only white space",
    ),
    ("single empty string", "", "empty_text", "inputs is an empty string"),
    ("single white space", "   ", "empty_text", "inputs is only white space"),
    (
        "text too long",
        ["ok", "x" * 201],
        "text_too_long",
        "inputs[1] has 201 characters; at most 200 are accepted",
    ),
    (
        "single text too long",
        "y" * 250,
        "text_too_long",
        "inputs has 250 characters; at most 200 are accepted",
    ),
    (
        "too many rows",
        ["ok"] * 21,
        "too_many_rows",
        "inputs holds 21 examples; this server takes at most 20 per request (split the batch)",
    ),
    (
        "inputs a number",
        3,
        "not_a_string",
        "inputs is the integer 3; send one string or a list of strings",
    ),
    ("inputs null", None, "not_a_string", "inputs is null"),
    ("inputs an object", {"a": "b"}, "not_a_string", "inputs is an object"),
]


@pytest.mark.parametrize(
    ("case", "inputs", "kind", "message"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_texts_are_422s_naming_the_problem(client, case, inputs, kind, message) -> None:
    r = client.post("/predict", json={"inputs": inputs})
    assert r.status_code == 422, r.text
    assert r.headers["x-model-version"] == "t1"
    (item,) = r.json()["detail"]
    assert item["loc"] == ["body", "inputs"]
    assert item["type"] == kind
    assert message in item["msg"], item["msg"]


@pytest.mark.parametrize(
    ("case", "inputs", "kind", "message"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_validate_texts_raises_input_error(case, inputs, kind, message) -> None:
    with pytest.raises(InputError) as e:
        validate_texts(inputs, max_rows=20, max_chars=200)
    assert e.value.loc == ["body", "inputs"] and e.value.kind == kind and e.value.status == 422
    assert message in e.value.msg


def test_bad_requests_never_reach_the_model(pipeline) -> None:
    model = _Counting(pipeline)
    app = create_app(model, input_type="text", max_request_rows=20, max_text_chars=200)
    with TestClient(app) as c:
        for _, inputs, _, _ in MALFORMED:
            assert c.post("/predict", json={"inputs": inputs}).status_code == 422
        assert model.batches == []
        assert c.post("/predict", json={"inputs": ["ok", "fine"]}).status_code == 200
    assert [len(b) for b in model.batches] == [2]


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({}, ["body", "inputs"], "field inputs is required"),
        ({"text": "hello"}, ["body", "text"], "Extra inputs are not permitted"),
        ([1, 2], ["body"], "valid dictionary"),
    ],
)
def test_malformed_bodies(client, body, loc, message) -> None:
    r = client.post("/predict", json=body)
    assert r.status_code == 422, r.text
    assert any(item["loc"] == loc and message in item["msg"] for item in r.json()["detail"])


def test_broken_json_and_min_confidence_out_of_range(client) -> None:
    r = client.post(
        "/predict", content=b'{"inputs": ["a", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "JSON decode error" in r.json()["detail"][0]["msg"]
    r = client.post("/predict?min_confidence=2", json={"inputs": "hello"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "min_confidence"]


def test_oversized_body_is_413(client) -> None:
    r = client.post("/predict", json={"inputs": ["spam " * 39] * 120})  # > 20,000 bytes
    assert r.status_code == 413
    assert "at most 20000" in r.json()["detail"][0]["msg"]


def test_wrong_content_type_is_415(client) -> None:
    r = client.post(
        "/predict", content=b"buy cheap followers", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert "content type 'text/plain' is not accepted" in r.json()["detail"][0]["msg"]
    r = client.post("/predict", data={"inputs": "hello"})
    assert r.status_code == 415 and "send application/json" in r.json()["detail"][0]["msg"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=30,
)
TEXT_INPUTS = JSON_VALUES | st.text(max_size=30) | st.lists(st.text(max_size=30), max_size=12)


@settings(max_examples=300, deadline=None)
@given(TEXT_INPUTS)
def test_validate_texts_raises_only_input_errors(value) -> None:
    try:
        texts, single = validate_texts(value, max_rows=10, max_chars=20)
    except InputError as exc:
        assert exc.loc == ["body", "inputs"] and exc.msg and exc.status == 422
        return
    assert texts.dtype == object and texts.ndim == 1 and 1 <= len(texts) <= 10
    assert all(type(t) is str and t.strip() and len(t) <= 20 for t in texts)
    assert single == isinstance(value, str)
    assert list(texts) == ([value] if single else value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT_INPUTS)
def test_no_json_input_produces_a_server_error(client, value) -> None:
    r = client.post(
        "/predict",
        content=json.dumps({"inputs": value}).encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (200, 422), r.text
    if r.status_code != 200:
        assert r.json()["detail"][0]["msg"]


def test_validate_texts_returns_an_object_array_of_str() -> None:
    texts, single = validate_texts("héllo wörld", max_rows=3, max_chars=11)
    assert single and texts.dtype == object and texts.tolist() == ["héllo wörld"]
    texts, single = validate_texts(["a", " b "], max_rows=2, max_chars=3)
    assert not single and texts.shape == (2,) and texts.tolist() == ["a", " b "]


# ---------------------------------------------------------------------------------------------
# Routes and configuration
# ---------------------------------------------------------------------------------------------
def test_metadata_of_a_text_app(client) -> None:
    meta = client.get("/metadata").json()
    assert meta["input_type"] == "text"
    assert meta["input_shape"] is None
    assert meta["max_text_chars"] == 200
    assert meta["class_names"] == NAMES
    assert meta["framework"] == "scikit-learn"
    assert meta["accepts_images"] is False and meta["image_types"] == []
    assert meta["value_range"] is None and meta["max_request_rows"] == 20


def test_metadata_of_a_numbers_app() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with TestClient(create_app(model, class_names=["neg", "pos"], max_text_chars=10)) as c:
        meta = c.get("/metadata").json()
        assert meta["input_type"] == "numbers" and meta["max_text_chars"] is None
        assert meta["input_shape"] == [3] and meta["accepts_images"] is False
        assert c.post("/predict", json={"inputs": [0.1, 0.2, 0.3]}).status_code == 200
        r = c.post("/predict", json={"inputs": "hello"})  # text sent to a numbers app
        assert r.status_code == 422


def test_no_image_route_for_text(client) -> None:
    r = client.post("/predict/image", files={"file": ("a.png", b"\x89PNG", "image/png")})
    assert r.status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert "/predict" in paths and "/predict/image" not in paths


def test_create_app_refuses_options_that_do_not_apply_to_text(pipeline) -> None:
    with pytest.raises(ValueError, match=r"input_shape does not apply to input_type='text'"):
        create_app(pipeline, input_type="text", input_shape=(3,), class_names=NAMES)
    with pytest.raises(ValueError, match=r"value_range does not apply to input_type='text'"):
        create_app(pipeline, input_type="text", value_range=(0, 1), class_names=NAMES)
    with pytest.raises(ValueError, match=r"input_type must be 'numbers' or 'text', got 'words'"):
        create_app(pipeline, input_type="words", class_names=NAMES)
    with pytest.raises(ValueError, match="max_text_chars must be an int >= 1, got 0"):
        create_app(pipeline, input_type="text", max_text_chars=0, class_names=NAMES)
    with pytest.raises(ValueError, match="class_names has 3 names but the model has 2"):
        create_app(pipeline, input_type="text", class_names=["a", "b", "c"])


def test_keras_models_are_refused_for_text(tmp_path) -> None:
    (tmp_path / "m.keras").write_bytes(b"not read")
    with pytest.raises(TypeError, match="Keras models are not supported with input_type='text'"):
        load_model(tmp_path / "m.keras", input_type="text")
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(TypeError, match="not supported with input_type='text'"):
        create_app(model, input_type="text", class_names=NAMES)
    with pytest.raises(TypeError, match="not supported with input_type='text'"):
        as_predictor(as_predictor(model), input_type="text")


def test_class_names_default_to_the_estimator_classes(pipeline) -> None:
    with TestClient(create_app(pipeline, input_type="text")) as c:
        assert c.get("/metadata").json()["class_names"] == ["0", "1"]
        assert c.post("/predict", json={"inputs": SPAM[1]}).json()["predictions"][0]["label"] == "1"


class _Broken:
    """A text model with a bug: NaN probabilities for texts that mention 'nan'."""

    classes = ("a", "b")

    def predict_proba(self, X: Any) -> np.ndarray:
        p = np.tile([0.3, 0.7], (len(X), 1))
        p[["nan" in t for t in X]] = np.nan
        return p


@pytest.mark.parametrize("micro_batching", [True, False])
def test_model_bugs_are_clean_500s(micro_batching) -> None:
    app = create_app(_Broken(), input_type="text", micro_batching=micro_batching)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/predict", json={"inputs": "banana"})
        assert r.status_code == 500 and r.json()["detail"][0]["type"] == "model_error"
        r = c.post("/predict", json={"inputs": ["fine"]})
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "b"


# ---------------------------------------------------------------------------------------------
# Micro-batching of texts
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("micro_batching", [True, False])
def test_micro_batching_on_and_off_match_the_pipeline(pipeline, micro_batching) -> None:
    app = create_app(
        pipeline,
        input_type="text",
        class_names=NAMES,
        micro_batching=micro_batching,
        batch_wait_ms=5,
    )
    requests = [QUERIES[i % len(QUERIES)] if i % 3 else QUERIES[: 1 + i % 5] for i in range(24)]
    server = serve_in_background(app)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http, ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda x: http.post("/predict", json={"inputs": x}), requests))
    finally:
        server.stop()
    for texts, r in zip(requests, answers, strict=True):
        assert r.status_code == 200, r.text
        texts = [texts] if isinstance(texts, str) else texts
        np.testing.assert_allclose(_probabilities(r.json()), _expected(pipeline, texts), atol=1e-12)


def test_concurrent_requests_are_merged_into_one_call_of_strings(pipeline) -> None:
    model = _Counting(pipeline)
    # A generous wait: every request is queued within it, so the batcher merges all of them.
    app = create_app(model, input_type="text", batch_wait_ms=500, micro_batch_rows=64)
    requests = [QUERIES[0], QUERIES[1:4], [QUERIES[4]], QUERIES[5]]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(
                *(http.post("/predict", json={"inputs": x}) for x in requests)
            )

    try:
        # In a thread of its own: another test (the browser tests' Playwright) may have left an
        # event loop running in this one, and asyncio.run refuses to start inside a loop.
        with ThreadPoolExecutor(1) as pool:
            answers = pool.submit(asyncio.run, send_all()).result(timeout=60)
    finally:
        app.state.batcher.stop()
    assert [len(b) for b in model.batches] == [6]  # one call: 1 + 3 + 1 + 1 texts
    assert sorted(model.batches[0].tolist()) == sorted(QUERIES[:6])
    for texts, r in zip(requests, answers, strict=True):
        texts = [texts] if isinstance(texts, str) else texts
        np.testing.assert_allclose(_probabilities(r.json()), _expected(pipeline, texts), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Predictors and loading
# ---------------------------------------------------------------------------------------------
def test_sklearn_predictor_passes_strings_through(pipeline) -> None:
    pred = SklearnPredictor(pipeline, text=True)
    assert pred.text and pred.input_shape is None
    assert pred.classes == ("0", "1") and pred.n_classes == 2
    expected = _expected(pipeline, QUERIES)
    np.testing.assert_allclose(pred.predict_proba(QUERIES), expected)
    np.testing.assert_allclose(pred.predict_proba(np.array(QUERIES, dtype=object)), expected)
    np.testing.assert_allclose(pred.predict_proba(np.array(QUERIES)), expected)
    with pytest.raises(ValueError, match="1-D sequence of strings"):
        pred.predict_proba([QUERIES[:2], QUERIES[2:4]])
    with pytest.raises(ValueError, match="input_shape does not apply to a text model"):
        SklearnPredictor(pipeline, (3,), text=True)


def test_as_predictor_for_text(pipeline) -> None:
    pred = as_predictor(pipeline, input_type="text")
    assert isinstance(pred, SklearnPredictor) and pred.text
    assert as_predictor(pred, input_type="text") is pred
    numbers = as_predictor(pipeline)
    assert not numbers.text
    again = as_predictor(numbers, input_type="text")  # made for numbers: wrapped again
    assert again.text and again.estimator is pipeline
    counting = _Counting(pipeline)
    assert as_predictor(counting, input_type="text") is counting  # no fit: used as it is
    with pytest.raises(ValueError, match="input_type must be"):
        as_predictor(pipeline, input_type="strings")


def test_load_model_of_a_text_pipeline(pipeline, tmp_path) -> None:
    path = tmp_path / "spam.joblib"
    joblib.dump(pipeline, path)
    pred = load_model(path, input_type="text")
    assert isinstance(pred, SklearnPredictor) and pred.text and pred.input_shape is None
    np.testing.assert_allclose(pred.predict_proba(QUERIES), _expected(pipeline, QUERIES))
    with pytest.raises(ValueError, match="input_type must be"):
        load_model(path, input_type="txt")
    # Loaded without the flag, the predictor is still served as text by create_app.
    with TestClient(create_app(load_model(path), input_type="text", class_names=NAMES)) as c:
        r = c.post("/predict", json={"inputs": QUERIES[:2]})
    assert r.status_code == 200
    np.testing.assert_allclose(_probabilities(r.json()), _expected(pipeline, QUERIES[:2]))


# ---------------------------------------------------------------------------------------------
# Real servers on loopback: client, resilience, command line
# ---------------------------------------------------------------------------------------------
def test_client_sends_str_lists_and_numpy_strings(app, pipeline) -> None:
    server = serve_in_background(app)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with ModelClient(server.url, timeout=5) as c:
            assert c.metadata()["input_type"] == "text"
            one = c.predict(QUERIES[0])
            assert len(one["predictions"]) == 1
            np.testing.assert_allclose(_probabilities(one), _expected(pipeline, QUERIES[:1]))
            expected = _expected(pipeline, QUERIES)
            for inputs in (
                QUERIES,
                tuple(QUERIES),
                np.array(QUERIES),
                np.array(QUERIES, dtype=object),
                pd.Series(QUERIES),
            ):
                out = c.predict(inputs)
                np.testing.assert_allclose(_probabilities(out), expected, atol=1e-12)
            assert c.predict(np.str_("hello"), min_confidence=1.0)["n_withheld"] == 1
            with pytest.raises(ServingError, match=r"422 .*inputs\[1\] is the integer 5") as e:
                c.predict(["ok", 5])
            assert e.value.status_code == 422 and e.value.detail[0]["type"] == "not_a_string"
            with pytest.raises(ServingError, match=r"inputs\[1\] is only white space"):
                c.predict(np.array(["ok", "  "]))
            with pytest.raises(ServingError, match=r"inputs\[1\] is a list"):
                c.predict(["ok", ["nested"]])  # the server's message, not a NumPy error
    finally:
        server.stop()


def test_client_still_sends_numbers_as_lists() -> None:
    from utils.deployment.client import _json_inputs

    assert _json_inputs(np.zeros((2, 2))) == [[0.0, 0.0], [0.0, 0.0]]
    assert _json_inputs([1, 2.5]) == [1.0, 2.5]
    assert _json_inputs(np.arange(3)) == [0, 1, 2]
    assert _json_inputs("text") == "text"
    assert _json_inputs(["a", 1]) == ["a", 1]  # not turned into ["a", "1"]: the server says why
    assert _json_inputs(["a", ["b"]]) == ["a", ["b"]]
    assert _json_inputs(pd.Series(["a", "b"])) == ["a", "b"]


def test_server_keeps_answering_after_bad_requests(app, pipeline) -> None:
    server = serve_in_background(app)
    try:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            bad = [
                http.post("/predict", json={"inputs": [1, 2]}),
                http.post("/predict", json={"inputs": ["x" * 500]}),
                http.post("/predict", json={"inputs": [["nested"]]}),
                http.post(
                    "/predict",
                    content=b'{"inputs": "',
                    headers={"content-type": "application/json"},
                ),
                http.post("/predict", content=b"hello", headers={"content-type": "text/plain"}),
                http.post("/predict", json={"inputs": ["y" * 190] * 120}),
            ]
            assert [r.status_code for r in bad] == [422, 422, 422, 422, 415, 413]
            assert all(r.json()["detail"][0]["msg"] for r in bad)
            good = http.post("/predict", json={"inputs": QUERIES[:3]})
            assert good.status_code == 200
            np.testing.assert_allclose(
                _probabilities(good.json()), _expected(pipeline, QUERIES[:3])
            )
            assert http.get("/health").json()["status"] == "ok"
            assert http.get("/metrics.json").json()["by_status"]["422"] >= 4
    finally:
        server.stop()


def test_cli_parser_accepts_text_options() -> None:
    args = _parser().parse_args(
        [
            "serve",
            "spam.joblib",
            "--input-type",
            "text",
            "--max-text-chars",
            "300",
            "--class-names",
            "not spam,spam",
        ]
    )
    assert args.input_type == "text" and args.max_text_chars == 300
    defaults = _parser().parse_args(["serve", "m.joblib"])
    assert defaults.input_type == "numbers" and defaults.max_text_chars == 5000


def test_cli_parser_rejects_an_unknown_input_type(capsys) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "m.joblib", "--input-type", "words"])
    assert "invalid choice: 'words'" in capsys.readouterr().err


def test_cli_serves_a_text_pipeline(pipeline, tmp_path, serve_cli) -> None:
    joblib.dump(pipeline, tmp_path / "spam.joblib")
    url = serve_cli(
        tmp_path / "spam.joblib",
        "--input-type",
        "text",
        "--max-text-chars",
        "100",
        "--class-names",
        "not spam,spam",
    )
    with ModelClient(url) as c:
        meta = c.metadata()
        assert meta["model_name"] == "spam" and meta["max_text_chars"] == 100
        out = c.predict([SPAM[0], HAM[0]])
        assert [p["label"] for p in out["predictions"]] == ["spam", "not spam"]
        with pytest.raises(ServingError, match="at most 100 are accepted"):
            c.predict("z" * 101)


def test_cli_refuses_an_input_shape_for_text(pipeline, tmp_path) -> None:
    joblib.dump(pipeline, tmp_path / "spam.joblib")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "utils.deployment",
            "serve",
            "spam.joblib",
            "--input-type",
            "text",
            "--input-shape",
            "3",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 2 and "input_shape does not apply to input_type='text'" in r.stderr


def test_client_predict_proba_makes_a_server_a_model_for_the_patterns(app, pipeline) -> None:
    from utils.deployment.patterns import ShadowDeployment

    server = serve_in_background(app)
    try:
        with ModelClient(server.url, timeout=5) as c:
            p = c.predict_proba(QUERIES)
            np.testing.assert_allclose(p, pipeline.predict_proba(QUERIES), atol=1e-12)
            assert c.predict_proba(QUERIES[0]).shape == (1, 2)
            shadow = ShadowDeployment(primary=pipeline, shadow=c)
            np.testing.assert_allclose(
                shadow.predict_proba(QUERIES), pipeline.predict_proba(QUERIES)
            )
            assert shadow.comparison().loc["agreement", "value"] == 1.0
            with pytest.raises(ServingError, match="422"):
                c.predict_proba([""])
    finally:
        server.stop()


def test_load_model_replays_a_saved_pipeline_before_serving(pipeline, tmp_path) -> None:
    from utils.pipeline import ReplayMismatchError, save_pipeline

    path = tmp_path / "filter.joblib"
    save_pipeline(pipeline, path, probe=QUERIES[:4])
    predictor = load_model(path, input_type="text")
    np.testing.assert_array_equal(
        predictor.predict_proba(np.array(QUERIES, dtype=object)), pipeline.predict_proba(QUERIES)
    )
    saved = joblib.load(path)
    saved["output_hash"] = "0" * 64  # as if the pre-processing had changed since saving
    joblib.dump(saved, path)
    with pytest.raises(ReplayMismatchError, match="does not reproduce"):
        load_model(path, input_type="text")
