"""Tests of utils.deployment.patterns: canary routing, shadow mode, blue/green."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.deployment.patterns import (
    N_BUCKETS,
    BlueGreen,
    CanaryRollout,
    Predictor,
    Router,
    ShadowDeployment,
    _simulate_traffic,
    bucket_of,
)


class Const:
    """A model answering the same probabilities for every row."""

    def __init__(self, p1: float) -> None:
        self.p1 = p1
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        n = len(X)
        return np.column_stack([np.full(n, 1 - self.p1), np.full(n, self.p1)])


class Boom:
    def predict_proba(self, X):
        raise RuntimeError("shadow exploded")


class WrongShape:
    def predict_proba(self, X):
        return np.ones((len(X) + 1, 2)) / 2


class Slow(Const):
    def predict_proba(self, X):
        time.sleep(0.02)
        return super().predict_proba(X)


KEYS = [f"user-{i}" for i in range(20_000)]


# ----------------------------------------------------------------------------- hashing


def test_bucket_is_deterministic_and_known():
    # BLAKE2b, 8-byte digest, big-endian, modulo 10,000: fixed across processes and machines
    import hashlib

    expected = int.from_bytes(hashlib.blake2b(b"saltuser-1", digest_size=8).digest(), "big")
    assert bucket_of("user-1", "salt") == expected % N_BUCKETS
    assert bucket_of("user-1", "salt") == bucket_of("user-1", "salt")
    # the salt reshuffles keys: a different salt moves most keys to another bucket
    moved = np.mean([bucket_of(k, "salt") != bucket_of(k, "other") for k in KEYS[:1000]])
    assert moved > 0.99


def test_bucket_rejects_non_str():
    with pytest.raises(TypeError, match="key must be a str"):
        bucket_of(123)  # type: ignore[arg-type]


def test_buckets_are_roughly_uniform():
    b = np.array([bucket_of(k) for k in KEYS])
    counts = np.bincount(b // 1000, minlength=10)
    assert counts.min() > 0.08 * len(KEYS) and counts.max() < 0.12 * len(KEYS)


# ----------------------------------------------------------------------------- canary


def test_canary_is_a_router_and_starts_at_first_step():
    c = CanaryRollout()
    assert isinstance(c, Router)
    assert c.weight == 0.01 and c.status == "ramping"


@settings(max_examples=25, deadline=None)
@given(weight=st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.5, 0.9]), salt=st.text(max_size=5))
def test_canary_share_converges_to_weight(weight, salt):
    c = CanaryRollout(steps=(weight,), hash_salt=salt)
    share = _simulate_traffic(c, KEYS).get("canary", 0.0)
    # binomial standard error with 20,000 keys is at most 0.0036: allow 5 of them
    assert abs(share - weight) < 0.018


def test_share_is_exact_on_bucket_boundaries():
    c = CanaryRollout(steps=(0.25,))
    buckets = np.array([bucket_of(k) for k in KEYS])
    expected = np.mean(buckets < 2500)
    assert _simulate_traffic(c, KEYS)["canary"] == pytest.approx(expected)


def test_rollback_sends_zero_traffic():
    c = CanaryRollout(steps=(0.5, 1.0))
    c.advance()
    assert _simulate_traffic(c, KEYS).get("canary", 0.0) == 1.0
    c.rollback()
    assert c.weight == 0.0 and c.status == "rolled_back"
    shares = _simulate_traffic(c, KEYS)
    assert list(shares.index) == ["stable"] and shares["stable"] == 1.0


@settings(max_examples=20, deadline=None)
@given(key=st.text(min_size=1, max_size=20))
def test_same_key_same_arm_and_monotone(key):
    c = CanaryRollout()
    arms = []
    for _ in range(len(c.steps) - 1):
        first = c.route(key)
        assert all(c.route(key) == first for _ in range(3))
        arms.append(first)
        c.advance()
    # once on the canary, a key stays there as the weight grows
    if "canary" in arms:
        assert all(a == "canary" for a in arms[arms.index("canary") :])


def test_full_weight_routes_everyone_to_canary():
    c = CanaryRollout(steps=(1.0,))
    assert _simulate_traffic(c, KEYS[:500]).to_dict() == {"canary": 1.0}


def test_route_without_key_is_deterministic():
    a, b = CanaryRollout(steps=(0.3,)), CanaryRollout(steps=(0.3,))
    assert [a.route() for _ in range(200)] == [b.route() for _ in range(200)]


def test_advance_and_end_of_ramp():
    c = CanaryRollout(steps=(0.1, 0.5, 1.0))
    assert c.advance() == 0.5 and c.advance() == 1.0
    assert c.status == "complete"
    with pytest.raises(RuntimeError, match="last step"):
        c.advance()


def test_advance_after_rollback_needs_restart():
    c = CanaryRollout()
    c.rollback()
    with pytest.raises(RuntimeError, match="restart"):
        c.advance()
    c.restart()
    assert c.weight == c.steps[0]
    assert [e for e, _ in c.history] == ["start", "rollback", "restart"]


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ((), "empty"),
        ((0.0, 0.5), r"steps\[0\] must be > 0"),
        ((0.5, 0.2), "strictly increasing"),
        ((0.5, 0.5), "strictly increasing"),
        ((0.1, 1.5), r"steps\[1\] must be a number in \[0, 1\]"),
        ((0.1, float("nan")), r"steps\[1\] must be a number in \[0, 1\]"),
    ],
)
def test_invalid_steps(steps, match):
    with pytest.raises(ValueError, match=match):
        CanaryRollout(steps=steps)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="must differ"):
        CanaryRollout(stable="a", canary="a")
    with pytest.raises(ValueError, match=r"guardrails\['p99_ms'\]"):
        CanaryRollout(guardrails={"p99_ms": float("nan")})
    with pytest.raises(TypeError, match=r"steps\[0\] must be a number"):
        CanaryRollout(steps=("0.1",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no model for arm 'canary'"):
        CanaryRollout(models={"stable": Const(0.1)})


def test_evaluate_decisions():
    c = CanaryRollout(guardrails={"error_rate": 0.01, "p99_ms": 500.0}, min_requests=100)
    good = {"error_rate": 0.002, "p99_ms": 120.0}
    assert c.evaluate(good, n_requests=500) == "advance"
    assert c.evaluate({"error_rate": 0.05, "p99_ms": 120.0}) == "rollback"
    assert c.evaluate({"error_rate": 0.002, "p99_ms": 900.0}) == "rollback"
    assert c.evaluate({"error_rate": 0.002}) == "hold"  # p99 unknown
    assert c.evaluate({"error_rate": 0.002, "p99_ms": float("nan")}) == "hold"
    assert c.evaluate(good, n_requests=10) == "hold"  # too little evidence
    # under the ceilings but much worse than stable: hold (tolerance 25 %)
    assert c.evaluate(good, {"error_rate": 0.001, "p99_ms": 100.0}, n_requests=500) == "hold"
    assert c.evaluate(good, {"error_rate": 0.002, "p99_ms": 110.0}, n_requests=500) == "advance"
    # too little evidence holds even a breach: 1 error in 2 requests is not an error rate
    assert c.evaluate({"error_rate": 0.5, "p99_ms": 1.0}, n_requests=2) == "hold"
    assert c.evaluate({"error_rate": 0.5, "p99_ms": 1.0}, n_requests=100) == "rollback"


def test_evaluate_holds_when_complete():
    c = CanaryRollout(steps=(1.0,))
    assert c.evaluate({"error_rate": 0.0, "p99_ms": 1.0}) == "hold"


def test_canary_predict_proba_uses_the_routed_model():
    stable, canary = Const(0.1), Const(0.9)
    c = CanaryRollout(steps=(0.5,), models={"stable": stable, "canary": canary})
    X = np.zeros((3, 2))
    arms = set()
    for k in KEYS[:50]:
        arm, p = c.predict_proba_with_arm(X, key=k)
        arms.add(arm)
        assert arm == c.route(k)
        np.testing.assert_array_equal(p, (canary if arm == "canary" else stable).predict_proba(X))
        np.testing.assert_array_equal(c.predict_proba(X, key=k), p)
    assert arms == {"stable", "canary"}
    with pytest.raises(RuntimeError, match="no models"):
        CanaryRollout().predict_proba(X)
    with pytest.raises(RuntimeError, match="no models"):
        CanaryRollout().predict_proba_with_arm(X)


def test_every_pattern_is_a_predictor_of_probabilities():
    """A rollout answers like any model: ``predict_proba(X)`` is an (n, k) array, nothing else."""
    models = {"stable": Const(0.1), "canary": Const(0.9)}
    X = np.zeros((3, 2))
    for pattern in (
        CanaryRollout(steps=(0.5,), models=models),
        ShadowDeployment(models["stable"], models["canary"]),
        BlueGreen(models["stable"], models["canary"]),
    ):
        assert isinstance(pattern, Predictor)
        p = pattern.predict_proba(X)
        assert isinstance(p, np.ndarray) and p.shape == (3, 2)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


# ----------------------------------------------------------------------------- shadow


X4 = np.zeros((4, 3))


@pytest.mark.parametrize("bad", [Boom(), WrongShape()])
def test_shadow_failure_leaves_primary_unchanged(bad):
    primary = Const(0.3)
    sd = ShadowDeployment(primary, bad)
    for _ in range(5):
        out = sd.predict_proba(X4)
        np.testing.assert_array_equal(out, primary.predict_proba(X4))
    table = sd.comparison()["value"]
    assert table["shadow_errors"] == 5 and table["shadow_ok"] == 0
    assert np.isnan(table["agreement"])  # nothing compared: undefined, not 0
    assert "shadow" in sd.log()["error"].iloc[0]


@settings(max_examples=20, deadline=None)
@given(p1=st.floats(0.0, 1.0), q1=st.floats(0.0, 1.0), rate=st.floats(0.0, 1.0))
def test_shadow_never_changes_the_answer(p1, q1, rate):
    sd = ShadowDeployment(Const(p1), Const(q1), sample_rate=rate, seed=1)
    out = sd.predict_proba(X4)
    np.testing.assert_array_equal(out, Const(p1).predict_proba(X4))


def test_shadow_timeout_is_counted_and_discarded():
    sd = ShadowDeployment(Const(0.3), Slow(0.9), timeout_s=0.001)
    sd.predict_proba(X4)
    t = sd.comparison()["value"]
    assert t["shadow_timeouts"] == 1 and t["rows_compared"] == 0


def test_shadow_sample_rate_zero_never_calls_the_shadow():
    shadow = Const(0.9)
    sd = ShadowDeployment(Const(0.1), shadow, sample_rate=0.0)
    for _ in range(50):
        sd.predict_proba(X4)
    assert shadow.calls == 0
    assert sd.comparison()["value"]["shadowed"] == 0


def test_shadow_sample_rate_is_respected():
    shadow = Const(0.9)
    sd = ShadowDeployment(Const(0.1), shadow, sample_rate=0.3, seed=0)
    for _ in range(2000):
        sd.predict_proba(X4[:1])
    assert abs(shadow.calls / 2000 - 0.3) < 0.04


def test_shadow_comparison_known_answer():
    sd = ShadowDeployment(Const(0.4), Const(0.7))  # primary says class 0, shadow class 1
    sd.predict_proba(X4)
    sd.predict_proba(X4[:2])
    t = sd.comparison()["value"]
    assert t["requests"] == 2 and t["shadow_ok"] == 2 and t["rows_compared"] == 6
    assert t["agreement"] == 0.0
    assert t["mean_abs_diff"] == pytest.approx(0.3)
    log = sd.log()
    assert list(log["status"]) == ["ok", "ok"] and list(log["n_rows"]) == [4, 2]


def test_shadow_validation():
    with pytest.raises(TypeError, match="shadow must have a predict_proba"):
        ShadowDeployment(Const(0.1), object())
    with pytest.raises(ValueError, match=r"sample_rate must be a number in \[0, 1\]"):
        ShadowDeployment(Const(0.1), Const(0.2), sample_rate=1.5)
    with pytest.raises(ValueError, match="timeout_s must be a finite number > 0"):
        ShadowDeployment(Const(0.1), Const(0.2), timeout_s=0)


def test_primary_errors_propagate():
    sd = ShadowDeployment(Boom(), Const(0.2))
    with pytest.raises(RuntimeError, match="exploded"):
        sd.predict_proba(X4)


# ----------------------------------------------------------------------------- blue/green


def test_blue_green_switch_and_instant_rollback():
    blue, green = Const(0.1), Const(0.8)
    bg = BlueGreen(blue, green)
    assert bg.predict_proba(X4)[0, 1] == 0.1 and bg.route("any") == "blue"
    bg.switch()
    assert bg.active == "green" and bg.predict_proba(X4)[0, 1] == 0.8
    assert _simulate_traffic(bg, KEYS[:100]).to_dict() == {"green": 1.0}
    bg.rollback()
    assert bg.active == "blue" and bg.predict_proba(X4)[0, 1] == 0.1


def test_blue_green_rollback_without_switch():
    bg = BlueGreen(Const(0.1), Const(0.2))
    with pytest.raises(RuntimeError, match="no switch"):
        bg.rollback()
    with pytest.raises(ValueError, match="active must be"):
        BlueGreen(Const(0.1), Const(0.2), active="red")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- simulate_traffic


def test_simulate_traffic_validation():
    with pytest.raises(ValueError, match="keys is empty"):
        _simulate_traffic(CanaryRollout(), [])
    with pytest.raises(TypeError, match="single str"):
        _simulate_traffic(CanaryRollout(), "abc")
    with pytest.raises(TypeError, match="route"):
        _simulate_traffic(object(), ["a"])  # type: ignore[arg-type]


def test_shadow_outputs_line_up_with_the_requests_and_mark_missing_rows() -> None:
    class Fails:
        def predict_proba(self, X):
            raise RuntimeError("down")

    class Const:
        def __init__(self, p):
            self.p = p

        def predict_proba(self, X):
            return np.tile(self.p, (len(X), 1))

    shadow = ShadowDeployment(primary=Const([0.2, 0.8]), shadow=Const([0.6, 0.4]), sample_rate=1.0)
    with pytest.raises(ValueError, match="no request"):
        shadow.outputs()
    shadow.predict_proba(np.zeros((2, 1)))
    shadow.predict_proba(np.zeros((1, 1)))
    primary, other = shadow.outputs()
    assert primary.shape == other.shape == (3, 2)
    np.testing.assert_allclose(other, [[0.6, 0.4]] * 3)
    broken = ShadowDeployment(primary=Const([0.2, 0.8]), shadow=Fails())
    broken.predict_proba(np.zeros((2, 1)))
    assert np.isnan(broken.outputs()[1]).all() and not np.isnan(broken.outputs()[0]).any()
