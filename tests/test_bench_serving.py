"""The serving benchmark's baselines give create_app's answers (issue #20, benchmarks/serving.py).

``benchmarks/serving.py`` compares servers that must do the same work: each answers one image with
the body :func:`utils.deployment.serving.create_app` answers. Here the direct FastAPI server and
the LitServe server, built by the benchmark's own functions (``benchmarks/_serving_servers.py``),
answer the same image as ``create_app``; the bodies must have the same keys and values (numbers
within the benchmark's tolerance). The answer checker must also tell one image's answer from
another's. The LitServe test is skipped when litserve (the ``bench`` extra) is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")
from fastapi.testclient import TestClient

from utils.deployment.serving import create_app, load_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import _serving_servers as bench


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bench_serving") / "small_cnn.keras"
    bench.build_model(path)
    return str(path)


@pytest.fixture(scope="module")
def body() -> dict[str, list[list[int]]]:
    rng = np.random.default_rng(3)
    return {"inputs": rng.integers(0, 256, (28, 28)).tolist()}


@pytest.fixture(scope="module")
def ours(model_path: str, body: dict[str, list[list[int]]]) -> dict[str, object]:
    app = create_app(
        load_model(model_path), model_name=bench.MODEL_NAME, class_names=list(bench.CLASSES)
    )
    with TestClient(app) as client:
        answer = client.post("/predict", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_direct_fastapi_answers_like_create_app(model_path, body, ours):
    with TestClient(bench.direct_app(model_path)) as client:
        answer = client.post("/predict", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json().keys() == ours.keys()
    assert bench.same_answer(answer.json(), ours)


def test_litserve_answers_like_create_app(model_path, body, ours):
    pytest.importorskip("litserve", reason="litserve is not installed (pip install -e .[bench])")
    from litserve.utils import wrap_litserve_start

    server = bench.litserve_server(model_path, workers=1)
    with wrap_litserve_start(server) as started, TestClient(started.app) as client:
        started.verify_worker_status()  # the worker has loaded the model
        answer = client.post("/predict", json=body)
    assert answer.status_code == 200, answer.text
    assert bench.same_answer(answer.json(), ours)


def test_the_checker_tells_answers_apart(model_path, body, ours):
    forward = bench.compiled_forward(model_path)
    x = np.asarray(body["inputs"], dtype=np.float32).reshape(1, 28, 28, 1)
    assert bench.same_answer(bench.response_body(forward(x)[0]), ours)
    other = bench.response_body(forward(255 - x)[0])  # another image's answer
    assert not bench.same_answer(other, ours)
    shifted = bench.response_body(forward(x)[0] + 2 * bench.TOLERANCE)
    assert not bench.same_answer(shifted, ours)
