"""The Ray Serve engine (``utils.deployment.engines``): the server's own checks, run against it.

The HTTP checks of tests/test_serving.py are imported and run here against the Ray engine: in
this module their ``client`` fixture is an HTTP client of a Ray Serve app with two replicas of
the model and the options of that module's ``app``. Each answer is also compared with the default
engine's (the same app under uvicorn), and ``/metrics`` must be the same Prometheus families.
Then the deployment patterns on Ray (a canary rolled back by a planted error rate, a shadow that
never changes the answer; blue/green's router in this process), the command line, and a clean
shutdown that leaves no Ray process behind.

One Ray instance serves the whole module; the pattern tests come after the HTTP checks because
each replaces the application. Whatever needs Ray is skipped, with the install line as the
reason, when Ray is not installed; the KServe manifest and the message without Ray are tested
always.
"""

# The checks and fixtures imported from test_serving run here (F401), and the tests name those
# fixtures as their arguments (F811).
# ruff: noqa: F401, F811

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from test_serving import (  # the default engine's checks and fixtures, here run on Ray
    MALFORMED_JSON,
    RAW_BODIES,
    _one_blas_thread,
    app,
    digits,
    sk_model,
    test_docs_and_openapi,
    test_health_and_version_header,
    test_image_route_needs_multipart_and_a_file,
    test_image_upload_converts_and_resizes,
    test_image_upload_matches_json,
    test_malformed_images,
    test_malformed_json,
    test_malformed_raw_bodies,
    test_min_confidence_out_of_range_and_not_a_number,
    test_min_confidence_withholds_exactly_the_unsure,
    test_oversized_body_with_content_length,
    test_oversized_chunked_body_is_cut_off,
    test_predict_one_and_batch_match_the_model,
    test_unknown_route_and_method_are_json,
)

from utils.deployment.engines import INSTALL_LINE, ray_available
from utils.deployment.patterns import BlueGreen, CanaryRollout, ShadowDeployment
from utils.deployment.serving import create_app, serve_in_background

ROOT = Path(__file__).resolve().parent.parent
NO_RAY = f"the Ray Serve engine needs ray, which is not installed ({INSTALL_LINE})"
needs_ray = pytest.mark.skipif(not ray_available(), reason=NO_RAY)


# ---------------------------------------------------------------------------------------------
# One Ray instance, the app of test_serving on two replicas, and the default engine beside it
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_instance():
    if not ray_available():
        pytest.skip(NO_RAY)
    import ray.cloudpickle
    import test_serving

    from utils.deployment.engines import start_ray, stop_ray

    # test_serving's models are not importable in Ray's workers: send them by value
    for module in (test_serving, sys.modules[__name__]):
        ray.cloudpickle.register_pickle_by_value(module)
    start_ray()
    yield
    stop_ray()


def _options(app) -> dict[str, Any]:
    """create_app's options of the default engine's ``app``, to start the same app on Ray."""
    cfg = app.state.config
    return {
        "model_name": cfg.model_name,
        "model_version": cfg.model_version,
        "input_shape": cfg.input_shape,
        "class_names": list(cfg.class_names),
        "max_request_rows": cfg.max_request_rows,
        "max_body_bytes": cfg.max_body_bytes,
    }


@pytest.fixture(scope="module")
def ray_server(ray_instance, app):
    from utils.deployment.engines import serve_on_ray

    server = serve_on_ray(app.state.predictor, replicas=2, **_options(app))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(ray_server):
    with httpx.Client(base_url=ray_server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def default_client(app):
    with serve_in_background(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


# ---------------------------------------------------------------------------------------------
# The same app: same answers, same refusals, same metrics, on two replicas
# ---------------------------------------------------------------------------------------------
def _requests(digits) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests of every kind: good ones, each malformed body of test_serving, wrong routes."""
    X, _ = digits
    good = [
        ("POST", "/predict", {"json": {"inputs": X[0].tolist()}}),
        ("POST", "/predict", {"json": {"inputs": X[:20].tolist()}}),
        ("POST", "/predict?min_confidence=0.9", {"json": {"inputs": X[:20].tolist()}}),
        ("GET", "/health", {}),
        ("GET", "/nowhere", {}),
        ("GET", "/predict", {}),
    ]
    bad_json = [("POST", "/predict", {"json": case[1]}) for case in MALFORMED_JSON]
    raw = [
        ("POST", "/predict", {"content": case[1], "headers": {"content-type": case[2]}})
        for case in RAW_BODIES
    ]
    return good + bad_json + raw


def test_same_answers_and_refusals_as_the_default_engine(client, default_client, digits) -> None:
    for method, path, kwargs in _requests(digits):
        ours, theirs = (
            client.request(method, path, **kwargs),
            default_client.request(method, path, **kwargs),
        )
        assert ours.status_code == theirs.status_code, (path, kwargs, ours.text)
        assert ours.json() == theirs.json(), (path, ours.text, theirs.text)
        assert ours.headers["x-model-version"] == theirs.headers["x-model-version"]


def test_same_metadata_but_ray_batches(client, default_client) -> None:
    ours, theirs = client.get("/metadata").json(), default_client.get("/metadata").json()
    # the ingress calls the model once per request; Ray's serve.batch merges them instead
    assert ours.pop("micro_batching") is False and ours.pop("micro_batch_rows") is None
    for key in ("micro_batching", "micro_batch_rows"):
        theirs.pop(key)
    assert ours == theirs


def test_metrics_in_prometheus_format(client, default_client, digits) -> None:
    def families(c: httpx.Client) -> dict[str, Any]:
        r = c.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return {f.name: f for f in text_string_to_metric_families(r.text)}

    def answered(fams: dict[str, Any]) -> float:
        return sum(
            s.value
            for s in fams["http_requests"].samples
            if s.name == "http_requests_total" and s.labels.get("route") == "/predict"
        )

    before = answered(families(client))
    X, _ = digits
    for i in range(5):
        assert client.post("/predict", json={"inputs": X[i].tolist()}).status_code == 200
    ours = families(client)
    assert answered(ours) - before == 5
    assert set(ours) == set(families(default_client))


def test_two_replicas_answer(ray_server, client, digits) -> None:
    from ray import serve

    status = serve.status().applications["mlprod"]
    assert status.deployments["model"].replica_states == {"RUNNING": 2}
    assert status.deployments["ingress"].replica_states == {"RUNNING": 1}
    X, _ = digits

    def post(i: int) -> int:
        return client.post("/predict", json={"inputs": X[i].tolist()}).status_code

    with ThreadPoolExecutor(8) as pool:  # concurrent requests, merged and spread by Ray
        assert list(pool.map(post, range(40))) == [200] * 40
    assert ray_server.control("state")["calls"] >= 40


# ---------------------------------------------------------------------------------------------
# The deployment patterns on Ray: each arm a deployment, the router the book's object
# ---------------------------------------------------------------------------------------------
class _Planted:
    """A model that fails on every ``every``-th call: a planted error rate of 1/every."""

    def __init__(self, model: Any, every: int) -> None:
        self.model, self.every, self.n = model, every, 0

    def predict_proba(self, X: Any) -> np.ndarray:
        self.n += 1
        if self.n % self.every == 0:
            raise RuntimeError("planted failure")
        return self.model.predict_proba(X)


class _Reversed:
    """The classes in reverse order: a model whose answers differ from the primary's."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X))[:, ::-1]


@pytest.fixture(scope="module")
def canary_server(ray_instance, ray_server, app):
    """A canary on Ray in place of the plain app: arm v1 the model, arm v2 a model whose answers
    differ and which fails every fourth call (one replica each). The shadow and blue/green tests
    reroute these same deployments."""
    from utils.deployment.engines import serve_on_ray

    model = app.state.predictor
    planted = _Planted(_Reversed(model), every=4)
    rollout = CanaryRollout(
        stable="v1",
        canary="v2",
        steps=(0.5, 1.0),
        guardrails={"error_rate": 0.05},
        min_requests=10,
        models={"v1": model, "v2": planted},
    )
    ray_server.stop()  # the pattern's app takes its place
    server = serve_on_ray(rollout, replicas=1, **_options(app))
    yield server, rollout, planted
    server.stop()


def _post_rows(url: str, X: np.ndarray) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=30) as c:
        return [c.post("/predict", json={"inputs": x.tolist()}) for x in X]


def _failures_are_model_errors(answers: list[httpx.Response]) -> list[httpx.Response]:
    """The answers that failed, each checked to be the server's 500 for a model error."""
    assert all(r.status_code in (200, 500) for r in answers)
    failed = [r for r in answers if r.status_code == 500]
    assert all(r.json()["detail"][0]["type"] == "model_error" for r in failed)
    return failed


@needs_ray
def test_canary_rolls_back_on_a_planted_error_rate(canary_server, digits) -> None:
    server, rollout, _ = canary_server
    X, _ = digits
    first = _post_rows(server.url, X[:8])
    assert server.control("evaluate")["decision"] == "hold"  # too few canary calls to judge
    assert _failures_are_model_errors(first + _post_rows(server.url, X[8:40]))
    verdict = server.control("evaluate")
    assert verdict["decision"] == "rollback" and verdict["weight"] == 0.0
    assert verdict["error_rate"] > rollout.guardrails["error_rate"]
    canary_calls = server.control("state")["arms"]["v2"]["calls"]
    after = _post_rows(server.url, X[40:60])
    assert [r.status_code for r in after] == [200] * 20  # everyone is back on the stable arm
    state = server.control("state")
    assert state["status"] == "rolled_back" and state["arms"]["v2"]["calls"] == canary_calls
    assert rollout.weight == 0.5, "the driver's object is a copy: only the server's moved"


@needs_ray
def test_shadow_never_changes_the_answer(canary_server, app, digits, default_client) -> None:
    server, _, planted = canary_server
    X, _ = digits
    model = app.state.predictor
    assert server.reroute(ShadowDeployment(primary=model, shadow=planted))["kind"] == "shadow"
    ours = _post_rows(server.url, X[:12])
    primary_alone = [default_client.post("/predict", json={"inputs": x.tolist()}) for x in X[:12]]
    assert [r.json() for r in ours] == [r.json() for r in primary_alone]
    table = server.control("comparison")["value"]
    errors = list(server.control("log")["status"]).count("error")
    assert table["requests"] == 12 and table["shadow_errors"] == errors == 3  # every fourth
    assert table["agreement"] < 1.0  # the shadow's answers differ, and were only logged


@needs_ray
def test_blue_green_switches_everyone_at_once(canary_server, app, digits, default_client) -> None:
    server, _, planted = canary_server
    X, _ = digits
    server.reroute(BlueGreen(blue=app.state.predictor, green=planted))
    blue = [r.json() for r in _post_rows(server.url, X[:4])]
    assert blue == [
        default_client.post("/predict", json={"inputs": x.tolist()}).json() for x in X[:4]
    ]
    assert server.control("switch")["active"] == "green"
    green = _post_rows(server.url, X[:4])  # every request now reaches green: one in four fails
    assert len(_failures_are_model_errors(green)) == 1
    for ours, theirs in zip(green, blue, strict=True):
        if ours.status_code == 200:
            got = list(ours.json()["predictions"][0]["probabilities"].values())
            assert got == list(theirs["predictions"][0]["probabilities"].values())[::-1]
    assert server.control("rollback")["active"] == "blue"
    assert [r.json() for r in _post_rows(server.url, X[:4])] == blue
    with pytest.raises(Exception, match="no action 'evaluate'"):
        server.control("evaluate")


@needs_ray
def test_stop_leaves_no_ray_process(ray_instance) -> None:
    """Stopping Ray ends every process it started. It ends the module's instance: the tests
    that need it come before, and the command line's own instance runs alone after."""
    import psutil

    from utils.deployment.engines import stop_ray

    def is_ray(process: psutil.Process) -> bool:
        # Only Ray's own processes: in a full run this process also has the browser tests'
        # Chromium and Playwright driver as children, which are not Ray's to end.
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            return False
        return "ray::" in command or "/ray/" in command or "raylet" in process.name()

    family = [p for p in psutil.Process().children(recursive=True) if is_ray(p)]
    assert any("raylet" in p.name() or "gcs_server" in p.name() for p in family)
    stop_ray()
    _gone, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, f"Ray processes left behind: {[p.name() for p in alive]}"


# ---------------------------------------------------------------------------------------------
# The command line, and the install line without Ray
# ---------------------------------------------------------------------------------------------
def _status(url: str) -> int | None:
    """The status of ``GET url``, or None when nothing answers in time."""
    try:
        return httpx.get(url, timeout=10).status_code
    except httpx.HTTPError:
        return None


@needs_ray
def test_cli_engine_ray_starts_answers_and_stops(sk_model, digits, tmp_path, serve_cli) -> None:
    import psutil

    X, _ = digits
    path = tmp_path / "digits.joblib"
    joblib.dump(sk_model, path)
    url = serve_cli(path, "--engine", "ray", "--replicas", "1", timeout=120.0)
    deadline = time.monotonic() + 120  # Serve's proxy answers (404) before the app is up
    while _status(f"{url}/health") != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = (X[:2].reshape(2, -1) / 256).tolist()
    r = httpx.post(f"{url}/predict", json={"inputs": rows}, timeout=30)
    assert r.status_code == 200, r.text
    got = [list(p["probabilities"].values()) for p in r.json()["predictions"]]
    np.testing.assert_allclose(got, sk_model.predict_proba(X[:2].reshape(2, -1) / 256), atol=1e-9)
    server = next(p for p in psutil.Process().children() if "utils.deployment" in p.cmdline())
    family = server.children(recursive=True)
    assert family, "Ray's processes run under the server's process"
    server.terminate()
    server.wait(30)
    _gone, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, f"Ray processes left behind: {[p.name() for p in alive]}"


WITHOUT_RAY = """
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "ray":
            raise ImportError(f"{name} is made unimportable by this test")

sys.meta_path.insert(0, Refuse())
import utils.deployment  # the default engine imports no Ray
from utils.deployment.serving import create_app
from utils.deployment.__main__ import main
from utils.deployment.engines import skip_rest_without_ray

assert skip_rest_without_ray() is False
code = main(["serve", sys.argv[1], "--engine", "ray"])
print("exit status", code)
try:
    from utils.deployment.engines import serve_on_ray
except ImportError as exc:
    print("ImportError:", exc)
assert not [m for m in sys.modules if m.partition(".")[0] == "ray"]
"""


def test_without_ray_the_install_line_is_printed(tmp_path) -> None:
    path = tmp_path / "tiny.joblib"
    joblib.dump({"not": "a model"}, path)  # never loaded: the engine is refused first
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, str(path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert f"Install it with `{INSTALL_LINE}`" in r.stdout  # the page's first cell
    assert "exit status 2" in r.stdout
    assert f"argument --engine: ray is not installed; install it with: {INSTALL_LINE}" in r.stderr
    assert "ImportError: the Ray Serve engine needs ray[serve]" in r.stdout
    assert INSTALL_LINE in r.stdout.rsplit("ImportError:", 1)[1]


def test_replicas_need_the_ray_engine(tmp_path) -> None:
    from utils.deployment.__main__ import main

    path = tmp_path / "m.joblib"
    path.write_bytes(b"")
    assert main(["serve", str(path), "--replicas", "2"]) == 2


# ---------------------------------------------------------------------------------------------
# The same deployment on Kubernetes, on paper: the KServe manifest
# ---------------------------------------------------------------------------------------------
def test_kserve_manifest_parses_and_has_the_fields(sk_model) -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "kserve" / "inferenceservice.yaml").read_text())
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest["kind"] == "InferenceService"
    predictor = manifest["spec"]["predictor"]
    share = predictor["canaryTrafficPercent"]
    assert isinstance(share, int) and 0 < share < 100
    assert 1 <= predictor["minReplicas"] <= predictor["maxReplicas"]
    (container,) = predictor["containers"]
    command = container["command"] + container["args"]
    assert command[:4] == ["python", "-m", "utils.deployment", "serve"]
    port = container["ports"][0]["containerPort"]
    assert command[command.index("--port") + 1] == str(port)
    from utils.deployment.__main__ import _parser

    args = _parser().parse_args(command[3:])  # options the server's command line accepts
    assert args.input_type == "text" and args.host == "0.0.0.0"
    names = [str(i) for i in range(10)]
    routes = {route.path for route in create_app(sk_model, class_names=names).routes}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] in routes
        assert container[probe]["httpGet"]["port"] == port
