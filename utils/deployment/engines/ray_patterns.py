"""Shadow, canary and blue/green on Ray Serve: each arm a deployment, routed by the book's objects.

Introduced in week1/05_scaling_out.ipynb, after week1/03_deployment_patterns.ipynb ran the same
patterns in one Python process. Here each arm of a pattern (the canary's stable and canary
models, the shadow's primary and shadow, blue and green) is a Ray Serve model deployment with
its own replicas, and the ingress routes between them with a copy of the very object the notes
use, :class:`~utils.deployment.patterns.CanaryRollout`,
:class:`~utils.deployment.patterns.ShadowDeployment` or
:class:`~utils.deployment.patterns.BlueGreen`, whose models are now
:class:`~utils.deployment.engines.ray_serve.RemoteArm` objects. Ray Serve has no traffic split
of its own between deployments; routing in the ingress is how it composes models.

:class:`RoutedPattern` is that router; ``RayServer.control(action)`` runs its actions in the
ingress: ``"state"`` for every pattern; ``"evaluate"`` (judge the canary's calls since its last
step on the rollout's guardrails, then roll back or advance as the rollout decides),
``"advance"``, ``"rollback"`` and ``"restart"`` for a canary; ``"switch"`` and ``"rollback"`` for
blue/green; ``"log"``, ``"comparison"`` and ``"outputs"`` for a shadow. :func:`plan` prepares
what :func:`~utils.deployment.engines.ray_serve.serve_on_ray` deploys; :func:`rerouted` gives
``RayServer.reroute`` a new router over the deployments already running, so that a canary can
become a shadow, say, without restarting a single replica.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from utils.deployment._model_checks import checked_probabilities
from utils.deployment.patterns import BlueGreen, CanaryRollout, ShadowDeployment

__all__ = ["RoutedPattern", "plan", "rerouted"]

#: The actions of ``RayServer.control`` for each kind of pattern, besides ``"state"``.
ACTIONS = {
    "canary": ("evaluate", "advance", "rollback", "restart"),
    "shadow": ("log", "comparison", "outputs"),
    "blue/green": ("switch", "rollback"),
}

#: The options of ``create_app`` that Ray's batching takes over, and their defaults.
_BATCHING = {"micro_batching": True, "micro_batch_rows": 64, "batch_wait_ms": 0.0}


def _arms(model: Any) -> tuple[str | None, dict[str, Any]]:
    """The kind of pattern ``model`` is (None for a plain model) and its arms' models."""
    if isinstance(model, CanaryRollout):
        if model.models is None:
            raise ValueError(
                "the CanaryRollout has no models; give it models={arm name: model} to serve it"
            )
        return "canary", {arm: model.models[arm] for arm in (model.stable, model.canary)}
    if isinstance(model, ShadowDeployment):
        return "shadow", {"primary": model.primary, "shadow": model.shadow}
    if isinstance(model, BlueGreen):
        return "blue/green", {"blue": model.blue, "green": model.green}
    return None, {"model": model}


def _with_arms(pattern: Any, kind: str, arms: Mapping[str, Any]) -> Any:
    """A copy of ``pattern`` whose models are ``arms`` (its state and history copied along)."""
    routed = copy.copy(pattern)
    if kind == "canary":
        routed.models = dict(arms)
        routed.history = list(pattern.history)
    elif kind == "shadow":
        routed.primary, routed.shadow = arms["primary"], arms["shadow"]
        routed._log = []
        routed._rng = copy.deepcopy(pattern._rng)
    else:
        routed.blue, routed.green = arms["blue"], arms["green"]
        routed.history = list(pattern.history)
    return routed


class RoutedPattern:
    """A deployment pattern whose arms are model deployments: the ingress's model.

    ``predict_proba`` routes as the pattern's object does (a canary's share by its ``route``, a
    shadow's copy of the traffic, blue/green's active side); ``control`` runs the actions of
    ``ACTIONS``. The objects of :mod:`utils.deployment.patterns` are not made for
    concurrent calls, so the rollout's routing and the shadow's calls (its log and its sampling
    generator) are taken one at a time; the arms' calls themselves run concurrently.
    """

    def __init__(self, kind: str, pattern: Any, arms: Mapping[str, Any]) -> None:
        self.kind, self.pattern, self.arms = kind, _with_arms(pattern, kind, arms), dict(arms)
        first = next(iter(self.arms.values()))
        self.input_shape = getattr(first, "input_shape", None)
        self.classes = getattr(first, "classes", None)
        self.framework = type(pattern).__name__
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def predict_proba(self, X: Any) -> Any:
        """The answer the pattern gives for ``X``, from the arm it routes to."""
        with self._lock:
            kind, pattern = self.kind, self.pattern
            if kind == "canary":
                arm = pattern.route(None)
            elif kind == "shadow":
                return pattern.predict_proba(X)
        if kind == "canary":
            return checked_probabilities(pattern.models[arm], X, f"models[{arm!r}]")
        return pattern.predict_proba(X)

    def replace(self, other: RoutedPattern) -> dict[str, Any]:
        """Route with ``other``'s pattern from now on (``RayServer.reroute``); its state."""
        with self._lock:
            self.kind, self.pattern, self.arms = other.kind, other.pattern, other.arms
            self.framework = other.framework
        return self.state()

    def control(self, action: str, *args: Any) -> Any:
        """Run ``action`` (one of ``ACTIONS`` for this kind, or ``"state"``)."""
        if action == "state":
            return self.state()
        if action not in ACTIONS[self.kind]:
            raise ValueError(
                f"a {self.kind} has no action {action!r}; "
                f"choose from {('state', *ACTIONS[self.kind])}"
            )
        if action == "evaluate":
            return self.evaluate()
        with self._lock:
            if self.kind == "shadow":  # the log, the comparison or the outputs
                return getattr(self.pattern, action)(*args)
            getattr(self.pattern, action)(*args)
            if self.kind == "canary":  # a new step: its evidence starts afresh
                for arm in self.arms.values():
                    arm.reset_window()
        return self.state()

    def state(self) -> dict[str, Any]:
        """The pattern's position (share or live side) and each arm's calls and errors."""
        calls = {name: {"calls": a.calls, "errors": a.errors} for name, a in self.arms.items()}
        out: dict[str, Any] = {"kind": self.kind, "arms": calls}
        if self.kind == "canary":
            out |= {"weight": self.pattern.weight, "status": self.pattern.status}
            out["history"] = list(self.pattern.history)
        elif self.kind == "blue/green":
            out |= {"active": self.pattern.active, "history": list(self.pattern.history)}
        return out

    def evaluate(self) -> dict[str, Any]:
        """Judge the canary on its calls since the current step began, and act on the decision.

        As in week1/03_deployment_patterns.ipynb: the canary's error rate and 99th-percentile
        latency go to ``CanaryRollout.evaluate`` with the number of calls; ``"rollback"`` sends
        every request back to the stable arm, ``"advance"`` moves to the next share, whose
        evidence starts afresh, and ``"hold"`` waits for more.
        """
        rollout = self.pattern
        with self._lock:
            metrics = self.arms[rollout.canary].window()
            decision = rollout.evaluate(metrics, n_requests=int(metrics["requests"]))
            if decision == "rollback":
                rollout.rollback()
            elif decision == "advance":
                rollout.advance()
                for arm in self.arms.values():
                    arm.reset_window()
        return {"decision": decision, "weight": rollout.weight, **metrics}


def _local_predictor(source: Any, options: Mapping[str, Any]) -> Any:
    """The arm's model in this process, to check the options against it (a path is loaded)."""
    from utils.deployment.serving.predictors import as_predictor, load_model

    input_type = options.get("input_type", "numbers")
    if isinstance(source, str | os.PathLike):
        return load_model(source, input_type=input_type)
    return as_predictor(source, options.get("input_shape"), input_type=input_type)


def _portable(source: Any) -> Any:
    """What to send to the replicas: a path as it is, a Keras predictor as its Keras model."""
    from utils.deployment.serving.predictors import KerasPredictor

    if isinstance(source, os.PathLike):
        return os.fspath(source)
    return source.model if isinstance(source, KerasPredictor) else source


def plan(
    model: Any, create_app_options: Mapping[str, Any]
) -> tuple[
    dict[str, Any],
    Callable[[Mapping[str, Any]], Any] | None,
    dict[str, Any],
    dict[str, Any],
]:
    """What to deploy for ``model``: ``(arms, router, ingress options, settings)``.

    ``arms`` maps each model deployment's name to the model (or path) its replicas load;
    ``router`` builds the ingress's model from the arms (None: the only arm answers);
    the options are ``create_app``'s for the ingress, checked here with ``create_app`` itself
    on the first arm's model, so a bad option fails before Ray starts; ``settings`` hold what
    the replicas need (input type and shape, Ray's batching) and the arms' metadata.
    """
    from utils.deployment.serving import create_app

    batching = {k: create_app_options.get(k, v) for k, v in _BATCHING.items()}
    options = {k: v for k, v in create_app_options.items() if k not in _BATCHING}
    kind, arms = _arms(model)
    first = _local_predictor(next(iter(arms.values())), options)
    app = create_app(first, **options, **batching)  # every option checked, by the server's code
    cfg = app.state.config
    app.state.runner.stop()
    resolved = {"class_names": list(cfg.class_names), "input_type": cfg.input_type}
    if cfg.input_shape is not None:
        resolved["input_shape"] = list(cfg.input_shape)
    rows = max(cfg.micro_batch_rows, cfg.max_request_rows)
    settings = {
        "meta": {
            "input_shape": cfg.input_shape,
            "classes": cfg.class_names,
            "framework": cfg.framework if kind is None else type(model).__name__,
            "method": "predict" if cfg.micro_batching else "predict_one",
        },
        "model": {
            "input_type": cfg.input_type,
            "input_shape": cfg.input_shape,
            "max_batch_rows": rows,
            "batch_wait_s": cfg.batch_wait_ms / 1000.0,
        },
    }
    router = None if kind is None else _router(kind, model)
    return (
        {name: _portable(src) for name, src in arms.items()},
        router,
        options | resolved,
        settings,
    )


def rerouted(pattern: Any, deployed: Mapping[str, Any], meta: Mapping[str, Any]) -> RoutedPattern:
    """A router for ``pattern`` over arms already deployed (``deployed``: name -> model).

    Each model of ``pattern`` must be one that a deployment runs (the same object, or the same
    path): the deployments stay as they are, only the routing changes.
    """
    from utils.deployment.engines.ray_serve import RemoteArm

    kind, models = _arms(pattern)
    if kind is None:
        raise TypeError(
            f"reroute takes a CanaryRollout, ShadowDeployment or BlueGreen, "
            f"got {type(pattern).__name__}"
        )
    arms = {}
    for arm, model in models.items():
        source = _portable(model)
        names = [name for name, m in deployed.items() if m is source or _same_path(m, source)]
        if not names:
            raise ValueError(
                f"the model of arm {arm!r} is not one of the deployed arms "
                f"{sorted(deployed)}: reroute only changes how requests reach deployed models"
            )
        arms[arm] = RemoteArm(names[0], meta)
    return RoutedPattern(kind, pattern, arms)


def _same_path(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a == b


def _router(kind: str, pattern: Any) -> Callable[[Mapping[str, Any]], RoutedPattern]:
    def build(arms: Mapping[str, Any]) -> RoutedPattern:
        return RoutedPattern(kind, pattern, arms)

    return build
