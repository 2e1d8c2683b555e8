"""Faults around the model server: a model that hangs, hostile bodies and clients, bad options.

Every server here listens on 127.0.0.1 only. The hung model waits on an event that the test
sets, never on a sleep, so each outcome is decided by the time-outs and not by how busy the
machine is; the time-outs are short (a fraction of a second) to keep each test fast.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from utils.deployment.connections import BindError, ConnectionLimits, bind_socket
from utils.deployment.docs_offline import ASSETS, STATIC_URL
from utils.deployment.serving import create_app, load_model, serve_in_background

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 0.3  # the inference time-out of the hung-model tests, in seconds
ONE = {"inputs": [0.1, 0.2, 0.3, 0.4]}


class _Hangs:
    """A model whose calls block until ``release`` is set (for good, if it never is)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.release.wait(timeout=60)  # a bound, so that no test can leave a thread for ever
        return np.tile([0.25, 0.75], (len(X), 1))


class _Fine:
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.tile([0.25, 0.75], (len(X), 1))


def _app(model: object, **options: object):
    return create_app(model, input_shape=(4,), class_names=["no", "yes"], **options)


@pytest.fixture
def hung():
    model = _Hangs()
    yield model
    model.release.set()


def _until(check, seconds: float = 3.0) -> bool:
    """Poll ``check()`` until it is true or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------------------------
# A model that hangs: 504 within the time-out, 503 while stuck, recovery, liveness vs readiness
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("micro_batching", [True, False])
def test_a_hung_model_times_out_then_fails_fast_then_recovers(hung, micro_batching) -> None:
    server = serve_in_background(
        _app(hung, inference_timeout=TIMEOUT, micro_batching=micro_batching)
    )
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/ready").status_code == 503  # the warm-up call hangs too
            hung.release.set()
            assert _until(lambda: http.get("/ready").status_code == 200)
            hung.release.clear()

            t0 = time.monotonic()
            r = http.post("/predict", json=ONE)
            elapsed = time.monotonic() - t0
            assert r.status_code == 504 and TIMEOUT <= elapsed < TIMEOUT + 2.0
            assert r.json()["detail"] == [
                {"loc": ["model"], "type": "inference_timeout", "msg": r.json()["detail"][0]["msg"]}
            ]
            assert f"within {TIMEOUT:g} s" in r.json()["detail"][0]["msg"]

            assert _until(lambda: http.get("/ready").status_code == 503)
            ready = http.get("/ready")
            assert ready.json()["detail"][0]["type"] == "model_stuck"
            assert "has not returned" in ready.json()["detail"][0]["msg"]
            health = http.get("/health")  # liveness: the process still answers
            assert health.status_code == 200 and health.json()["status"] == "ok"

            r = http.post("/predict", json=ONE)  # refused before it reaches the model
            assert r.status_code == 503 and r.json()["detail"][0]["type"] == "model_stuck"
            assert r.headers["retry-after"] == "1"

            hung.release.set()  # the stuck call returns: the server recovers
            assert _until(lambda: http.get("/ready").status_code == 200)
            r = http.post("/predict", json=ONE)
            assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "yes"
            stats = http.get("/metrics.json").json()
            assert stats["by_status"] == {"200": 1, "503": 1, "504": 1}
            assert stats["inference"] == {
                "timeout_s": TIMEOUT,
                "timed_out": 1,
                "refused_while_stuck": 1,
                "stuck_for_s": None,
            }
    finally:
        hung.release.set()
        server.stop()


def test_requests_never_queue_behind_a_model_that_never_returns(hung) -> None:
    timeout = 1.5  # long enough that failing fast is told apart from waiting, even when busy
    server = serve_in_background(_app(hung, inference_timeout=timeout))
    try:

        def call(http: httpx.Client) -> tuple[int, float]:
            t0 = time.monotonic()
            r = http.post("/predict", json=ONE)
            return r.status_code, time.monotonic() - t0

        with ThreadPoolExecutor(4) as pool:  # all wait behind the first, hung call
            clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(4)]
            first = list(pool.map(call, clients))
        statuses = [s for s, _ in first]
        assert statuses.count(504) >= 1 and set(statuses) <= {503, 504}, statuses
        assert max(t for _, t in first) < timeout + 2.0
        http = clients[0]
        assert _until(lambda: http.get("/ready").status_code == 503)
        later = [call(http) for _ in range(5)]
        assert [s for s, _ in later] == [503] * 5
        assert max(t for _, t in later) < timeout / 2  # refused at once, not after the time-out
        assert hung.calls == 1  # abandoned requests were never handed to the model
        assert http.get("/metrics.json").json()["inference"]["refused_while_stuck"] >= 5
        for client in clients:
            client.close()
    finally:
        hung.release.set()
        server.stop()


def test_ready_warms_the_model_up_without_counting_a_request() -> None:
    with TestClient(_app(_Fine())) as c:
        r = c.get("/ready")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "model_name": "model", "model_version": "1"}
        stats = c.get("/metrics.json").json()
        assert stats["requests"] == 0 and stats["model_calls"] == 0


def test_ready_reports_a_model_that_fails_its_warm_up() -> None:
    class Broken:
        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            raise RuntimeError("weights missing")

    with TestClient(_app(Broken())) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert r.json()["detail"] == [
            {
                "loc": ["model"],
                "type": "model_not_ready",
                "msg": "the model failed its warm-up call: RuntimeError: weights missing",
            }
        ]
        assert c.get("/health").status_code == 200


def test_ready_for_a_text_model_warms_up_on_a_string() -> None:
    seen: list[object] = []

    class Texts:
        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            seen.extend(X)
            return np.tile([0.5, 0.5], (len(X), 1))

    with TestClient(create_app(Texts(), input_type="text", class_names=["a", "b"])) as c:
        assert c.get("/ready").status_code == 200
    assert seen == ["warm-up"]


def test_the_time_out_is_in_metadata_and_checked() -> None:
    with TestClient(_app(_Fine())) as c:
        assert c.get("/metadata").json()["inference_timeout_s"] == 10.0
    with TestClient(_app(_Fine(), inference_timeout=None)) as c:
        assert c.get("/metadata").json()["inference_timeout_s"] is None
        assert c.get("/ready").status_code == 200
    for bad in (0, -1, float("nan"), float("inf"), "5", True):
        with pytest.raises(ValueError, match="inference_timeout must be a positive number"):
            _app(_Fine(), inference_timeout=bad)
    with pytest.raises(ValueError, match="body_timeout must be a positive number"):
        _app(_Fine(), body_timeout=0)


def test_ready_is_documented_with_its_503() -> None:
    spec = TestClient(_app(_Fine())).get("/openapi.json").json()
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]
    assert {"503", "504"} <= set(spec["paths"]["/predict"]["post"]["responses"])


# ---------------------------------------------------------------------------------------------
# Bodies: too large (with or without a length) and too slow
# ---------------------------------------------------------------------------------------------
def _read_answer(sock: socket.socket, seconds: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``seconds`` pass)."""
    sock.settimeout(seconds)
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return data
        if not part:
            return data
        data += part


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    limit, chunk = 20_000, b"[" + b"0," * 499 + b"0]"  # 1,000 bytes a chunk
    server = serve_in_background(_app(_Fine(), max_body_bytes=limit))
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent, answer = 0, b""
        for _ in range(200):  # 200,000 bytes if the server read them all
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:  # the server closed the connection
                break
            sent += len(chunk)
            if select.select([sock], [], [], 0.005)[0]:
                answer = _read_answer(sock)
                break
        sock.close()
        head = answer.split(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"http/1.1 413"), answer[:200]
        assert b"connection: close" in head
        assert b"exceeds 20000 bytes" in answer
        assert sent < limit + 70_000  # at most what was in flight: the rest was never read
        assert httpx.post(f"{server.url}/predict", json=ONE).status_code == 200
    finally:
        server.stop()


def test_a_declared_oversized_body_is_refused_and_the_connection_closed() -> None:
    server = serve_in_background(_app(_Fine(), max_body_bytes=20_000))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in (25_000, 3_000_000):
                r = http.post(
                    "/predict", content=b"x" * n, headers={"content-type": "application/json"}
                )
                assert r.status_code == 413 and r.headers["connection"] == "close"
                assert f"has {n} bytes; at most 20000" in r.json()["detail"][0]["msg"]
            assert http.post("/predict", json=ONE).status_code == 200
    finally:
        server.stop()


def test_a_body_that_stops_arriving_is_answered_408() -> None:
    server = serve_in_background(_app(_Fine(), body_timeout=0.3))
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        t0 = time.monotonic()
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"inputs": '
        )
        answer = _read_answer(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"no part of the request body arrived for 0.3 s" in answer
        assert time.monotonic() - t0 < 3.0
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Slow and idle clients: header time-out, keep-alive, head size, concurrency
# ---------------------------------------------------------------------------------------------
LIMITS = {"header_timeout": 0.5, "keep_alive": 0.5, "max_concurrency": 20}


def test_connection_limits_defaults_and_checks() -> None:
    limits = ConnectionLimits()
    assert (
        limits.header_timeout,
        limits.keep_alive,
        limits.max_concurrency,
        limits.max_head_bytes,
    ) == (10.0, 5.0, 100, 16_384)
    config = limits.uvicorn_config(object())
    assert config.timeout_keep_alive == 5.0 and config.limit_concurrency == 100
    assert config.h11_max_incomplete_event_size == 16_384
    for bad in (
        {"header_timeout": 0},
        {"keep_alive": -1},
        {"max_concurrency": 0},
        {"max_head_bytes": 1.5},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ConnectionLimits(**bad)


def test_clients_that_send_their_headers_slowly_are_dropped() -> None:
    server = serve_in_background(_app(_Fine()), **LIMITS)
    try:
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
        t0 = time.monotonic()
        for sock in socks:
            sock.sendall(b"GET /health HTTP/1.1\r\n")
        alive = list(socks)
        for _ in range(40):  # one more header byte from each every 0.1 s: slow, never done
            time.sleep(0.1)
            for sock in list(alive):
                try:
                    sock.sendall(b"X")
                except OSError:
                    alive.remove(sock)
            if not alive:
                break
        assert alive == [] and time.monotonic() - t0 < 3.0
        answers = {_read_answer(s, 1.0)[:28] for s in socks}
        assert answers <= {b"HTTP/1.1 408 Request Timeout", b""}
        for sock in socks:
            sock.close()
        assert httpx.get(f"{server.url}/health").status_code == 200
    finally:
        server.stop()


def test_idle_connections_are_closed() -> None:
    server = serve_in_background(_app(_Fine()), **LIMITS)
    try:
        silent = socket.create_connection(("127.0.0.1", server.port))  # sends nothing at all
        t0 = time.monotonic()
        assert _read_answer(silent) == b"" and time.monotonic() - t0 < 3.0
        kept = socket.create_connection(("127.0.0.1", server.port))  # idle after one answer
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        t0 = time.monotonic()
        assert _read_answer(kept).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - t0 < 3.0
        silent.close()
        kept.close()
    finally:
        server.stop()


def test_a_request_head_that_keeps_growing_is_400() -> None:
    server = serve_in_background(_app(_Fine()), **LIMITS)
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: ")
        with contextlib.suppress(OSError):  # the server may close before the last piece
            for _ in range(20):  # 20,000 bytes of one header, never finished
                sock.sendall(b"a" * 1000)
                time.sleep(0.005)
        assert _read_answer(sock).startswith(b"HTTP/1.1 400")
        sock.close()
        assert httpx.get(f"{server.url}/health").status_code == 200
    finally:
        server.stop()


def test_requests_beyond_the_concurrency_limit_get_503() -> None:
    server = serve_in_background(_app(_Fine()), header_timeout=5, keep_alive=5, max_concurrency=3)
    try:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        time.sleep(0.1)
        assert httpx.get(f"{server.url}/health").status_code == 503
        for sock in held:
            sock.close()
        assert _until(lambda: httpx.get(f"{server.url}/health").status_code == 200)
    finally:
        server.stop()


def test_bind_socket_names_the_host_or_the_port() -> None:
    with pytest.raises(BindError, match="is not a valid name or address") as err:
        bind_socket("x" * 64 + ".invalid", 0)  # refused before any name lookup
    assert err.value.option == "host"
    taken = bind_socket("127.0.0.1", 0)
    taken.listen()
    try:
        with pytest.raises(BindError, match=r"cannot bind 127\.0\.0\.1") as err:
            bind_socket("127.0.0.1", taken.getsockname()[1])
        assert err.value.option == "port"
    finally:
        taken.close()


# ---------------------------------------------------------------------------------------------
# Damaged model files
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sk_model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def test_a_truncated_joblib_file_is_refused_by_name(sk_model, tmp_path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(sk_model, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"model file '.*model\.joblib' is truncated or corrupt"):
        load_model(path)
    path.write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match=r"model\.joblib' is truncated or corrupt"):
        load_model(path)


def test_a_truncated_or_corrupt_keras_file_is_refused_by_name(tmp_path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:  # stands in for a real .keras file
        archive.writestr("config.json", "{}" * 5_000)
        archive.writestr("model.weights.h5", bytes(range(256)) * 100)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"model file '.*model\.keras' is truncated or corrupt"):
        load_model(path)
    damaged = bytearray(whole)
    start = whole.index(b"{}{}")
    damaged[start : start + 4] = b"[][]"  # same length, wrong checksum
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"model\.keras' is corrupt: its member 'config\.json'"):
        load_model(path)


# ---------------------------------------------------------------------------------------------
# The command line: one line naming the option and what it accepts, exit status 2
# ---------------------------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "utils.deployment", "serve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


BAD_OPTIONS = [
    (["--input-shape", "2,x"], "--input-shape", "such as 28,28"),
    (["--input-shape", "0,3"], "--input-shape", "positive whole numbers"),
    (["--log-level", "bogus"], "--log-level", "choose from 'critical', 'error', 'warning'"),
    (["--host", "x" * 64 + ".invalid"], "--host", "such as 127.0.0.1"),
    (["--port", "70000"], "--port", "1..65535"),
    (["--port", "http"], "--port", "1..65535"),
    (["--inference-timeout", "-1"], "--inference-timeout", "0 or none for no time-out"),
    (["--inference-timeout", "soon"], "--inference-timeout", "0 or none for no time-out"),
    (["--max-request-rows", "0"], "--max-request-rows", "a positive whole number"),
    (["--micro-batch-rows", "many"], "--micro-batch-rows", "a positive whole number"),
    (["--header-timeout", "0"], "--header-timeout", "a positive number of seconds"),
    (["--class-names", "a,,b"], "--class-names", "two or more non-empty names"),
    (["--class-names", "a,b,c"], "--class-names", "3 names but the model has 2 classes"),
    (["--model-version", " "], "--model-version", "non-empty string"),
]


@pytest.mark.parametrize(
    ("args", "option", "accepted"), BAD_OPTIONS, ids=[" ".join(a)[:30] for a, _, _ in BAD_OPTIONS]
)
def test_cli_bad_options_get_one_line_and_status_2(
    sk_model, tmp_path, args, option, accepted
) -> None:
    joblib.dump(sk_model, tmp_path / "m.joblib")
    r = _cli("m.joblib", *args, cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert f"argument {option}:" in lines[0] and accepted in lines[0], lines[0]
    assert "Traceback" not in r.stderr and "startup complete" not in r.stderr.lower()


def test_cli_refuses_a_busy_port_before_loading_the_model(sk_model, tmp_path) -> None:
    joblib.dump(sk_model, tmp_path / "m.joblib")
    taken = bind_socket("127.0.0.1", 0)
    taken.listen()  # a listening socket: the port is in use
    try:
        r = _cli("m.joblib", "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    finally:
        taken.close()
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "argument --port: cannot bind" in r.stderr and "choose a free port" in r.stderr


def test_cli_names_a_corrupt_model_file(sk_model, tmp_path) -> None:
    joblib.dump(sk_model, tmp_path / "m.joblib")
    (tmp_path / "m.joblib").write_bytes((tmp_path / "m.joblib").read_bytes()[:200])
    r = _cli("m.joblib", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "model file 'm.joblib' is truncated or corrupt" in r.stderr


def test_cli_serves_with_its_time_out_and_limits(sk_model, tmp_path, serve_cli) -> None:
    joblib.dump(sk_model, tmp_path / "m.joblib")
    url = serve_cli(
        tmp_path / "m.joblib",
        "--inference-timeout",
        "2.5",
        "--header-timeout",
        "1",
        "--timeout-keep-alive",
        "1",
        "--limit-concurrency",
        "50",
    )
    assert httpx.get(f"{url}/metadata").json()["inference_timeout_s"] == 2.5
    assert httpx.get(f"{url}/ready").status_code == 200
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    assert _read_answer(sock) == b"" and time.monotonic() - t0 < 4.0  # the header time-out
    sock.close()


def test_cli_time_out_zero_or_none_turns_it_off() -> None:
    from utils.deployment.__main__ import _parser

    for value in ("0", "none", "None"):
        args = _parser().parse_args(["serve", "m.joblib", "--inference-timeout", value])
        assert args.inference_timeout is None
    assert _parser().parse_args(["serve", "m.joblib"]).inference_timeout == 10.0


# ---------------------------------------------------------------------------------------------
# /docs without internet (the page itself is tested in Chromium: tests/browser)
# ---------------------------------------------------------------------------------------------
def test_docs_page_loads_its_files_from_the_app_only() -> None:
    import re

    with TestClient(_app(_Fine())) as c:
        html = c.get("/docs").text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        urls += re.findall(r"""url: ["']([^"']+)["']""", html)
        assert len(urls) >= 4 and all(u.startswith("/") for u in urls), urls
        assert "cdn" not in html.lower() and '"validatorUrl": null' in html
        for name in ASSETS:
            r = c.get(f"{STATIC_URL}/{name}")
            assert r.status_code == 200 and len(r.content) > 1000, name
        assert c.get("/docs/oauth2-redirect").status_code == 200
        assert c.get("/redoc").status_code == 404  # ReDoc needs its vendor's CDN: left out
        assert not any(p.startswith(STATIC_URL) for p in c.get("/openapi.json").json()["paths"])
