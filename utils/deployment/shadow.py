"""Shadow mode in plain Python: the primary model answers, the shadow sees a copy of the traffic.

Introduced in week1/03_deployment_patterns.ipynb and used again by project/05_deployment.ipynb
(version 2 of the spam filter answers in the shadow of version 1, both over HTTP).
:class:`ShadowDeployment` is one of the deployment patterns of :mod:`utils.deployment.patterns`,
which re-exports it: the pages import it from there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import check_int, check_number, check_probability
from utils.deployment._model_checks import check_model, checked_probabilities

__all__ = ["ShadowDeployment"]


@dataclass
class ShadowDeployment:
    """Shadow mode: the primary model answers; the shadow sees a copy of the traffic.

    Introduced in week1/03_deployment_patterns.ipynb.

    Args:
        primary: the model whose answer is returned.
        shadow: the candidate model; its output is only logged.
        sample_rate: share of requests copied to the shadow, in [0, 1] (0 means none).
        timeout_s: a shadow call slower than this counts as a time-out and its output is
            discarded (it still ran, in this simulation, after the primary had answered).
        seed: seed of the sampling generator, so a replay samples the same requests.

    Errors of the primary propagate (they are the real service failing), and so do invalid
    outputs of the primary (NaN, rows that are not probabilities): a ``ValueError`` naming
    ``primary``. Anything the shadow does (raise, return NaN or the wrong shape, be slow) is
    counted and never changes the answer.
    """

    primary: Any
    shadow: Any
    sample_rate: float = 1.0
    timeout_s: float = 1.0
    seed: int | None = 0
    _rng: np.random.Generator = field(init=False, repr=False)
    _log: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        check_model(self.primary, "primary")
        check_model(self.shadow, "shadow")
        self.sample_rate = check_probability("sample_rate", self.sample_rate)
        self.timeout_s = check_number("timeout_s", self.timeout_s, min=0.0, min_open=True)
        self.seed = None if self.seed is None else check_int("seed", self.seed, min=0)
        self._rng = np.random.default_rng(self.seed)

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Return the primary's probabilities; run the shadow on a sample and log both."""
        t0 = time.perf_counter()
        p = checked_probabilities(self.primary, X, "primary")
        primary_ms = (time.perf_counter() - t0) * 1000
        record: dict[str, Any] = {
            "request": len(self._log),
            "n_rows": len(p),
            "status": "skipped",
            "primary_ms": primary_ms,
            "shadow_ms": math.nan,
            "error": "",
            "primary": p,
            "shadow": None,
        }
        if self._rng.random() < self.sample_rate:
            t1 = time.perf_counter()
            try:
                s = checked_probabilities(self.shadow, X, "shadow")
                if s.shape != p.shape:
                    raise ValueError(f"shadow returned shape {s.shape}, primary {p.shape}")
                status, error = "ok", ""
            except Exception as exc:  # a shadow failure must never escape
                s, status, error = None, "error", f"{type(exc).__name__}: {exc}"
            record["shadow_ms"] = (time.perf_counter() - t1) * 1000
            if status == "ok" and record["shadow_ms"] > self.timeout_s * 1000:
                s, status, error = None, "timeout", f"slower than {self.timeout_s} s"
            record.update(status=status, shadow=s, error=error)
        self._log.append(record)
        return p

    def log(self) -> pd.DataFrame:
        """One row per request: status of the shadow call, latencies, rows, agreement."""
        rows = []
        for r in self._log:
            agree = math.nan
            if r["shadow"] is not None:
                agree = float(np.mean(r["primary"].argmax(1) == r["shadow"].argmax(1)))
            rows.append(
                {
                    k: r[k]
                    for k in ("request", "n_rows", "status", "primary_ms", "shadow_ms", "error")
                }
                | {"agreement": agree}
            )
        return pd.DataFrame(
            rows,
            columns=[
                "request",
                "n_rows",
                "status",
                "primary_ms",
                "shadow_ms",
                "error",
                "agreement",
            ],
        )

    def outputs(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Every logged row's probabilities: ``(primary, shadow)``, each ``(n_rows, k)``.

        Rows follow the requests in order. A row the shadow did not answer (not sampled,
        failed or too slow) is NaN in ``shadow``, so the two arrays always line up with the
        requests. Introduced in project/05_deployment.ipynb, where moderators review the rows
        on which the two models disagree.
        """
        if not self._log:
            raise ValueError("no request has been logged yet")
        primary = np.concatenate([r["primary"] for r in self._log])
        shadow = np.concatenate(
            [
                r["shadow"] if r["shadow"] is not None else np.full_like(r["primary"], np.nan)
                for r in self._log
            ]
        )
        return primary, shadow

    def comparison(self) -> pd.DataFrame:
        """A one-column table comparing the arms on the requests both answered.

        Rows: requests, shadowed, shadow_ok, shadow_errors, shadow_timeouts, rows_compared,
        agreement (share of rows whose predicted class matches; NaN if none compared),
        mean_abs_diff (mean ``|p_primary - p_shadow|`` over rows and classes), and the median
        latency of each arm in milliseconds.
        """
        ok = [r for r in self._log if r["status"] == "ok"]
        status = [r["status"] for r in self._log]
        if ok:
            P = np.concatenate([r["primary"] for r in ok])
            S = np.concatenate([r["shadow"] for r in ok])
            agreement = float(np.mean(P.argmax(1) == S.argmax(1)))
            mad = float(np.mean(np.abs(P - S)))
            n_rows = len(P)
        else:
            agreement = mad = math.nan
            n_rows = 0
        prim = [r["primary_ms"] for r in self._log]
        shad = [r["shadow_ms"] for r in self._log if not math.isnan(r["shadow_ms"])]
        values = {
            "requests": len(self._log),
            "shadowed": sum(s != "skipped" for s in status),
            "shadow_ok": status.count("ok"),
            "shadow_errors": status.count("error"),
            "shadow_timeouts": status.count("timeout"),
            "rows_compared": n_rows,
            "agreement": agreement,
            "mean_abs_diff": mad,
            "primary_p50_ms": float(np.median(prim)) if prim else math.nan,
            "shadow_p50_ms": float(np.median(shad)) if shad else math.nan,
        }
        return pd.DataFrame({"value": pd.Series(values, dtype=float)})
