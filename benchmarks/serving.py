"""Serving throughput and latency: ``create_app`` against the naive ``model.predict`` server.

Run: ``python benchmarks/serving.py`` (about 70 s). The same small Keras CNN (the week-1 lab's
model: 28x28x1 input, five classes) is served three ways, each in its own uvicorn process
on 127.0.0.1:

- ``naive``: a FastAPI route that calls ``model.predict`` once per request, the pattern of the
  course's lab;
- ``create_app``: :func:`utils.deployment.create_app` with its defaults (compiled forward pass,
  dynamic micro-batching);
- ``create_app (no micro-batching)``: the same, one model call per request.

Load comes from ``wrk`` (``-t1 -c16 -d10s``; a C program, so the client is not the bottleneck)
posting one 28x28 image as JSON. The script prints a table and writes
``benchmarks/results/serving.json``. Targets on 2 cores: at least 30 times the naive
throughput, and p99 under 100 ms at 16 connections.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "serving.json"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Shirt", "Sneaker"]
WRK = "/usr/bin/wrk"
DURATION_S, CONNECTIONS, THREADS = 10, 16, 1

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("BODY_FILE")):read("*a")
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "errors": %d, "non2xx": %d, "timeouts": %d, '
    .. '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    summary.errors.timeout, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


def build_model(path: Path) -> None:
    """The lab's small CNN, seeded; its weights do not matter for speed."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
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


def naive_app(model_path: str) -> object:
    """The course's pattern: load once, then ``model.predict`` on every request."""
    import keras
    import numpy as np
    from fastapi import FastAPI

    app = FastAPI()
    model = keras.saving.load_model(model_path)

    @app.post("/predict")
    def predict(body: dict) -> dict:
        x = np.asarray(body["inputs"], dtype="float32").reshape(1, 28, 28, 1)
        p = model.predict(x, verbose=0)[0]
        return {"label": CLASSES[int(p.argmax())], "confidence": float(p.max())}

    return app


def serve_naive(model_path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        naive_app(model_path), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def run_wrk(url: str, lua: Path, body: Path, duration: int) -> dict:
    env = {**os.environ, "BODY_FILE": str(body)}
    cmd = [
        WRK,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        url,
    ]
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=duration + 30, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["throughput_rps"] = result["requests"] / result["seconds"]
    return result


def measure(name: str, cmd: list[str], lua: Path, body: Path) -> dict:
    from utils.deployment.serving import free_port

    port = free_port()
    log = open(lua.parent / f"server-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/docs", proc)
        url = f"http://127.0.0.1:{port}/predict"
        run_wrk(url, lua, body, 2)  # warm-up: first calls trace and allocate
        result = run_wrk(url, lua, body, DURATION_S)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    result["name"] = name
    print(f"  {name}: {result['throughput_rps']:.0f} req/s", flush=True)
    return result


def main() -> int:
    if not Path(WRK).exists() and shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 1
    import numpy as np

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model_path = tmp / "small_cnn.keras"
        build_model(model_path)
        image = np.random.default_rng(0).integers(0, 256, size=(28, 28)).tolist()
        body = tmp / "body.json"
        body.write_text(json.dumps({"inputs": image}))
        lua = tmp / "post.lua"
        lua.write_text(LUA)
        py = sys.executable
        servers = {
            "naive (model.predict per request)": [
                py,
                __file__,
                "--serve-naive",
                str(model_path),
            ],
            "create_app (micro-batching)": [
                py,
                "-m",
                "utils.deployment",
                "serve",
                str(model_path),
                "--log-level",
                "warning",
                "--class-names",
                ",".join(CLASSES),
            ],
            "create_app (no micro-batching)": [
                py,
                "-m",
                "utils.deployment",
                "serve",
                str(model_path),
                "--log-level",
                "warning",
                "--class-names",
                ",".join(CLASSES),
                "--no-micro-batching",
            ],
        }
        print(f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION_S}s, one 28x28 image per request")
        results = [measure(name, cmd, lua, body) for name, cmd in servers.items()]

    base = results[0]["throughput_rps"]
    print()
    print(
        f"{'server':34s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'x naive':>8s}"
    )
    for r in results:
        r["ratio_vs_naive"] = r["throughput_rps"] / base
        print(
            f"{r['name']:34s} {r['throughput_rps']:8.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{r['errors']:7d} {r['ratio_vs_naive']:8.1f}"
        )
    best = results[1]
    targets = {
        "throughput_ratio_at_least_30": best["ratio_vs_naive"] >= 30,
        "p99_under_100_ms": best["p99_ms"] < 100,
    }
    print(f"\ntargets (create_app defaults): {targets}")
    print(f"machine load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    import fastapi
    import tensorflow as tf
    import uvicorn

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "serving",
                "command": "python benchmarks/serving.py",
                "load": {
                    "tool": "wrk",
                    "threads": THREADS,
                    "connections": CONNECTIONS,
                    "duration_s": DURATION_S,
                    "body": "one 28x28 image as JSON",
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_average_1min": {
                        "before": round(load_before, 2),
                        "after": round(os.getloadavg()[0], 2),
                    },
                    "python": platform.python_version(),
                    "tensorflow": tf.__version__,
                    "fastapi": fastapi.__version__,
                    "uvicorn": uvicorn.__version__,
                },
                "results": results,
                "targets": targets,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-naive", metavar="MODEL", help="(internal) run the naive server")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.serve_naive:
        serve_naive(args.serve_naive, args.port)
    else:
        sys.exit(main())
