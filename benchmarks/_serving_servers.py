"""The servers of ``benchmarks/serving.py``, how to start and stop them, and the answer check.

Every server answers ``POST /predict`` with ``{"inputs": <one 28x28 image>}`` and returns the
body that :func:`utils.deployment.serving.create_app` returns for the same image
(:func:`response_body`), so the benchmark compares servers doing the same work:

- ``naive``: the course's pattern, ``model.predict`` once per request (a FastAPI ``def`` route);
- ``direct``: how a practitioner writes it without our package: a FastAPI ``def`` route that
  calls the compiled forward pass (``tf.function`` of ``model(x, training=False)``) once per
  request; FastAPI runs ``def`` routes on its thread pool, so two requests can use two cores;
- ``ceiling``: the same FastAPI route parsing the same body with our request schema and our
  input checks (``PredictRequest``, ``validate_inputs``) and answering a constant body of the
  same shape: the most that this HTTP stack serves, whatever the model;
- ``litserve``: LitServe with dynamic batching (:func:`litserve_server` says how it is set up).

The FastAPI servers run in uvicorn with its defaults (httptools parser, uvloop), as
``uvicorn.run(app)`` gives a practitioner. Run one with
``python benchmarks/_serving_servers.py KIND MODEL_PATH --port N [--constant BODY.json]``.
:func:`running` starts any server command and stops it with all its processes;
:class:`Checker` posts images whose answers are known and counts the wrong ones.

Nothing here imports TensorFlow at module level: LitServe forks its HTTP processes, which must
not inherit TensorFlow's threads. (No ``from __future__ import annotations`` either: FastAPI
reads the routes' annotations, and the request models are not module globals.)
"""

import argparse
import contextlib
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

try:
    import litserve as ls
except ImportError:  # the LitServe baseline is skipped; the others run
    ls = None

#: The lab's five classes, the model's outputs in order.
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Shirt", "Sneaker")
#: The model's file is ``small_cnn.keras``: ``create_app`` names it after the file's stem.
MODEL_NAME, MODEL_VERSION = "small_cnn", "1"
INPUT_SHAPE = (28, 28, 1)

#: The answer checks: numbers may differ by this much (a batch of 16 rows and a batch of one
#: differ by about 1e-7 in float32); the checker posts one image every CHECK_EVERY_S seconds.
TOLERANCE, CHECK_EVERY_S = 1e-5, 0.025

#: LitServe's dynamic batching: the largest batch (as ours, ``micro_batch_rows=64``) and the
#: longest wait for it to fill, in seconds. Its docs give no value for a CPU. Measured on the
#: 2-core machine at 1 and 16 connections: 0 makes each worker poll its queue without a pause
#: (litserve/loops/base.py, ``collate_requests``), which starves 2 cores (a quarter of the
#: throughput); 0.002 s was the fastest at 16 connections (0.001 s a little faster at 1),
#: 0.005 s slower at both; ``fast_queue=False`` halved the throughput.
LITSERVE_MAX_BATCH, LITSERVE_BATCH_TIMEOUT = 64, 0.002
#: How the LitServe baseline is set up (see :func:`litserve_server`), for the results file.
LITSERVE_SETUP = (
    f"LitServer(accelerator='cpu', workers_per_device=os.cpu_count(), fast_queue=True, "
    f"timeout=30), num_api_servers default (one per worker); LitAPI(max_batch_size="
    f"{LITSERVE_MAX_BATCH}, batch_timeout={LITSERVE_BATCH_TIMEOUT})"
)


def build_model(path: Path) -> None:
    """The lab's small CNN, seeded and saved to ``path``; its weights do not matter for speed."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(len(CLASSES), activation="softmax"),
        ]
    )
    model.save(path)


def compiled_forward(model_path: str) -> Any:
    """The model's forward pass compiled once: ``(n, 28, 28, 1)`` float32 -> (n, 5) NumPy."""
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(model_path, compile=False)
    spec = tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda x: forward(tf.constant(x, dtype=tf.float32)).numpy()


def response_body(p: Any) -> dict[str, Any]:
    """The body ``create_app`` answers for one image whose probabilities are ``p``."""
    probs = [float(v) for v in p]
    top = max(range(len(probs)), key=probs.__getitem__)  # the first maximum, as np.argmax
    prediction = {
        "label": CLASSES[top],
        "class_index": top,
        "confidence": probs[top],
        "withheld": False,
        "reason": None,
        "probabilities": dict(zip(CLASSES, probs, strict=True)),
    }
    return {
        "model_name": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "min_confidence": 0.0,
        "n_withheld": 0,
        "predictions": [prediction],
        "notes": [],
    }


def _image(inputs: Any) -> Any:
    """One image as a ``(1, 28, 28, 1)`` float32 array, or a 422 naming the problem."""
    import numpy as np
    from fastapi import HTTPException

    try:
        x = np.asarray(inputs, dtype=np.float32)
    except (TypeError, ValueError):
        raise HTTPException(422, "inputs must be a 28x28 array of numbers") from None
    if x.shape not in (INPUT_SHAPE, INPUT_SHAPE[:2]):
        raise HTTPException(422, f"inputs has shape {x.shape}; expected (28, 28)")
    return x.reshape(1, *INPUT_SHAPE)


class PredictRequest(BaseModel):
    """The request body a practitioner declares: ``{"inputs": [...]}`` (as our schema)."""

    inputs: list[Any]


def naive_app(model_path: str) -> Any:
    """The course's pattern: load once, then ``model.predict`` on every request."""
    import keras
    from fastapi import FastAPI

    model = keras.saving.load_model(model_path, compile=False)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, Any]:
        return response_body(model.predict(_image(body.inputs), verbose=0)[0])

    return app


def direct_app(model_path: str) -> Any:
    """The practitioner's server: the compiled forward pass, once per request."""
    from fastapi import FastAPI

    forward = compiled_forward(model_path)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, Any]:
        return response_body(forward(_image(body.inputs))[0])

    return app


def ceiling_app(constant_path: str) -> Any:
    """Our request schema and input checks, then a constant answer: the HTTP stack's limit."""
    from fastapi import FastAPI, HTTPException

    from utils.deployment.serving.schemas import PredictRequest as OurRequest
    from utils.deployment.serving.validation import InputError, validate_inputs

    constant = json.loads(Path(constant_path).read_text(encoding="utf-8"))
    app = FastAPI()

    @app.post("/predict")
    async def predict(body: OurRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        try:
            validate_inputs(body.inputs, INPUT_SHAPE, max_rows=256)
        except InputError as exc:
            raise HTTPException(exc.status, exc.msg) from None
        return constant

    return app


if ls is not None:

    class SmallCNN(ls.LitAPI):  # type: ignore[misc]
        """The LitServe baseline: decode one image, stack a batch (``LitAPI.batch``:
        ``numpy.stack``), one forward pass, one response body per row."""

        def __init__(self, model_path: str, **options: Any) -> None:
            super().__init__(**options)
            self.model_path = model_path

        def setup(self, device: str) -> None:
            self.forward = compiled_forward(self.model_path)

        # No annotation: LitServe reads it as the request's type (none: the JSON body, a dict).
        def decode_request(self, request):  # type: ignore[no-untyped-def]
            return _image(request["inputs"])[0]

        def predict(self, x: Any) -> Any:
            return self.forward(x)

        def unbatch(self, output: Any) -> list[Any]:
            return list(output)

        def encode_response(self, output: Any) -> dict[str, Any]:
            return response_body(output)


def litserve_server(model_path: str, workers: int | None = None) -> Any:
    """LitServe set up as its docs advise for a CPU (litserve/server.py, ``LitServer``).

    ``workers_per_device``: "for CPU, set to the number of cores"; ``num_api_servers`` left to
    its default, one HTTP process per inference worker; ``fast_queue=True`` (ZeroMQ between
    them), advised "for high-throughput scenarios (>100 RPS)"; dynamic batching with
    ``max_batch_size`` and ``batch_timeout`` on the LitAPI (the 0.3 way, not on LitServer).
    """
    if ls is None:
        raise ImportError("litserve is not installed (pip install -e .[bench])")
    api = SmallCNN(
        model_path, max_batch_size=LITSERVE_MAX_BATCH, batch_timeout=LITSERVE_BATCH_TIMEOUT
    )
    return ls.LitServer(
        api,
        accelerator="cpu",
        workers_per_device=workers or os.cpu_count() or 1,
        timeout=30,
        fast_queue=True,
    )


@contextlib.contextmanager
def running(
    cmd: list[str], log: Path, probe: bytes, timeout: float = 180.0
) -> Iterator[tuple[str, int]]:
    """Start ``cmd --port N`` in a process group of its own, wait until ``POST /predict``
    answers ``probe`` with 200, yield that URL and the group's id, then stop the group."""
    from utils.deployment.serving import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/predict"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_answering(url, proc, probe, timeout)
            yield url, proc.pid
        except (RuntimeError, TimeoutError):
            out.flush()
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            print("\n".join(f"    | {line}" for line in tail), flush=True)
            raise
        finally:
            _stop_group(proc)


def cpu_seconds(pgid: int) -> dict[str, float]:
    """CPU seconds so far: of the whole machine (busy, all cores), of the processes of group
    ``pgid`` (those still running) and of this process with its finished children (wrk)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(f) for f in stat.readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    group = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                after = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(after[2]) == pgid:
            group += int(after[11]) + int(after[12])
    own = os.times()
    mine = own.user + own.system + own.children_user + own.children_system
    return {"machine": busy / tick, "server": group / tick, "bench": mine}


def _wait_until_answering(
    url: str, proc: subprocess.Popen[Any], probe: bytes, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, probe, {"Content-Type": "application/json"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} (its log is above)")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _stop_group(proc: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM to the server, which stops its workers (LitServe's, Ray's); then whatever is left
    of its process group gets SIGTERM, and SIGKILL if it is still there."""
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(proc.pid):
            return
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.2)
    proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def same_answer(got: Any, want: Any) -> bool:
    """``got`` has ``want``'s keys and values: numbers within ``TOLERANCE``, the rest equal."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same_answer(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same_answer, got, want))
    if isinstance(want, float):
        return isinstance(got, int | float) and abs(got - want) <= TOLERANCE
    return bool(got == want) and type(got) is type(want)


class Checker:
    """Posts distinct images whose answers are known and counts wrong answers and failures."""

    def __init__(self, bodies: list[bytes], answers: list[dict[str, Any]]) -> None:
        self.bodies, self.answers = bodies, answers
        self.reset("http://127.0.0.1:1/predict", constant=False)

    def reset(self, url: str, *, constant: bool) -> None:
        """Check the server at ``url``; ``constant``: it answers image 0's answer to all."""
        self.url, self.constant = urllib.parse.urlsplit(url), constant
        self.checked = self.wrong = self.failed = 0
        self.first_problem: str | None = None

    def _post(self, conn: http.client.HTTPConnection, i: int) -> None:
        want = self.answers[0 if self.constant else i]
        try:
            conn.request(
                "POST", self.url.path, self.bodies[i], {"Content-Type": "application/json"}
            )
            answer = conn.getresponse()
            status, got = answer.status, json.loads(answer.read())
        except (OSError, http.client.HTTPException, ValueError) as exc:
            status, got = 0, repr(exc)
            conn.close()  # the next request opens a new connection
        self.checked += 1
        if status != 200:
            self.failed += 1
        elif not same_answer(got, want):
            self.wrong += 1
        else:
            return
        self.first_problem = self.first_problem or f"image {i}: status {status}, {str(got)[:300]}"

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)

    def check_all(self) -> None:
        """Post every image once, one after the other."""
        conn = self._connection()
        for i in range(len(self.bodies)):
            self._post(conn, i)
        conn.close()

    @contextlib.contextmanager
    def during_load(self) -> Iterator[None]:
        """While the block runs, post the images in turn, one every ``CHECK_EVERY_S``."""
        stop = threading.Event()

        def loop() -> None:
            conn, i = self._connection(), 0
            while not stop.wait(CHECK_EVERY_S):
                self._post(conn, i % len(self.bodies))
                i += 1
            conn.close()

        thread = threading.Thread(target=loop, name="answer-checker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    def summary(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "wrong": self.wrong,
            "failed": self.failed,
            "first_problem": self.first_problem,
        }


def serve(kind: str, model_path: str, port: int, constant: str | None = None) -> None:
    """Run the server ``kind`` on 127.0.0.1:``port`` until it is stopped."""
    if kind == "litserve":
        server = litserve_server(model_path)
        server.run(host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)
        return
    import uvicorn

    if kind == "ceiling":
        if constant is None:
            raise SystemExit("the ceiling server needs --constant BODY.json")
        app = ceiling_app(constant)
    else:
        app = {"naive": naive_app, "direct": direct_app}[kind](model_path)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("naive", "direct", "ceiling", "litserve"))
    parser.add_argument("model_path")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--constant", help="the ceiling's answer, a JSON file")
    args = parser.parse_args()
    serve(args.kind, args.model_path, args.port, args.constant)
