"""Serving throughput, latency and correct answers: ``create_app`` against what a practitioner runs.

Run: ``python benchmarks/serving.py`` (about five minutes on 2 cores; ``wrk`` must be installed).
The same small Keras CNN (the week-1 lab's model: 28x28x1 input, five classes) is served by each
server below, each in its own process(es) on 127.0.0.1, and every one answers with the body
``create_app`` answers (the baselines are in ``benchmarks/_serving_servers.py``):

- ``naive (model.predict)``: the course's pattern, ``model.predict`` once per request;
- ``direct FastAPI``: a FastAPI route calling the compiled forward pass once per request;
- ``LitServe (batched)``: LitServe with dynamic batching, set up as its docs advise for a CPU
  (one inference worker and one HTTP process per core, ZeroMQ between them);
- ``HTTP ceiling``: the same FastAPI route parsing the same body with our schema and input
  checks, answering a constant body of the same shape (the most this HTTP stack serves);
- ``create_app``: :func:`utils.deployment.create_app` through ``python -m utils.deployment
  serve`` with its defaults (micro-batching), and with ``--no-micro-batching``;
- ``Ray Serve``: the same command with ``--engine ray --replicas 1`` and ``2``, when the command
  line has that engine.

Load comes from ``wrk`` (a C program, so the client is not the bottleneck) posting one 28x28
image as JSON at 1, 4 and 16 connections, 4 s a run; at 16 connections (the targets') the
median of three runs. Answers are checked, not only status codes: before and after the load
every server answers 15 distinct images, and during the load a thread posts them too (one more
connection, one request every 25 ms); each answer must equal the model's own answer (labels
exactly, numbers within 1e-5). A server with a wrong answer or a failed request is reported as
failing, and a failing ``create_app`` meets no target. Every server runs with the same thread
settings (``THREADS_ENV``). The machine is shared: for each server the script also records its
CPU time per request (all its processes) and the cores that other processes used while it was
measured. It prints a table and the targets, and writes ``benchmarks/results/serving.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: One thread per operation for every server (TensorFlow, OpenMP, BLAS): on 2 cores, each
#: process's parallelism comes from serving requests side by side, the same for all servers.
THREADS_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}
os.environ.update(THREADS_ENV)
os.environ.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", KERAS_BACKEND="tensorflow")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import curve, machine_info, print_targets, target, write_results  # noqa: E402
from _serving_servers import (  # noqa: E402
    CHECK_EVERY_S,
    CLASSES,
    LITSERVE_SETUP,
    Checker,
    build_model,
    compiled_forward,
    cpu_seconds,
    ls,
    response_body,
    running,
)

CONNECTIONS = (1, 4, 16)
N_IMAGES = 15  # distinct images whose answers are checked
TARGET_C = 16  # the connections of the targets
OURS = "create_app (micro-batching)"
DURATION_S, ROUNDS_AT_TARGET, WARMUP_S = 4, 3, 2
SERVERS_PY = str(ROOT / "benchmarks" / "_serving_servers.py")
PACKAGES = ("fastapi", "uvicorn", "httptools", "uvloop", "tensorflow", "keras", "litserve", "ray")

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


def make_images(tmp: Path, model: Path, constant: Path) -> Checker:
    """Save the model; pick distinct images (several classes); write wrk's body (image 0) and
    the ceiling's constant answer; return a Checker holding the model's answers."""
    import numpy as np

    build_model(model)
    forward = compiled_forward(str(model))
    rng = np.random.default_rng(0)
    pool = [
        np.clip(rng.normal(rng.uniform(0, 255), rng.uniform(5, 120), (28, 28)), 0, 255).round()
        for _ in range(300)
    ]
    probs = [forward(x.reshape(1, 28, 28, 1).astype(np.float32))[0] for x in pool]
    by_class: dict[int, list[int]] = {}
    for i, p in enumerate(probs):
        by_class.setdefault(int(p.argmax()), []).append(i)
    order = [i for group in zip(*by_class.values(), strict=False) for i in group]  # round robin
    order += [i for i in range(len(pool)) if i not in order]
    chosen = order[:N_IMAGES]
    bodies = [json.dumps({"inputs": pool[i].astype(int).tolist()}).encode() for i in chosen]
    answers = [response_body(probs[i]) for i in chosen]
    (tmp / "body.json").write_bytes(bodies[0])
    constant.write_text(json.dumps(answers[0]), encoding="utf-8")
    return Checker(bodies, answers)


def wrk_path() -> str | None:
    """``/usr/bin/wrk``, or ``wrk`` on the PATH, or None."""
    return "/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else shutil.which("wrk")


def ray_engine_available() -> bool:
    """True if ``python -m utils.deployment serve`` has ``--engine`` (and ray is installed)."""
    out = subprocess.run(
        [sys.executable, "-m", "utils.deployment", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    return "--engine" in out


def server_commands(model: Path, constant: Path, missing: list[str]) -> dict[str, dict[str, Any]]:
    """Each server's command (``--port N`` is added when it starts) and how it is set up."""
    py, names = sys.executable, ",".join(CLASSES)
    ours = [py, "-m", "utils.deployment", "serve", str(model), "--log-level", "warning"]
    ours += ["--class-names", names]
    uvicorn = "uvicorn.run defaults (httptools parser, uvloop), one process"
    out: dict[str, dict[str, Any]] = {
        "HTTP ceiling": {
            "cmd": [py, SERVERS_PY, "ceiling", str(model), "--constant", str(constant)],
            "setup": f"async route: our PredictRequest and validate_inputs, constant answer; {uvicorn}",
        },
        "create_app (micro-batching)": {
            "cmd": ours,
            "setup": "python -m utils.deployment serve, defaults (micro_batch_rows=64, "
            "batch_wait_ms=0; h11 parser with a header time-out, uvloop), one process",
        },
        "create_app (no micro-batching)": {
            "cmd": [*ours, "--no-micro-batching"],
            "setup": "the same with --no-micro-batching (one model call per request)",
        },
        "direct FastAPI": {
            "cmd": [py, SERVERS_PY, "direct", str(model)],
            "setup": f"def route (thread pool), tf.function forward pass per request; {uvicorn}",
        },
        "LitServe (batched)": {
            "cmd": [py, SERVERS_PY, "litserve", str(model)],
            "setup": LITSERVE_SETUP,
        },
        "naive (model.predict)": {
            "cmd": [py, SERVERS_PY, "naive", str(model)],
            "setup": f"def route, model.predict per request; {uvicorn}",
        },
    }
    if ls is None:
        print("skipped: litserve is not installed (pip install -e .[bench])")
        missing.append("litserve")
        del out["LitServe (batched)"]
    if ray_engine_available():
        for n in (1, 2):
            out[f"Ray Serve ({n} replica{'s' if n > 1 else ''})"] = {
                "cmd": [*ours, "--engine", "ray", "--replicas", str(n)],
                "setup": f"python -m utils.deployment serve --engine ray --replicas {n}",
            }
    elif importlib.util.find_spec("ray") is None:
        print("skipped: ray is not installed (pip install -e .[scale])")
        missing.append("ray")
    else:
        print("skipped: Ray Serve rows (python -m utils.deployment serve has no --engine ray)")
    return out


def run_wrk(url: str, connections: int, duration: int, tmp: Path) -> dict[str, Any]:
    """One wrk run: requests/s and latency percentiles (ms), errors counted."""
    cmd = [wrk_path() or "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
    cmd += ["-s", str(tmp / "post.lua"), url]
    env = {**os.environ, "BODY_FILE": str(tmp / "body.json")}
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=duration + 30, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def load_point(
    url: str, pgid: int, connections: int, tmp: Path, checker: Checker
) -> dict[str, Any]:
    """wrk at ``connections`` (the median of several runs at the target), checked throughout;
    with the server's CPU time per request and the cores other processes used meanwhile."""
    rounds = ROUNDS_AT_TARGET if connections == TARGET_C else 1
    before, start = cpu_seconds(pgid), time.monotonic()
    with checker.during_load():
        runs = [run_wrk(url, connections, DURATION_S, tmp) for _ in range(rounds)]
    after, wall = cpu_seconds(pgid), time.monotonic() - start
    used = {key: after[key] - before[key] for key in after}
    point = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms", "p99_ms")}
    point["errors"] = sum(r["errors"] for r in runs)
    point["requests"] = sum(r["requests"] for r in runs)
    point["server_cpu_ms_per_request"] = 1000 * used["server"] / max(point["requests"], 1)
    point["other_processes_cores"] = (used["machine"] - used["server"] - used["bench"]) / wall
    point["runs"] = runs
    return point


def measure(name: str, spec: dict[str, Any], tmp: Path, checker: Checker) -> dict[str, Any]:
    """Start the server, check its answers, load it at each connection count, stop it."""
    log, started = tmp / f"server-{len(list(tmp.glob('server-*')))}.log", time.monotonic()
    with running(spec["cmd"], log, checker.bodies[0]) as (url, pgid):
        checker.reset(url, constant=name == "HTTP ceiling")
        checker.check_all()  # before the load
        run_wrk(url, TARGET_C, WARMUP_S, tmp)  # warm-up: first calls trace and allocate
        points = {c: load_point(url, pgid, c, tmp, checker) for c in CONNECTIONS}
        checker.check_all()  # after the load
    answers = checker.summary()
    answers["failed"] += sum(p["errors"] for p in points.values())  # wrk's failed requests
    top = points[TARGET_C]
    print(
        f"  {name}: {top['rps']:.0f} req/s, p99 {top['p99_ms']:.1f} ms at c{TARGET_C}; "
        f"{answers['checked']} answers checked, {answers['wrong']} wrong, "
        f"{answers['failed']} failed requests; other processes used "
        f"{top['other_processes_cores']:.2f} cores; {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return {
        "name": name,
        "setup": spec["setup"],
        "points": points,
        "answers": answers,
        "failing": bool(answers["wrong"] or answers["failed"]),
    }


def measure_all(servers: dict[str, dict[str, Any]], tmp: Path, checker: Checker) -> list[Any]:
    """Every server in turn; one that does not start is reported failing, the rest still run."""
    results = []
    for name, spec in servers.items():
        try:
            results.append(measure(name, spec, tmp, checker))
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print(f"  {name}: FAILED to run: {exc}", flush=True)
            results.append({"name": name, "setup": spec["setup"], "error": str(exc)})
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    """Requests/s at each connection count; at the target: latency, the server's CPU time per
    request (all its processes), the cores other processes of the machine used meanwhile."""
    print(f"\n{'server':32s}" + "".join(f" {'req/s c' + str(c):>10s}" for c in CONNECTIONS), end="")
    print(
        f" {'p50 ms':>7s} {'p99 ms':>7s} {'cpu/req':>8s} {'others':>6s} {'wrong':>6s} {'failed':>6s}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['name']:32s} did not run: {r['error'][:80]}")
            continue
        top, answers = r["points"][TARGET_C], r["answers"]
        rates = "".join(f" {r['points'][c]['rps']:10.0f}" for c in CONNECTIONS)
        print(
            f"{r['name']:32s}{rates} {top['p50_ms']:7.1f} {top['p99_ms']:7.1f} "
            f"{top['server_cpu_ms_per_request']:8.2f} {top['other_processes_cores']:6.2f} "
            f"{answers['wrong']:6d} {answers['failed']:6d}{'  FAILING' if r['failing'] else ''}"
        )
    print(
        f"(p50, p99, cpu/req: the server's CPU ms per request, others: cores used by other "
        f"processes; all at {TARGET_C} connections)"
    )


def _at_target(by_name: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The server's figures at ``TARGET_C`` connections, or None if it did not run."""
    r = by_name.get(name)
    return None if r is None or "error" in r else r["points"][TARGET_C]


def targets(by_name: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The three targets at ``TARGET_C`` connections, from this run's measurements."""
    workload = f"serving, one 28x28 image per request, c{TARGET_C}"
    ours, ceiling = _at_target(by_name, OURS), _at_target(by_name, "HTTP ceiling")
    ok = ours is not None and not by_name[OURS]["failing"]  # wrong answers fail every target
    rivals = {
        n: p for n in ("LitServe (batched)", "direct FastAPI") if (p := _at_target(by_name, n))
    }
    best = max(rivals, key=lambda n: rivals[n]["rps"], default=None)
    against = f"best of {' and '.join(rivals) or 'LitServe and direct FastAPI (none ran)'}"
    if ours is None:
        return [
            target(workload, against, goal, "create_app did not run", False)
            for goal in (">= 2x throughput", "p99 <= 20 ms", ">= 90 % of the HTTP ceiling")
        ]
    rows = []
    if best is None:
        rows.append(target(workload, against, ">= 2x throughput", "no baseline ran", False))
    else:
        ratio = ours["rps"] / rivals[best]["rps"]
        measured = f"{ratio:.2f}x ({ours['rps']:.0f} req/s vs {best} {rivals[best]['rps']:.0f})"
        rows.append(target(workload, against, ">= 2x throughput", measured, ok and ratio >= 2))
    p99 = ours["p99_ms"]
    rows.append(target(workload, "ours alone", "p99 <= 20 ms", f"{p99:.1f} ms", ok and p99 <= 20))
    against = "HTTP ceiling (same route and checks, constant answer)"
    if ceiling is None:
        rows.append(target(workload, against, ">= 90 % of its throughput", "no ceiling", False))
    else:
        share = ours["rps"] / ceiling["rps"]
        measured = f"{100 * share:.0f} % ({ours['rps']:.0f} of {ceiling['rps']:.0f} req/s)"
        rows.append(
            target(workload, against, ">= 90 % of its throughput", measured, ok and share >= 0.9)
        )
    return rows


def curves(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests/s and p99 against connections, one series per server that ran."""
    xs, ran = [float(c) for c in CONNECTIONS], [r for r in results if "error" not in r]
    rate = {r["name"]: (xs, [r["points"][c]["rps"] for c in CONNECTIONS]) for r in ran}
    p99 = {r["name"]: (xs, [r["points"][c]["p99_ms"] for c in CONNECTIONS]) for r in ran}
    label = "one 28x28 image per request"
    return [
        curve(f"serving throughput, {label}", "connections", "requests/s", rate),
        curve(f"serving p99 latency, {label}", "connections", "p99 latency (ms)", p99),
    ]


def answer_checks(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One check per server: it ran, and every answer before, during and after the load was right."""
    checks = []
    for r in results:
        if "error" in r:
            checks.append({"name": f"{r['name']} answers", "ok": False, "detail": r["error"]})
            continue
        a = r["answers"]
        detail = (
            f"{a['checked']} answers checked, {a['wrong']} wrong, {a['failed']} failed requests"
        )
        if a["first_problem"]:
            detail += f"; first: {a['first_problem']}"
        checks.append(
            {"name": f"{r['name']} answers under load", "ok": not r["failing"], "detail": detail}
        )
    return checks


def main() -> int:
    if wrk_path() is None:
        print("wrk is needed: apt-get install -y --no-install-recommends wrk", file=sys.stderr)
        return 1
    load_before, missing, started = os.getloadavg()[0], [], time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model, constant = tmp / "small_cnn.keras", tmp / "constant.json"
        checker = make_images(tmp, model, constant)
        (tmp / "post.lua").write_text(LUA)
        servers = server_commands(model, constant, missing)
        print(
            f"wrk -t1 at {CONNECTIONS} connections, {DURATION_S} s a run (median of "
            f"{ROUNDS_AT_TARGET} at {TARGET_C}); load average {load_before:.2f}"
        )
        results = measure_all(servers, tmp, checker)
    load_after = os.getloadavg()[0]
    print_table(results)
    rows = targets({r["name"]: r for r in results})
    print_targets(rows, missing)
    elapsed = time.monotonic() - started
    print(
        f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after; {elapsed:.0f} s"
    )
    machine = machine_info(PACKAGES)
    machine["load_average_1min"] = {"before": round(load_before, 2), "after": round(load_after, 2)}
    extra = {
        "load": {
            "tool": "wrk -t1",
            "connections": list(CONNECTIONS),
            "duration_s": DURATION_S,
            "rounds_at_target": ROUNDS_AT_TARGET,
            "body": "one 28x28 image as JSON",
            "checker": f"{N_IMAGES} distinct images, one request every {CHECK_EVERY_S} s",
        },
        "threads_env": THREADS_ENV,
        "elapsed_s": round(elapsed),
        "servers": results,
    }
    path = write_results(
        "serving",
        command="python benchmarks/serving.py",
        machine=machine,
        curves=curves(results),
        targets=rows,
        missing=missing,
        checks=answer_checks(results),
        extra=extra,
    )
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
