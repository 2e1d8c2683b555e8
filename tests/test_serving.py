"""Tests for utils.deployment.serving, its client and its command line (loopback only)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
from _serving_checks import assert_withholds_exactly
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from utils.deployment.client import ModelClient, ServingError, encode_png
from utils.deployment.serving import (
    KerasPredictor,
    SklearnPredictor,
    as_predictor,
    create_app,
    decode_image,
    load_model,
    serve_in_background,
    validate_inputs,
)

ROOT = Path(__file__).resolve().parent.parent
DIGIT_NAMES = [f"digit {i}" for i in range(10)]


# ---------------------------------------------------------------------------------------------
# Fixtures: a scikit-learn model on 8x8 digit images and a tiny Keras CNN
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """Small matrices: BLAS threads only fight each other (and other jobs) on 2 cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X.reshape(-1, 8, 8) * 16, y  # pixel values 0..256, like an 8-bit image


@pytest.fixture(scope="module")
def sk_model(digits: tuple[np.ndarray, np.ndarray]) -> LogisticRegression:
    X, y = digits
    return LogisticRegression(max_iter=300).fit(X.reshape(len(X), -1) / 256, y)


class _Scaled:
    """Divide pixels by 256 before the sklearn model, as a Keras Rescaling layer would."""

    def __init__(self, model: LogisticRegression) -> None:
        self.model = model

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.asarray(X).reshape(len(X), -1) / 256)


@pytest.fixture(scope="module")
def app(sk_model: LogisticRegression):
    return create_app(
        _Scaled(sk_model),
        model_name="digits",
        model_version="7",
        input_shape=(8, 8),
        class_names=DIGIT_NAMES,
        max_request_rows=50,
        max_body_bytes=20_000,
    )


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def keras_model():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(4),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _png(pixels: np.ndarray, mode: str = "L", fmt: str = "PNG") -> bytes:
    img = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    if mode != "L":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _expected(sk_model: LogisticRegression, x: np.ndarray) -> np.ndarray:
    return sk_model.predict_proba(np.asarray(x, float).reshape(len(x), -1) / 256)


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------
def test_health_and_version_header(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model_name": "digits", "model_version": "7"}
    assert r.headers["x-model-version"] == "7"


def test_metadata(client: TestClient) -> None:
    meta = client.get("/metadata").json()
    assert meta["input_shape"] == [8, 8]
    assert meta["class_names"] == DIGIT_NAMES
    assert meta["accepts_images"] is True
    assert meta["image_types"] == ["image/png", "image/jpeg"]
    assert meta["max_request_rows"] == 50
    assert meta["micro_batching"] is True and meta["micro_batch_rows"] == 64
    assert meta["framework"] == "_Scaled"


def test_metadata_without_micro_batching(sk_model) -> None:
    with TestClient(create_app(sk_model, micro_batching=False, max_request_rows=9)) as c:
        meta = c.get("/metadata").json()
    assert meta["micro_batching"] is False and meta["micro_batch_rows"] is None
    assert meta["max_request_rows"] == 9


def test_docs_and_openapi(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/health",
        "/ready",
        "/metadata",
        "/metrics",
        "/metrics.json",
        "/predict",
        "/predict/image",
    } == set(paths)


def test_predict_one_and_batch_match_the_model(client, sk_model, digits) -> None:
    X, _ = digits
    one = client.post("/predict", json={"inputs": X[0].tolist()}).json()
    assert len(one["predictions"]) == 1
    p = _expected(sk_model, X[:1])[0]
    assert one["predictions"][0]["class_index"] == int(p.argmax())
    assert one["predictions"][0]["label"] == DIGIT_NAMES[int(p.argmax())]
    np.testing.assert_allclose(list(one["predictions"][0]["probabilities"].values()), p, atol=1e-9)
    batch = client.post("/predict", json={"inputs": X[:20].tolist()}).json()
    got = np.array([list(pr["probabilities"].values()) for pr in batch["predictions"]])
    np.testing.assert_allclose(got, _expected(sk_model, X[:20]), atol=1e-9)
    assert batch["n_withheld"] == 0 and batch["notes"] == []


def test_min_confidence_withholds_exactly_the_unsure(client, sk_model, digits) -> None:
    X, _ = digits
    conf = _expected(sk_model, X[:50]).max(axis=1)
    threshold = float(np.quantile(conf, 0.3))
    body = client.post(
        f"/predict?min_confidence={threshold}", json={"inputs": X[:50].tolist()}
    ).json()
    assert_withholds_exactly(body, conf, threshold)


def test_image_upload_matches_json(client, sk_model, digits) -> None:
    X, _ = digits
    pixels = np.clip(X[3], 0, 255).astype(np.uint8)
    r = client.post(
        "/predict/image", files={"file": ("../../etc/passwd", _png(pixels), "image/png")}
    )
    assert r.status_code == 200, r.text
    got = list(r.json()["predictions"][0]["probabilities"].values())
    np.testing.assert_allclose(got, _expected(sk_model, pixels[None])[0], atol=1e-9)
    assert r.json()["notes"] == []


def test_image_upload_converts_and_resizes(client) -> None:
    rgb = _png(np.full((16, 24), 200), mode="RGB")
    r = client.post("/predict/image", files={"file": ("x.png", rgb, "image/png")})
    assert r.status_code == 200
    notes = " ".join(r.json()["notes"])
    assert "RGB to L" in notes and "24x16 to 8x8" in notes
    jpeg = _png(np.full((8, 8), 100), fmt="JPEG")
    assert (
        client.post("/predict/image", files={"file": ("x.jpg", jpeg, "image/jpeg")}).status_code
        == 200
    )


def test_metrics_count_requests(app, sk_model, digits) -> None:
    X, _ = digits
    with TestClient(app) as c:
        before = c.get("/metrics.json").json()
        c.post("/predict", json={"inputs": X[0].tolist()})
        c.post("/predict", json={"inputs": [1, 2]})
        after = c.get("/metrics.json").json()
    assert after["requests"] - before["requests"] == 2
    assert after["by_status"]["422"] - before["by_status"].get("422", 0) == 1
    assert after["latency_ms"]["n"] >= 1 and after["latency_ms"]["p50"] > 0


def test_image_route_absent_for_tabular_model(sk_model) -> None:
    app = create_app(sk_model, class_names=DIGIT_NAMES)
    with TestClient(app) as c:
        assert c.get("/metadata").json()["accepts_images"] is False
        assert (
            c.post("/predict/image", files={"file": ("a.png", b"x", "image/png")}).status_code
            == 404
        )
        assert c.post("/predict", json={"inputs": [0.0] * 64}).status_code == 200


# ---------------------------------------------------------------------------------------------
# Malformed requests: each a 4xx with a JSON detail naming the field and the problem
# ---------------------------------------------------------------------------------------------
ROW = [0.0] * 8
GOOD = [ROW] * 8

MALFORMED_JSON = [
    ("wrong shape", {"inputs": [1, 2, 3]}, 422, "inputs", "has shape (3,)"),
    ("wrong inner shape", {"inputs": [ROW[:7]] * 8}, 422, "inputs", "has shape (8, 7)"),
    ("batch of wrong shape", {"inputs": [[ROW] * 7] * 2}, 422, "inputs", "has shape (2, 7, 8)"),
    ("ragged rows", {"inputs": [ROW, ROW[:3]] + [ROW] * 6}, 422, "inputs", "unequal lengths"),
    ("ragged batch", {"inputs": [GOOD, GOOD[:4]]}, 422, "inputs", "unequal lengths"),
    (
        "string value",
        {"inputs": [ROW] * 7 + [["a", *ROW[1:]]]},
        422,
        "inputs",
        "inputs[7][0] is the string 'a'",
    ),
    (
        "null value",
        {"inputs": [[None, *ROW[1:]]] + [ROW] * 7},
        422,
        "inputs",
        "inputs[0][0] is null",
    ),
    ("boolean values", {"inputs": [[True] * 8] * 8}, 422, "inputs", "boolean true"),
    ("object value", {"inputs": [[{"x": 1}, *ROW[1:]]] + [ROW] * 7}, 422, "inputs", "an object"),
    ("huge integer", {"inputs": [[10**30, *ROW[1:]]] + [ROW] * 7}, 422, "inputs", "too large"),
    ("empty batch", {"inputs": []}, 422, "inputs", "empty"),
    ("batch of empties", {"inputs": [[], []]}, 422, "inputs", "empty"),
    ("missing field", {}, 422, "inputs", "field inputs is required"),
    ("misspelled field", {"input": GOOD}, 422, "input", "Extra inputs are not permitted"),
    ("inputs not a list", {"inputs": 3}, 422, "inputs", "valid list"),
    ("too many rows", {"inputs": [[[0] * 8] * 8] * 51}, 422, "inputs", "at most 50 per request"),
    (
        "deep nesting",
        {"inputs": json.loads("[" * 70 + "1" + "]" * 70)},
        422,
        "inputs",
        "nested too deeply",
    ),
    ("body is a list", [1, 2, 3], 422, "body", "valid dictionary"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "field", "message"),
    MALFORMED_JSON,
    ids=[c[0] for c in MALFORMED_JSON],
)
def test_malformed_json(client, case, body, status, field, message) -> None:
    r = client.post("/predict", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert any(field in item["loc"] and message in item["msg"] for item in detail), detail
    assert r.headers["x-model-version"] == "7"


RAW_BODIES = [
    (
        "NaN literal",
        b'{"inputs": [[NaN, 0, 0, 0, 0, 0, 0, 0]' + b", [0,0,0,0,0,0,0,0]" * 7 + b"]}",
        "application/json",
        422,
        "NaN or infinite value(s), the first at index (0, 0, 0)",
    ),
    (
        "Infinity literal",
        b'{"inputs": [' + b"[0,0,0,0,0,0,0,0]," * 7 + b"[0,0,0,Infinity,0,0,0,0]]}",
        "application/json",
        422,
        "the first at index (0, 7, 3)",
    ),
    (
        "overflow to infinity",
        b'{"inputs": [[1e999' + b",0" * 7 + b"]" + b",[0,0,0,0,0,0,0,0]" * 7 + b"]}",
        "application/json",
        422,
        "NaN or infinite",
    ),
    ("broken JSON", b'{"inputs": [[1, 2,', "application/json", 422, "JSON decode error"),
    ("plain text", b"1 2 3", "text/plain", 415, "content type 'text/plain' is not accepted"),
    (
        "form encoded",
        b"inputs=1",
        "application/x-www-form-urlencoded",
        415,
        "send application/json",
    ),
    ("xml", b"<inputs/>", "application/xml", 415, "is not accepted"),
]


@pytest.mark.parametrize(
    ("case", "content", "ctype", "status", "message"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES]
)
def test_malformed_raw_bodies(client, case, content, ctype, status, message) -> None:
    r = client.post("/predict", content=content, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    assert message in r.json()["detail"][0]["msg"]


def test_min_confidence_out_of_range_and_not_a_number(client) -> None:
    for value in ("1.5", "-0.1", "high", "nan"):
        r = client.post(f"/predict?min_confidence={value}", json={"inputs": GOOD})
        assert r.status_code == 422, value
        assert r.json()["detail"][0]["loc"] == ["query", "min_confidence"]


def test_oversized_body_with_content_length(client) -> None:
    big = {"inputs": [[[1.23456789] * 8] * 8] * 45}  # well formed, but > 20,000 bytes
    r = client.post("/predict", json=big)
    assert r.status_code == 413
    assert "at most 20000" in r.json()["detail"][0]["msg"]


def test_oversized_chunked_body_is_cut_off(client) -> None:
    def chunks():
        yield b'{"inputs": ['
        for _ in range(3000):
            yield b"[0,0,0,0,0,0,0,0],"
        yield b"[0]]}"

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["connection"] == "close"
    assert "exceeds 20000 bytes" in r.json()["detail"][0]["msg"]


def test_bad_content_length_header(client) -> None:
    r = client.post(
        "/predict",
        content=b"{}",
        headers={"content-length": "abc", "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["detail"][0]["loc"] == ["header", "content-length"]


IMAGE_CASES = [
    (
        "corrupt png",
        ("a.png", b"\x89PNG\r\n\x1a\nnot really", "image/png"),
        422,
        "could not be decoded",
    ),
    ("truncated png", ("a.png", _png(np.zeros((8, 8)))[:40], "image/png"), 422, "file"),
    ("empty file", ("a.png", b"", "image/png"), 422, "file is empty"),
    ("text file", ("a.txt", b"hello", "text/plain"), 415, "content type 'text/plain'"),
    (
        "gif declared as png",
        ("a.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png"),
        422,
        "could not be decoded as a PNG or JPEG",
    ),
    ("pdf", ("a.pdf", b"%PDF-1.4", "application/pdf"), 415, "send a PNG or JPEG"),
]


@pytest.mark.parametrize(
    ("case", "file", "status", "message"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES]
)
def test_malformed_images(client, case, file, status, message) -> None:
    r = client.post("/predict/image", files={"file": file})
    assert r.status_code == status, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "file"] and message in item["msg"]


def test_image_route_needs_multipart_and_a_file(client) -> None:
    r = client.post("/predict/image", json={"inputs": GOOD})
    assert r.status_code == 415
    assert "multipart/form-data" in r.json()["detail"][0]["msg"]
    r = client.post(
        "/predict/image", files={"other": ("a.png", _png(np.zeros((8, 8))), "image/png")}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"]


def test_image_bomb_is_refused_before_decoding(sk_model) -> None:
    app = create_app(
        _Scaled(sk_model), input_shape=(8, 8), class_names=DIGIT_NAMES, max_image_pixels=1000
    )
    with TestClient(app) as c:
        r = c.post(
            "/predict/image", files={"file": ("a.png", _png(np.zeros((40, 40))), "image/png")}
        )
    assert r.status_code == 422 and "at most 1000 pixels" in r.json()["detail"][0]["msg"]


def test_unknown_route_and_method_are_json(client) -> None:
    assert client.get("/nowhere").json()["detail"][0]["msg"] == "Not Found"
    r = client.get("/predict")
    assert r.status_code == 405 and r.json()["detail"][0]["msg"] == "Method Not Allowed"


def test_value_range(sk_model) -> None:
    app = create_app(
        _Scaled(sk_model), input_shape=(8, 8), class_names=DIGIT_NAMES, value_range=(0, 255)
    )
    with TestClient(app) as c:
        bad = [[0.0] * 8] * 7 + [[0.0] * 5 + [300.0, 0.0, 0.0]]
        r = c.post("/predict", json={"inputs": bad})
        assert r.status_code == 422
        assert (
            "inputs[7][5] = 300 is outside the allowed range [0, 255]"
            in r.json()["detail"][0]["msg"]
        )


# ---------------------------------------------------------------------------------------------
# Model bugs are 500s with a clean body, and the server keeps serving
# ---------------------------------------------------------------------------------------------
class _Flaky:
    """Raises on inputs holding 13, returns NaN on inputs holding 7: bugs, not client errors."""

    input_shape = (2,)
    classes = ("a", "b")

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if (X == 13).any():
            raise RuntimeError("boom")
        p = np.tile([0.25, 0.75], (len(X), 1))
        p[(X == 7).any(axis=1)] = np.nan
        return p


@pytest.mark.parametrize("micro_batching", [True, False])
def test_model_errors_are_clean_500s(micro_batching, caplog) -> None:
    app = create_app(_Flaky(), micro_batching=micro_batching)
    with TestClient(app, raise_server_exceptions=False) as c:
        for bad in ([13, 0], [7, 0]):
            r = c.post("/predict", json={"inputs": bad})
            assert r.status_code == 500
            assert r.json()["detail"][0]["type"] == "model_error"
            assert "boom" not in r.text  # internals stay in the log
        r = c.post("/predict", json={"inputs": [1, 2]})
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "b"
    assert "the model failed" in caplog.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=9)
        | st.dictionaries(st.text(max_size=2), inner, max_size=2),
        max_leaves=80,
    )
)
def test_no_json_input_produces_a_server_error(client, value) -> None:
    r = client.post(
        "/predict",
        content=json.dumps({"inputs": value}).encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (200, 413, 422), r.text
    if r.status_code != 200:
        assert r.json()["detail"][0]["msg"]


# ---------------------------------------------------------------------------------------------
# Validation helpers, predictors and loading
# ---------------------------------------------------------------------------------------------
def test_validate_inputs_channel_axis_is_optional() -> None:
    one, single = validate_inputs(np.zeros((4, 4)).tolist(), (4, 4, 1), max_rows=5)
    assert single and one.shape == (1, 4, 4, 1)
    many, single = validate_inputs(np.zeros((3, 4, 4)).tolist(), (4, 4, 1), max_rows=5)
    assert not single and many.shape == (3, 4, 4, 1)
    exact, single = validate_inputs(np.zeros((4, 4, 1)).tolist(), (4, 4, 1), max_rows=5)
    assert single and exact.shape == (1, 4, 4, 1)


def test_decode_image_round_trip() -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    x, notes = decode_image(encode_png(pixels), (8, 8, 1))
    np.testing.assert_array_equal(x[0, :, :, 0], pixels)
    assert notes == []


def test_keras_predictor_matches_model(keras_model) -> None:
    pred = as_predictor(keras_model)
    assert isinstance(pred, KerasPredictor) and pred.input_shape == (28, 28, 1)
    x = np.random.default_rng(0).uniform(0, 255, (5, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(pred.predict_proba(x), keras_model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="X must have shape"):
        pred.predict_proba(np.zeros((1, 28, 28)))


def test_keras_app_and_image_route(keras_model) -> None:
    app = create_app(keras_model, class_names=["a", "b", "c"], model_version="k1")
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (28, 28)).astype(np.uint8)
    expected = keras_model.predict(pixels.reshape(1, 28, 28, 1).astype("float32"), verbose=0)[0]
    with TestClient(app) as c:
        meta = c.get("/metadata").json()
        assert meta["input_shape"] == [28, 28, 1] and meta["framework"] == "keras"
        for r in (
            c.post("/predict", json={"inputs": pixels.tolist()}),
            c.post("/predict/image", files={"file": ("p.png", encode_png(pixels), "image/png")}),
        ):
            assert r.status_code == 200 and r.headers["x-model-version"] == "k1"
            got = list(r.json()["predictions"][0]["probabilities"].values())
            np.testing.assert_allclose(got, expected, atol=1e-5)
        r = c.post("/predict", json={"inputs": np.zeros((2, 28, 27)).tolist()})
        assert r.status_code == 422 and "(28, 28, 1)" in r.json()["detail"][0]["msg"]


def test_load_model_keras_and_safe_mode(keras_model, tmp_path) -> None:
    keras = pytest.importorskip("keras")
    path = tmp_path / "m.keras"
    keras_model.save(path)
    loaded = load_model(path)
    x = np.full((1, 28, 28, 1), 100.0, dtype="float32")
    np.testing.assert_allclose(
        loaded.predict_proba(x), keras_model.predict(x, verbose=0), atol=1e-6
    )
    unsafe = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Lambda(lambda t: t * 2),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    unsafe.save(tmp_path / "unsafe.keras")
    with pytest.raises(ValueError, match=r"(?i)safe_mode|lambda"):
        load_model(tmp_path / "unsafe.keras")


def test_load_model_joblib_and_errors(sk_model, tmp_path) -> None:
    joblib.dump(sk_model, tmp_path / "m.joblib")
    pred = load_model(tmp_path / "m.joblib")
    assert isinstance(pred, SklearnPredictor)
    assert pred.input_shape == (64,) and pred.classes == tuple(str(i) for i in range(10))
    with pytest.raises(FileNotFoundError, match="is not a file"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a \.keras, \.joblib or \.pkl"):
        load_model(tmp_path / "m.onnx")


def test_create_app_rejects_bad_configuration(sk_model) -> None:
    with pytest.raises(ValueError, match="class_names has 3 names but the model has 10"):
        create_app(sk_model, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="unique"):
        create_app(_Flaky(), class_names=["a", "a"])
    with pytest.raises(ValueError, match="input_shape is required"):
        create_app(_Scaled(sk_model), class_names=DIGIT_NAMES)
    with pytest.raises(ValueError, match="max_request_rows must be an int >= 1, got 0"):
        create_app(sk_model, max_request_rows=0)
    with pytest.raises(ValueError, match="micro_batch_rows must be an int >= 1, got 0"):
        create_app(sk_model, micro_batch_rows=0)
    with pytest.raises(ValueError, match=r"batch_wait_ms must be a number in \[0, 1000\]"):
        create_app(sk_model, batch_wait_ms=-1)
    with pytest.raises(TypeError, match="micro_batching must be True or False, got 1"):
        create_app(sk_model, micro_batching=1)
    with pytest.raises(TypeError, match="predict_proba"):
        create_app(object())


# ---------------------------------------------------------------------------------------------
# Real servers on loopback: background thread, client, command line, load
# ---------------------------------------------------------------------------------------------
def test_serve_in_background_and_client(app, sk_model, digits) -> None:
    X, _ = digits
    server = serve_in_background(app)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with ModelClient(server.url, timeout=5) as c:
            assert c.health()["status"] == "ok"
            assert c.metadata()["class_names"] == DIGIT_NAMES
            out = c.predict(X[:3])
            assert [p["class_index"] for p in out["predictions"]] == list(
                _expected(sk_model, X[:3]).argmax(axis=1)
            )
            img = c.predict_image(np.clip(X[0], 0, 255).astype(np.uint8), min_confidence=1.0)
            assert img["n_withheld"] == 1
            with pytest.raises(
                ServingError, match=r"422 Unprocessable.*body\.inputs: inputs has shape"
            ) as e:
                c.predict([1, 2, 3])
            assert e.value.status_code == 422 and e.value.detail[0]["type"] == "shape"
    finally:
        server.stop()
    assert not server.running
    with ModelClient(server.url, timeout=2) as c, pytest.raises(ServingError, match="cannot reach"):
        c.health()


def test_client_argument_checks() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ModelClient("127.0.0.1:8000")
    with pytest.raises(ValueError, match="timeout"):
        ModelClient("http://127.0.0.1:1", timeout=0)
    with pytest.raises(ValueError, match="image must have shape"):
        encode_png(np.zeros((2, 2, 2)))


def test_client_timeout_is_reported() -> None:
    import socket

    with socket.socket() as s:  # accepts connections, never answers
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        with ModelClient(url, timeout=0.3) as c, pytest.raises(ServingError, match="no answer"):
            c.health()


def test_cli_serves_and_answers(sk_model, tmp_path, serve_cli) -> None:
    joblib.dump(sk_model, tmp_path / "digits.joblib")
    url = serve_cli(
        tmp_path / "digits.joblib",
        "--model-version",
        "cli",
        "--max-request-rows",
        "3",
        "--micro-batch-rows",
        "5",
    )
    with ModelClient(url) as c:
        meta = c.metadata()
        assert meta["model_name"] == "digits"
        assert (meta["max_request_rows"], meta["micro_batch_rows"]) == (3, 5)
        with pytest.raises(ServingError, match="at most 3 per request"):
            c.predict(np.zeros((4, 64)))
        out = c.predict(np.zeros(64))
        assert out["model_version"] == "cli"
        assert out["predictions"][0]["label"] == str(int(sk_model.predict(np.zeros((1, 64)))[0]))


def test_cli_reports_a_missing_model(tmp_path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "utils.deployment", "serve", "nope.keras"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 2 and "is not a file" in r.stderr


@pytest.mark.slow
def test_load_2000_requests_at_concurrency_16(app, sk_model, digits) -> None:
    import httpx

    X, _ = digits
    rows = np.arange(2000) % len(X)
    expected = _expected(sk_model, X[rows]).argmax(axis=1)
    local = threading.local()
    server = serve_in_background(app)

    def call(i: int) -> tuple[int, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.url, timeout=10)
        r = local.client.post("/predict", json={"inputs": X[rows[i]].tolist()})
        return r.status_code, r.json()["predictions"][0][
            "class_index"
        ] if r.status_code == 200 else -1

    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(2000)))
    finally:
        server.stop()
    statuses = np.array([s for s, _ in results])
    labels = np.array([k for _, k in results])
    assert (statuses == 200).all(), np.unique(statuses, return_counts=True)
    np.testing.assert_array_equal(labels, expected)  # micro-batching never mixes up answers
