"""The model server on Ray Serve: the same app, in front of N replicas of the model.

Introduced in week1/05_scaling_out.ipynb and started by ``python -m utils.deployment serve MODEL
--engine ray --replicas N``. An application has two kinds of Ray Serve deployment:

- the **ingress**, one replica running the very app that
  :func:`~utils.deployment.serving.create_app` builds (Serve's ASGI support, ``serve.ingress``),
  so routes, validation, error answers and ``/metrics`` are the default engine's own code. Its
  model is a :class:`RemoteArm`, a thin predictor that forwards ``predict_proba(X)`` to
- a **model** deployment of N replicas, each loading the model once and answering merged
  batches of requests (Ray's dynamic batching, ``serve.batch``, in place of the default engine's
  micro-batcher: the ingress calls the model once per request, so that requests can run on
  several replicas at the same time).

A deployment pattern (canary, shadow, blue/green) gives one model deployment per arm and routes
between them with the pattern's own object (module ``utils.deployment.engines.ray_patterns``).
The Ray instance itself, and Serve's HTTP proxy, are started and ended by module
``utils.deployment.engines.ray_instance``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from utils.deployment.engines import require_ray

require_ray()

import ray  # noqa: E402
from ray import serve  # noqa: E402

from utils.deployment.engines.ray_instance import (  # noqa: E402
    APP_NAME,
    start_ray,
    start_serve,
    stop_ray,
)

__all__ = ["RayServer", "RemoteArm", "serve_on_ray"]

#: Requests one model replica holds at least at once, so that Ray's batching has some to merge.
MODEL_MAX_ONGOING = 64

#: The most recent calls an arm keeps as evidence for a canary's judgement.
WINDOW_CALLS = 10_000

#: How a replica stops: it waits for its requests in loops of ``graceful_shutdown_wait_loop_s``
#: (Serve's default, 2 s, makes every redeploy and stop wait that long for requests that a
#: model answers in milliseconds), for at most ``graceful_shutdown_timeout_s``.
SHUTDOWN_LOOP_S, SHUTDOWN_TIMEOUT_S = 0.2, 10.0


class RemoteArm:
    """A predictor whose ``predict_proba`` runs on the replicas of a model deployment.

    It carries what :func:`~utils.deployment.serving.create_app` reads from a model
    (``input_shape``, ``classes``, ``framework``), and tallies its calls: how many, how many
    failed, and how long each of the calls since the last :meth:`reset_window` took (the
    evidence a canary is judged on; the latest ``WINDOW_CALLS`` of them). The handle to the deployment is found on first use, in the
    replica that uses it.
    """

    def __init__(self, deployment: str, meta: Mapping[str, Any], app: str = APP_NAME) -> None:
        self.deployment, self.app = deployment, app
        self.input_shape: tuple[int, ...] | None = meta.get("input_shape")
        self.classes: tuple[str, ...] | None = meta.get("classes")
        self.framework: str = str(meta.get("framework", "model"))
        self.method: str = str(meta.get("method", "predict"))
        self._handle: Any = None
        self._lock = threading.Lock()
        self.calls, self.errors = 0, 0
        self._window: deque[tuple[bool, float]] = deque(maxlen=WINDOW_CALLS)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_handle"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def predict_proba(self, X: Any) -> Any:
        """The deployment's probabilities for ``X`` (its error, if it fails, after counting it)."""
        if self._handle is None:
            self._handle = serve.get_deployment_handle(self.deployment, app_name=self.app)
        start, ok = time.perf_counter(), False
        try:
            p = getattr(self._handle, self.method).remote(X).result()
            ok = True
            return p
        finally:
            with self._lock:
                self.calls += 1
                self.errors += not ok
                self._window.append((ok, (time.perf_counter() - start) * 1000.0))

    def window(self) -> dict[str, float]:
        """Calls since the last reset: ``requests``, ``errors``, ``error_rate``, ``p99_ms``."""
        with self._lock:
            oks = [ok for ok, _ in self._window]
            ms = [t for _, t in self._window]
        n = len(oks)
        return {
            "requests": n,
            "errors": n - sum(oks),
            "error_rate": (n - sum(oks)) / n if n else float("nan"),
            "p99_ms": float(np.percentile(ms, 99)) if n else float("nan"),
        }

    def reset_window(self) -> None:
        with self._lock:
            self._window.clear()


def _split_rows(batches: list[Any]) -> int:
    """The rows of a list of request batches: the size Ray's batching counts."""
    return sum(len(b) for b in batches)


class ModelReplica:
    """One replica of a model deployment: the model, loaded once, answering merged batches."""

    def __init__(self, source: Any, settings: Mapping[str, Any]) -> None:
        from utils.deployment.serving.predictors import as_predictor, load_model

        input_type = settings["input_type"]
        if isinstance(source, str | os.PathLike):
            self.predictor = load_model(source, input_type=input_type)
        else:
            self.predictor = as_predictor(source, settings["input_shape"], input_type=input_type)
        self.predict.set_max_batch_size(settings["max_batch_rows"])  # type: ignore[attr-defined]
        self.predict.set_batch_wait_timeout_s(settings["batch_wait_s"])  # type: ignore[attr-defined]

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.0, batch_size_fn=_split_rows)
    async def predict(self, batches: list[Any]) -> list[Any]:
        """The probabilities of every request merged into one call, split back by request."""
        x = batches[0] if len(batches) == 1 else np.concatenate(batches)
        p = np.asarray(await asyncio.to_thread(self.predictor.predict_proba, x))
        return np.split(p, np.cumsum([len(b) for b in batches])[:-1])

    async def predict_one(self, x: Any) -> Any:
        """The probabilities of one request on its own (``micro_batching=False``)."""
        return await asyncio.to_thread(self.predictor.predict_proba, x)


#: The model deployment; each arm is a copy of it under the arm's name.
MODEL_DEPLOYMENT = serve.deployment(name="model", max_ongoing_requests=MODEL_MAX_ONGOING)(
    ModelReplica
)


class _Controls:
    """The ingress replica's methods besides HTTP: ``control(action, *args)`` on its model."""

    def __init__(self, *arms: Any) -> None:
        self.arms = arms  # handles of the model deployments, bound so that Serve deploys them

    def control(self, action: str, *args: Any) -> Any:
        predictor = getattr(self, "app").state.predictor  # noqa: B009 (set by serve.ingress)
        if action == "state" and isinstance(predictor, RemoteArm):
            return {"kind": "model", "calls": predictor.calls, "errors": predictor.errors}
        if not hasattr(predictor, "control"):
            raise ValueError(f"a single model has no control {action!r}; only 'state'")
        if action == "reroute":
            return predictor.replace(*args)
        return predictor.control(action, *args)


def _app_builder(predictor: Any, options: Mapping[str, Any]) -> Callable[[], Any]:
    """The function that builds the ingress's app, in the replica (``serve.ingress``)."""

    def build() -> Any:
        from utils.deployment.serving import create_app

        return create_app(predictor, micro_batching=False, **options)

    return build


@dataclass
class RayServer:
    """A model served by Ray Serve; ``stop()`` (or leaving a ``with`` block) ends it.

    ``url`` is where the app answers. :meth:`control` acts on a deployment pattern's router,
    :meth:`scale` changes the number of replicas of every model deployment.
    """

    url: str
    host: str
    port: int
    replicas: int
    _deploy: Callable[[int], Any] = field(repr=False)
    _ingress: Any = field(repr=False)
    _owns_ray: bool = field(default=False, repr=False)
    _arms: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _meta: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def control(self, action: str, *args: Any) -> Any:
        """Run ``action`` on the pattern in the ingress (``"state"``, ``"evaluate"``, ...)."""
        return _result(self._ingress.control.remote(action, *args))

    def reroute(self, pattern: Any) -> dict[str, Any]:
        """Route the running deployments with ``pattern`` (a canary, shadow or blue/green whose
        models are arms this server deployed); no replica restarts. Returns its state.

        Only a server started with a pattern can be rerouted; :meth:`scale` deploys the pattern
        it was started with again.
        """
        from utils.deployment.engines.ray_patterns import rerouted

        router = rerouted(pattern, self._arms, self._meta)
        state: dict[str, Any] = _result(self._ingress.control.remote("reroute", router))
        return state

    def scale(self, replicas: int) -> None:
        """Run ``replicas`` replicas of each model deployment from now on.

        The application is deployed again: Serve gives every deployment of a ``serve.run`` a
        new version, so every replica, the ingress's too, restarts (and its counts with it).
        """
        self._ingress = self._deploy(_check_replicas(replicas))
        self.replicas = replicas

    def stop(self) -> None:
        """Delete the application; shut Ray down too if :func:`serve_on_ray` started it."""
        if self._owns_ray:
            stop_ray()  # the application with the instance
        elif ray.is_initialized():
            with contextlib.suppress(Exception):
                serve.delete(APP_NAME)

    def __enter__(self) -> RayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _result(response: Any) -> Any:
    """``response.result()``, also in a notebook, whose cells run inside an asyncio loop (where
    Serve refuses to block): then the wait happens on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return response.result()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(response.result).result()


def _check_replicas(replicas: Any) -> int:
    from utils._validation import check_int

    return check_int("replicas", replicas, min=1)


#: Where to reach a proxy that listens on every interface: this machine's loopback.
_LOCAL = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _wait_until_healthy(url: str, timeout: float) -> None:
    """Return once ``GET /health`` answers 200 through Serve's proxy."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Ray Serve app at {url} did not answer within {timeout} s")
        time.sleep(0.05)


def serve_on_ray(
    model: Any,
    *,
    replicas: int = 2,
    host: str = "127.0.0.1",
    port: int | None = None,
    autoscaling: Mapping[str, Any] | None = None,
    keep_alive: float = 5.0,
    max_concurrency: int = 100,
    log_level: str = "warning",
    timeout: float = 120.0,
    **create_app_options: Any,
) -> RayServer:
    """Serve ``model`` with Ray Serve: the app of ``create_app`` in front of ``replicas`` copies.

    Args:
        model: what :func:`~utils.deployment.serving.create_app` takes (a predictor, a Keras
            model, a scikit-learn estimator), the path of a saved model (each replica loads
            it), or a deployment pattern of :mod:`utils.deployment.patterns` (a
            ``CanaryRollout`` with its ``models``, a ``ShadowDeployment``, a ``BlueGreen``):
            then each arm is a deployment of ``replicas`` replicas and the pattern routes.
        replicas: replicas of each model deployment.
        host, port: where Serve's HTTP proxy listens (``port=None``: a free port).
        autoscaling: Serve's ``autoscaling_config`` for the model deployments (for example
            ``{"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 2}``), in
            place of a fixed number of replicas.
        keep_alive: seconds an idle connection stays open (Serve's ``keep_alive_timeout_s``).
        max_concurrency: requests the app handles at once (the ingress's
            ``max_ongoing_requests``; more wait in Serve's queue).
        log_level: the level of Serve's own logs.
        timeout: seconds to wait for the app to answer ``/health``.
        create_app_options: the options of ``create_app`` (``input_type``, ``class_names``,
            ``max_request_rows``, ...), checked here, before Ray starts. ``micro_batching``,
            ``micro_batch_rows`` and ``batch_wait_ms`` set Ray's batching instead: it merges
            requests up to ``max(micro_batch_rows, max_request_rows)`` rows (a request is never
            split, and Ray refuses a request larger than its limit).

    Returns a :class:`RayServer`. Ray is started by :func:`~utils.deployment.engines.ray_instance.start_ray` unless it runs already;
    only then does :meth:`RayServer.stop` shut it down. Introduced in week1/05_scaling_out.ipynb.
    """
    from utils.deployment.engines.ray_patterns import plan

    replicas = _check_replicas(replicas)
    arms, router, options, settings = plan(model, create_app_options)
    owns = start_ray()
    try:
        bound = start_serve(host, port, keep_alive, log_level)
        deploy = _deployer(arms, router, options, settings, autoscaling, max_concurrency)
        ingress = deploy(replicas)
        _wait_until_healthy(_url(_LOCAL.get(host, host), bound), timeout)
    except BaseException:
        if owns:
            stop_ray()
        raise
    return RayServer(
        _url(host, bound), host, bound, replicas, deploy, ingress, owns, arms, settings["meta"]
    )


def _deployer(
    arms: Mapping[str, Any],
    router: Callable[[Mapping[str, RemoteArm]], Any] | None,
    options: Mapping[str, Any],
    settings: Mapping[str, Any],
    autoscaling: Mapping[str, Any] | None,
    max_concurrency: int,
) -> Callable[[int], Any]:
    """A function that (re)deploys the application with ``n`` replicas of each arm."""
    meta = settings["meta"]
    remote = {name: RemoteArm(name, meta) for name in arms}
    predictor = router(remote) if router is not None else remote[next(iter(arms))]
    ingress_cls = serve.ingress(_app_builder(predictor, options))(_Controls)
    ongoing = max(MODEL_MAX_ONGOING, settings["model"]["max_batch_rows"])  # room for a full batch

    def deploy(n: int) -> Any:
        share = _cpu_share(n * len(arms) if autoscaling is None else None)
        models = [
            MODEL_DEPLOYMENT.options(
                name=name,
                ray_actor_options={"num_cpus": share},
                max_ongoing_requests=ongoing,
                graceful_shutdown_wait_loop_s=SHUTDOWN_LOOP_S,
                graceful_shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
                **(
                    {"autoscaling_config": dict(autoscaling)}
                    if autoscaling is not None
                    else {"num_replicas": n}
                ),
            ).bind(source, settings["model"])
            for name, source in arms.items()
        ]
        ingress = serve.deployment(
            name="ingress",
            ray_actor_options={"num_cpus": 0},
            max_ongoing_requests=max_concurrency,
            graceful_shutdown_wait_loop_s=SHUTDOWN_LOOP_S,
            graceful_shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
        )(ingress_cls)
        return serve.run(ingress.bind(*models), name=APP_NAME, route_prefix="/")

    return deploy


def _cpu_share(n_replicas: int | None) -> float:
    """CPUs each model replica asks Ray for: one, or a fair share when there are more replicas
    than CPUs (an autoscaled deployment asks for none, so it can always grow)."""
    if n_replicas is None:
        return 0.0
    cpus = float(ray.cluster_resources().get("CPU", 1.0))  # type: ignore[no-untyped-call]
    return min(1.0, cpus / n_replicas)
