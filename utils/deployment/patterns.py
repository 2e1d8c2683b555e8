"""Deployment patterns simulated in plain Python: canary, shadow and blue/green.

Introduced in week1/03_deployment_patterns.ipynb and used again by the final project
(project/05_deployment.ipynb: shadow mode and a canary between two servers;
project/06_monitoring.ipynb: blue/green). Nothing here needs Kubernetes or a network: a *router*
decides which arm a request goes to, and anything with a ``predict_proba(X)`` method is a model
(the :class:`~utils.deployment.serving.Predictor` protocol, the one the serving code uses too: it is defined in
``utils.deployment.serving.predictors``, which imports no web framework). Each pattern
answers ``predict_proba(X)`` like a model (a canary once it is given its ``models``), so the
same objects can sit inside the serving app.

- :class:`CanaryRollout`: sticky routing by key (BLAKE2b of ``salt + key`` into 10,000 buckets),
  a ramp of traffic shares, guardrail evaluation and an exact rollback to 0 %.
- :class:`ShadowDeployment`: the primary model answers; a sampled copy of the traffic goes to the
  shadow model, whose failures and time-outs are counted and never reach the caller. It is
  defined in ``utils.deployment.shadow`` and re-exported here.
- :class:`BlueGreen`: two full environments, one live; switch and instant rollback.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import check_choice, check_int, check_number, check_probability
from utils.deployment._model_checks import check_model, checked_probabilities
from utils.deployment.serving.predictors import Predictor
from utils.deployment.shadow import ShadowDeployment

__all__ = [
    "N_BUCKETS",
    "BlueGreen",
    "CanaryRollout",
    "Predictor",
    "Router",
    "ShadowDeployment",
    "bucket_of",
]

#: Number of hash buckets, so traffic shares are resolved to 1/10,000 (0.01 %).
N_BUCKETS = 10_000

Decision = Literal["advance", "hold", "rollback"]


@runtime_checkable
class Router(Protocol):
    """Decides which arm (a name) serves a request; ``key`` makes the choice sticky."""

    def route(self, key: str | None = None) -> str: ...


def bucket_of(key: str, salt: str = "") -> int:
    """Return the bucket in ``[0, N_BUCKETS)`` of ``salt + key``, the same on every machine.

    BLAKE2b is used (not Python's ``hash``, which is salted per process), so a user keeps the
    same arm across restarts and servers. Introduced in week1/03_deployment_patterns.ipynb.
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a str, got {type(salt).__name__}")
    digest = hashlib.blake2b((salt + key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % N_BUCKETS


def _check_metric_values(metrics: Any, names: Any, what: str) -> dict[str, float]:
    """The guardrail metrics of ``metrics`` as floats (NaN when absent); negative is refused."""
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"{what} must be a mapping of metric name to value, got {type(metrics).__name__}"
        )
    values: dict[str, float] = {}
    for name in names:
        v = metrics.get(name, math.nan)
        values[name] = (
            math.nan if v is None else check_number(f"{what}[{name!r}]", v, min=0.0, allow_nan=True)
        )
    return values


@dataclass
class CanaryRollout:
    """A canary release: a growing share of traffic goes to the new model, sticky by key.

    Introduced in week1/03_deployment_patterns.ipynb.

    Args:
        stable: name of the arm that serves everyone at first.
        canary: name of the new arm.
        steps: the ramp of canary shares, strictly increasing, each in (0, 1]. The rollout
            starts at ``steps[0]``; :meth:`advance` moves to the next one.
        guardrails: ceilings on canary metrics (for example ``{"error_rate": 0.01}``). A canary
            metric above its ceiling means rollback.
        hash_salt: changes which keys land in the canary without changing the share.
        tolerance: with stable metrics given to :meth:`evaluate`, a canary metric more than
            ``tolerance`` (relative) above the stable one means hold, even under the ceiling.
        min_requests: :meth:`evaluate` holds (neither advances nor rolls back) until the canary
            has served this many requests at the current step.
        models: optional ``{arm name: model}`` for :meth:`predict_proba` and
            :meth:`predict_proba_with_arm`.

    A share is resolved to whole buckets: key ``k`` goes to the canary when
    ``bucket_of(k, hash_salt) < round(weight * 10_000)``. A weight of 0 therefore sends exactly
    no traffic, and a key that reached the canary stays there as the weight grows.
    """

    stable: str = "stable"
    canary: str = "canary"
    steps: tuple[float, ...] = (0.01, 0.05, 0.10, 0.25, 0.50, 1.0)
    guardrails: Mapping[str, float] = field(
        default_factory=lambda: {"error_rate": 0.01, "p99_ms": 500.0}
    )
    hash_salt: str = ""
    tolerance: float = 0.25
    min_requests: int = 0
    models: Mapping[str, Any] | None = None
    _step: int = field(default=0, init=False, repr=False)
    _rolled_back: bool = field(default=False, init=False, repr=False)
    _counter: int = field(default=0, init=False, repr=False)
    history: list[tuple[str, float]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.stable, str) or not isinstance(self.canary, str):
            raise TypeError("stable and canary must be str arm names")
        if not isinstance(self.hash_salt, str):
            raise TypeError(f"hash_salt must be a str, got {type(self.hash_salt).__name__}")
        if self.stable == self.canary:
            raise ValueError(f"stable and canary must differ, both are {self.stable!r}")
        if isinstance(self.steps, str) or not isinstance(self.steps, Sequence | np.ndarray):
            raise TypeError(f"steps must be a sequence of shares, got {self.steps!r}")
        steps = tuple(check_probability(f"steps[{i}]", s) for i, s in enumerate(self.steps))
        if not steps:
            raise ValueError("steps is empty")
        if steps[0] <= 0.0:
            raise ValueError(
                f"steps[0] must be > 0 (a rollout starts with some traffic), got {steps[0]}"
            )
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"steps must be strictly increasing, got {steps}")
        self.steps = steps
        if not isinstance(self.guardrails, Mapping):
            raise TypeError(
                f"guardrails must be a mapping of metric name to ceiling, got "
                f"{type(self.guardrails).__name__}"
            )
        g = dict(self.guardrails)
        for k, v in g.items():
            if not isinstance(k, str):
                raise TypeError(f"guardrails keys must be metric names (str), got {k!r}")
            g[k] = check_number(f"guardrails[{k!r}]", v, min=0.0)
        self.guardrails = g
        self.tolerance = check_number("tolerance", self.tolerance, min=0.0)
        self.min_requests = check_int("min_requests", self.min_requests, min=0)
        if self.models is not None:
            if not isinstance(self.models, Mapping):
                raise TypeError(
                    f"models must be a mapping of arm name to model, got "
                    f"{type(self.models).__name__}"
                )
            for arm in (self.stable, self.canary):
                if arm not in self.models:
                    raise ValueError(f"models has no model for arm {arm!r}")
                check_model(self.models[arm], f"models[{arm!r}]")
        self.history.append(("start", self.weight))

    @property
    def weight(self) -> float:
        """The current canary share, exactly 0.0 after a rollback."""
        return 0.0 if self._rolled_back else self.steps[self._step]

    @property
    def status(self) -> Literal["ramping", "complete", "rolled_back"]:
        """Where the rollout stands."""
        if self._rolled_back:
            return "rolled_back"
        return "complete" if self.weight >= 1.0 else "ramping"

    def route(self, key: str | None = None) -> str:
        """Return the arm for ``key``; the same key gets the same arm at a given weight.

        Without a key, requests are spread by a running counter (deterministic, not sticky).
        """
        if key is None:
            key = f"#anon-{self._counter}"
            self._counter += 1
        cut = round(self.weight * N_BUCKETS)
        return self.canary if bucket_of(key, self.hash_salt) < cut else self.stable

    def advance(self) -> float:
        """Move to the next step of the ramp and return the new weight."""
        if self._rolled_back:
            raise RuntimeError("the rollout was rolled back; call restart() to ramp again")
        if self._step + 1 >= len(self.steps):
            raise RuntimeError(f"already at the last step (weight {self.weight})")
        self._step += 1
        self.history.append(("advance", self.weight))
        return self.weight

    def rollback(self) -> None:
        """Send all traffic back to the stable arm (canary share exactly 0)."""
        self._rolled_back = True
        self.history.append(("rollback", 0.0))

    def restart(self) -> None:
        """Start the ramp again at ``steps[0]`` (after a fix)."""
        self._rolled_back = False
        self._step = 0
        self.history.append(("restart", self.weight))

    def evaluate(
        self,
        canary_metrics: Mapping[str, float],
        stable_metrics: Mapping[str, float] | None = None,
        *,
        n_requests: int | None = None,
    ) -> Decision:
        """Decide from the canary's metrics whether to ``"advance"``, ``"hold"`` or ``"rollback"``.

        In this order: too few requests (``n_requests < min_requests``) gives ``"hold"``,
        because an error rate estimated from a handful of requests would roll back healthy
        canaries by chance; then any guardrail metric above its ceiling gives ``"rollback"``;
        a missing or NaN guardrail metric, a canary worse than stable by more than
        ``tolerance``, or a rollout already at 100 % gives ``"hold"``; otherwise ``"advance"``.
        Lower is better for every guardrail metric, and every one is a rate, a count or a
        latency: a negative or infinite value (or a string) is refused, never read as healthy.
        ``n_requests`` is a count (an int >= 0).
        """
        values = _check_metric_values(canary_metrics, self.guardrails, "canary_metrics")
        stable = (
            None
            if stable_metrics is None
            else _check_metric_values(stable_metrics, self.guardrails, "stable_metrics")
        )
        if n_requests is not None:
            check_int("n_requests", n_requests, min=0)
        if n_requests is not None and n_requests < self.min_requests:
            return "hold"
        if any(v > self.guardrails[k] for k, v in values.items() if not math.isnan(v)):
            return "rollback"
        if any(math.isnan(v) for v in values.values()):
            return "hold"
        if stable is not None:
            for name, v in values.items():
                ref = stable[name]
                if math.isfinite(ref) and v > ref * (1.0 + self.tolerance) + 1e-12:
                    return "hold"
        if self._rolled_back or self.weight >= 1.0:
            return "hold"
        return "advance"

    def predict_proba(self, X: Any, key: str | None = None) -> npt.NDArray[np.float64]:
        """Route ``key`` and return the ``(n, k)`` probabilities of that arm's model for ``X``.

        The rollout is a :class:`~utils.deployment.serving.Predictor` like any model: every row of ``X`` is answered by
        the arm ``key`` is routed to. :meth:`predict_proba_with_arm` also says which arm that
        was. The model's output is checked (one row per input, finite probabilities); a model
        bug raises ``ValueError`` naming the arm.
        """
        return self.predict_proba_with_arm(X, key)[1]

    def predict_proba_with_arm(
        self, X: Any, key: str | None = None
    ) -> tuple[str, npt.NDArray[np.float64]]:
        """Like :meth:`predict_proba`, and say which arm answered: ``(arm, probabilities)``.

        Routing happens once per call, so the arm is the one that served every row of ``X``.
        """
        if self.models is None:
            raise RuntimeError(
                "no models were given; pass models={arm: model} to use predict_proba"
            )
        arm = self.route(key)
        return arm, checked_probabilities(self.models[arm], X, f"models[{arm!r}]")


@dataclass
class BlueGreen:
    """Blue/green: two complete environments, one live; switching is one pointer change.

    Introduced in week1/03_deployment_patterns.ipynb. :meth:`rollback` returns to the previous
    environment instantly because it was never torn down.
    """

    blue: Any
    green: Any
    active: Literal["blue", "green"] = "blue"
    history: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        check_model(self.blue, "blue")
        check_model(self.green, "green")
        check_choice("active", self.active, ("blue", "green"))
        self.history.append(self.active)

    def route(self, key: str | None = None) -> str:
        """Every request goes to the active environment."""
        return self.active

    def switch(self) -> None:
        """Make the idle environment live."""
        self.active = "green" if self.active == "blue" else "blue"
        self.history.append(self.active)

    def rollback(self) -> None:
        """Return to the environment that was live before the last switch."""
        if len(self.history) < 2:
            raise RuntimeError("nothing to roll back: no switch has happened")
        self.history.pop()
        self.active = self.history[-1]  # type: ignore[assignment]

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Answer with the active environment's model (its output checked as in the server)."""
        model = self.blue if self.active == "blue" else self.green
        return checked_probabilities(model, X, self.active)


def _simulate_traffic(router: Router, keys: Sequence[str]) -> pd.Series:
    """Route every key once and return the share of requests each arm received.

    Private (no page uses it). Returns a Series named ``"share"`` indexed by arm name,
    sorted by name.
    """
    if not callable(getattr(router, "route", None)):
        raise TypeError(f"router must have a route(key) method, got {type(router).__name__}")
    if isinstance(keys, str):
        raise TypeError("keys must be a sequence of str, got a single str")
    keys = list(keys)
    if not keys:
        raise ValueError("keys is empty")
    arms = pd.Series([router.route(k) for k in keys])
    out = arms.value_counts(normalize=True).sort_index()
    out.index.name = "arm"
    return out.rename("share")
