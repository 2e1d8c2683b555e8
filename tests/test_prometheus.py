"""Prometheus metrics of the model server, a real Prometheus scraping it, and the rules (issue 17).

The command-line server (``python -m utils.deployment serve``) serves a stub model that takes a
known time per call, so the latency bucket of every answer is known; the test sends known good
and bad requests, then checks ``GET /metrics`` with ``promtool check metrics`` and against the
requests sent, and asks a real Prometheus for the p99 and the error ratio with PromQL. The rules
of ``utils/deployment/prometheus_config`` are checked and unit-tested with ``promtool``.

Prometheus is a program apart from Python (``apt-get install prometheus``, which installs
``promtool`` too). Without it these tests are skipped, except in CI (the variable ``CI`` set),
where they fail: CI must install it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pytest
from _cli_server import launch, wait_until_healthy
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from utils.deployment.prometheus import (
    CONFIG_DIR,
    INSTALL_HINT,
    PrometheusNotFound,
    PrometheusServer,
    _config,
    prometheus_available,
    promtool,
    start_prometheus,
)
from utils.deployment.serving import create_app

ROOT = Path(__file__).resolve().parent.parent

#: Seconds the stub model takes per call: every answered prediction lands in (0.1, 0.25] s.
DELAY = 0.12

STUB = f'''
import time
import numpy as np

class SlowStub:
    """Answers "yes" when the first value is positive, after {DELAY} s; fails on 666."""
    input_shape = (2,)
    classes = ("no", "yes")

    def predict_proba(self, X):
        x = np.asarray(X, dtype=float).reshape(len(X), -1)
        if (x[:, 0] == 666).any():
            raise RuntimeError("a planted bug")
        time.sleep({DELAY})
        yes = x[:, 0] > 0
        return np.where(yes[:, None], [[0.1, 0.9]], [[0.8, 0.2]])
'''

#: The requests sent: (body, expected status). Bodies are JSON, except the one sent as text.
GOOD = [([1.0, 2.0], 200)] * 3 + [([-1.0, 2.0], 200)] * 2 + [([[1.0, 0.0], [-2.0, 0.0]], 200)]
BAD = [([1.0], 422), ([1.0, None], 422), ([666.0, 0.0], 500)]


def _need(program: str) -> None:
    """Skip without ``program``, unless in CI, where its absence is a failure."""
    if shutil.which(program) is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{program} is not installed, and CI must run these tests. {INSTALL_HINT}")
    pytest.skip(f"{program} is not installed. {INSTALL_HINT}")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, PrometheusServer | None]]:
    """The CLI server of the stub, with the requests of GOOD and BAD (and one 415) answered,
    and a Prometheus scraping it (None if Prometheus is not installed).

    Prometheus starts with the server, without waiting: it begins to scrape about five seconds
    later, while the server loads.
    """
    folder = tmp_path_factory.mktemp("stub")
    (folder / "prom_stub_model.py").write_text(textwrap.dedent(STUB))
    sys.path.insert(0, str(folder))
    try:
        stub = importlib.import_module("prom_stub_model").SlowStub()
        joblib.dump(stub, folder / "stub.joblib")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("prom_stub_model", None)
    proc, url = launch("stub.joblib", cwd=folder)
    prom = (
        start_prometheus(url, scrape_interval=0.5, wait=False) if prometheus_available() else None
    )
    try:
        wait_until_healthy(proc, url)
        with httpx.Client(base_url=url, timeout=10) as http:
            for body, status in GOOD + BAD:
                assert http.post("/predict", json={"inputs": body}).status_code == status
            assert (
                http.post(
                    "/predict", content=b"1, 2", headers={"content-type": "text/plain"}
                ).status_code
                == 415
            )
        yield url, prom
    finally:
        if prom is not None:
            prom.stop()
        proc.terminate()
        proc.wait(timeout=10)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_pass_promtool_and_count_the_requests_sent(
    server: tuple[str, PrometheusServer | None],
) -> None:
    _need("promtool")
    url, _ = server
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    check = promtool("check", "metrics", stdin=r.text)
    assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check

    s = _samples(r.text)

    def value(name: str, **labels: str) -> float:
        return s[(name, frozenset(labels.items()))]

    route = "/predict"
    assert value("http_requests_total", route=route, status="200") == len(GOOD)
    assert value("http_requests_total", route=route, status="422") == 2
    assert value("http_requests_total", route=route, status="415") == 1
    assert value("http_requests_total", route=route, status="500") == 1
    assert value("http_request_errors_total", route=route, status_class="4xx") == 3
    assert value("http_request_errors_total", route=route, status_class="5xx") == 1
    assert value("http_requests_in_flight", route=route) == 0
    # every answered prediction waited DELAY seconds: all in the (0.1, 0.25] bucket
    assert value("http_request_duration_seconds_count", route=route, status="200") == len(GOOD)
    assert value("http_request_duration_seconds_bucket", route=route, status="200", le="0.1") == 0
    assert value(
        "http_request_duration_seconds_bucket", route=route, status="200", le="0.25"
    ) == len(GOOD)
    assert value("model_input_rejections_total", reason="shape") == 1
    assert value("model_input_rejections_total", reason="dtype") == 1  # a missing value
    # predictions: 3 + 1 "yes" (0.9 confident), 2 + 1 "no" (0.8); the failing call predicts none
    assert value("model_predictions_total", **{"class": "yes"}) == 4
    assert value("model_predictions_total", **{"class": "no"}) == 3
    assert value("model_prediction_confidence_count") == 7
    assert value("model_prediction_confidence_sum") == pytest.approx(4 * 0.9 + 3 * 0.8)
    assert value("model_batch_rows_count") == len(GOOD) + 1  # the failing call too
    assert value("model_batch_rows_sum") == 7 + 1
    assert value("model_inference_duration_seconds_count") == len(GOOD)
    # the mean of each accepted example, the failing one included
    assert value("model_input_row_mean_count") == 8
    assert value("model_input_row_mean_sum") == pytest.approx(3 * 1.5 + 2 * 0.5 + 0.5 - 1 + 333)
    assert value("model_info", model_name="stub", model_version="1") == 1
    json_summary = httpx.get(f"{url}/metrics.json").json()
    assert json_summary["by_status"] == {"200": 6, "415": 1, "422": 2, "500": 1}


def test_a_real_prometheus_gives_the_p99_bucket_and_the_error_ratio(
    server: tuple[str, PrometheusServer | None],
) -> None:
    _need("prometheus")
    _, prom = server
    assert prom is not None
    prom.wait_until_ready()
    prom.wait_for_scrape()  # after every request sent (and a few evaluations of the rules)
    assert prom.targets()["health"].tolist() == ["up"]
    p99 = prom.query_value(
        "histogram_quantile(0.99, sum by (le) "
        '(http_request_duration_seconds_bucket{route="/predict"}))'
    )
    errors = prom.query_value(
        'sum(http_request_errors_total{route="/predict"}) '
        '/ sum(http_requests_total{route="/predict"})'
    )
    by_class = prom.query("sum by (class) (model_predictions_total)")
    assert 0.1 < p99 <= 0.25  # the bucket of the planted delay
    assert errors == pytest.approx(4 / 10)
    assert dict(zip(by_class["class"], by_class["value"], strict=True)) == {"no": 3, "yes": 4}
    rules = prom.rules()
    assert len(rules) == 11 and (rules["health"] == "ok").all(), rules
    # The planted delay and errors may already make the latency and error alerts pending (when a
    # scrape fell between the requests, so that rate() sees an increase), but none can fire: each
    # alert needs its condition for at least a minute (``for:``), longer than this test runs.
    assert set(rules.loc[rules["type"] == "alerting", "state"]) <= {"inactive", "pending"}
    with pytest.raises(ValueError, match="parse error"):
        prom.query("sum(")


def test_the_rules_pass_promtool_check_and_their_unit_tests() -> None:
    _need("promtool")
    check = promtool("check", "rules", "rules.yml", cwd=CONFIG_DIR)
    assert check.returncode == 0 and "SUCCESS: 11 rules found" in check.stdout, check
    tested = promtool("test", "rules", "rules_test.yml", cwd=CONFIG_DIR)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested


def test_the_config_filled_in_from_the_template_passes_promtool(tmp_path: Path) -> None:
    _need("promtool")
    config = _config(
        (CONFIG_DIR / "prometheus.yml").read_text(), ["http://127.0.0.1:8123"], "500ms"
    )
    assert 'targets: ["127.0.0.1:8123"]' in config and "scrape_interval: 500ms" in config
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(CONFIG_DIR / "rules.yml", tmp_path / "rules.yml")
    check = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert check.returncode == 0, check
    with pytest.raises(ValueError, match="exactly one 'targets' line"):
        _config("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n", ["x:1"], "1s")
    with pytest.raises(ValueError, match="base URL with a port"):
        _config(config, ["http://127.0.0.1/metrics"], "1s")


def test_a_missing_prometheus_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(PrometheusNotFound, match=r"apt-get install prometheus"):
        start_prometheus("http://127.0.0.1:8000")
    with pytest.raises(PrometheusNotFound, match=r"'promtool' was not found"):
        promtool("--version")


class _TextStub:
    """A text model: "spam" when the text has a link."""

    def predict_proba(self, X: Any) -> np.ndarray:
        link = np.array(["http" in t for t in X])
        return np.where(link[:, None], [[0.3, 0.7]], [[0.6, 0.4]])


def test_two_apps_in_one_process_keep_their_own_metrics() -> None:
    apps = [
        create_app(
            _TextStub(), input_type="text", class_names=["not spam", "spam"], model_version=v
        )
        for v in ("1", "2")
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert one.post("/predict", json={"inputs": ["hello", "see http://x.y"]}).status_code == 200
        assert one.post("/predict", json={"inputs": [""]}).status_code == 422
        first, second = _samples(one.get("/metrics").text), _samples(two.get("/metrics").text)
    route = frozenset({("route", "/predict"), ("status", "200")})
    assert first[("http_requests_total", route)] == 1
    assert ("http_requests_total", route) not in second
    assert first[("model_input_text_length_chars_count", frozenset())] == 2
    assert first[("model_input_text_length_chars_sum", frozenset())] == len("hello") + 14
    assert first[("model_input_rejections_total", frozenset({("reason", "empty_text")}))] == 1
    assert second[("model_predictions_total", frozenset({("class", "spam")}))] == 0
    assert first[("model_info", frozenset({("model_name", "model"), ("model_version", "1")}))] == 1
    assert second[("model_info", frozenset({("model_name", "model"), ("model_version", "2")}))] == 1
