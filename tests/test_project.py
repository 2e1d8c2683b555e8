"""The final project's served model answers correctly over HTTP on loopback (project/05).

The deployment page serves the filter with ``model.filter_app`` (``create_app``); these tests build the same versions
with :mod:`utils.spam_filter`, package them the same way (``save_pipeline``, then ``load_model``,
which replays the probe set) and check a real server on 127.0.0.1 against the in-process model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from utils.deployment.client import ModelClient, ServingError
from utils.deployment.serving import load_model, serve_in_background
from utils.pipeline import save_pipeline
from utils.spam_filter import data, model, spec, versions

SPAM = "Check out my channel http://www.example.com and subscribe, free gift cards for everyone!"
HAM = "I love this song, it never gets old"


@pytest.fixture(scope="module")
def project(data_available: bool) -> data.ProjectData:
    if not data_available:
        pytest.skip("the data mirror is not available (set MLPROD_DATA_DIR)")
    return data.project_data()


@pytest.fixture(scope="module", params=versions.VERSIONS)
def served(
    request: pytest.FixtureRequest,
    project: data.ProjectData,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, object, ModelClient]]:
    version = request.param
    trained = versions.train(project, version).model
    path = Path(tmp_path_factory.mktemp(version)) / f"spam-filter-{version}.joblib"
    save_pipeline(trained, path, probe=project.dev["CONTENT"].iloc[:20].tolist())
    app = model.filter_app(load_model(path, input_type="text"), version[1:])
    server = serve_in_background(app)
    assert server.host == "127.0.0.1"
    client = ModelClient(server.url, timeout=10)
    yield version, trained, client
    client.close()
    server.stop()


def test_served_probabilities_equal_the_trained_pipeline(served, project) -> None:
    _, trained, client = served
    texts = project.test["CONTENT"].tolist()
    got = np.vstack([client.predict_proba(texts[i : i + 50]) for i in range(0, len(texts), 50)])
    np.testing.assert_allclose(got, trained.predict_proba(texts), rtol=0, atol=1e-12)


def test_served_model_tells_spam_from_ham_and_names_its_version(served) -> None:
    version, _, client = served
    answer = client.predict([SPAM, HAM])
    assert [p["label"] for p in answer["predictions"]] == ["spam", "not spam"]
    assert answer["model_version"] == version[1:]
    assert client.metadata()["input_type"] == "text"


def test_served_model_scores_as_on_the_deployment_page(served, project) -> None:
    _, _, client = served
    gold = data.gold_labels(project.test)["gold"].to_numpy()
    texts = project.test["CONTENT"].tolist()
    labels = [
        p["class_index"]
        for i in range(0, len(texts), 50)
        for p in client.predict(texts[i : i + 50])["predictions"]
    ]
    assert np.mean(np.array(labels) == gold) > 0.9  # the audit's overall accuracy is about 0.94


def test_review_band_withholds_exactly_the_uncertain(served, project) -> None:
    _, trained, client = served
    threshold = model.review_threshold(
        trained, project.dev["CONTENT"], spec.TARGETS["review_capacity"]
    )
    texts = project.dev["CONTENT"].tolist()[:100]
    answer = client.predict(texts, min_confidence=threshold)
    withheld = np.array([p["withheld"] for p in answer["predictions"]])
    expected = trained.predict_proba(texts).max(axis=1) < threshold
    np.testing.assert_array_equal(withheld, expected)
    assert all(p["label"] is None for p in answer["predictions"] if p["withheld"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": ""}, "empty string"),
        ({"inputs": ["fine", 3]}, r"inputs\[1\] is the integer 3"),
        ({"inputs": "x" * 6000}, "at most 5000"),
    ],
)
def test_bad_requests_are_refused_and_the_server_keeps_answering(served, body, message) -> None:
    _, _, client = served
    r = client.request("POST", "/predict", json=body)
    assert r.status_code == 422
    assert re.search(message, r.json()["detail"][0]["msg"])
    with pytest.raises(ServingError, match="422"):
        client.predict(body["inputs"])
    assert client.health()["status"] == "ok"
