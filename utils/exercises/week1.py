"""Checks of the week-1 notes' coding exercises, registered with ``exercise``.

Used by week1/01_lifecycle.ipynb (a voice activity detector), week1/02_key_challenges.ipynb (how
many labels show an accuracy drop), week1/03_deployment_patterns.ipynb (sticky canary routing, a
confidence threshold tuned on labelled data), week1/04_monitoring.ipynb (an alarm that must
hold for several windows) and week1/05_scaling_out.ipynb (the replicas an autoscaler asks for).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from utils.exercises import Wrong, exercise, returned

_RATE, _FRAME = 8000, 160


def _speech_signal(scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A two-second test signal with speech between 0.7 s and 1.4 s, and its loud frames.

    The loud frames are those whose speech energy alone is at least ten times the noise's: the
    fade-in and fade-out of the burst are too quiet to count either way.
    """
    t = np.arange(2 * _RATE) / _RATE
    rng = np.random.default_rng(seed)
    speech = (t > 0.7) & (t < 1.4)
    tone = speech * 0.4 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * (t - 0.7) / 0.7)
    signal = scale * (0.02 * rng.normal(size=t.size) + tone)
    n = t.size // _FRAME * _FRAME
    energy = (tone[:n].reshape(-1, _FRAME) ** 2).mean(axis=1)
    return signal, energy > 10 * 0.02**2


@exercise(
    "w1lc-vad",
    hint="the VAD of the section 'Deployment' on this page: energy per frame "
    "against a threshold that moves with the recording's level.",
)
def _vad(vad: Any) -> str:
    for scale in (1.0, 0.25, 3.0):
        signal, truth = _speech_signal(scale, seed=7)
        got = np.asarray(returned("vad(signal, frame)", vad(signal, _FRAME)))
        if got.shape != truth.shape:
            raise Wrong(
                f"vad should return one value per frame of {_FRAME} samples "
                f"({truth.size} for this signal), got shape {got.shape}."
            )
        if got.dtype != bool:
            raise Wrong(f"vad should return booleans (True for speech), got dtype {got.dtype}.")
        silent = ~truth & (np.convolve(truth, np.ones(5), "same") == 0)  # far from any speech
        missed, extra = int((truth & ~got).sum()), int((silent & got).sum())
        if missed + extra > 0:
            why = (
                " A fixed energy threshold breaks when the microphone is quieter or louder."
                if scale != 1
                else " Compare the energy of a speech frame with the silence's."
            )
            raise Wrong(
                f"at volume x{scale:g}, vad marks {extra} silent frames as speech and "
                f"misses {missed} speech frames (of {truth.size}).{why}"
            )
    return "vad finds the speech at every volume, because its threshold follows the recording."


# week1/02_key_challenges.ipynb -----------------------------------------------------------------

_Z = 1.96  # the page's 95 % margin: 1.96 standard errors


def _margin(accuracy: float, n: int) -> float:
    return float(_Z * np.sqrt(accuracy * (1 - accuracy) / n))


@exercise(
    "w1drift-labels",
    hint="the end of the section 'Real shift' on this page: with n labels "
    "the accuracy is known to about 1.96 * sqrt(a * (1 - a) / n).",
)
def _labels(labels_needed: Any) -> str:
    """Tests the smallest n whose margin 1.96 * sqrt(a(1 - a)/n) is at most the drop, rounded up."""
    for accuracy, drop in ((0.88, 0.04), (0.95, 0.01), (0.7, 0.05), (0.99, 0.005), (0.6, 0.1)):
        n = returned("labels_needed(accuracy, drop)", labels_needed(accuracy, drop))
        if (
            isinstance(n, bool)
            or not isinstance(n, int | np.integer | float | np.floating)
            or n != int(n)
        ):
            raise Wrong(
                f"labels_needed({accuracy}, {drop}) should be a whole number of labels, got "
                f"{n!r}: round up."
            )
        n = int(n)
        # z between 1.959 and 1.961 (1.96 or the exact 1.959964...) gives the same answer or one more
        low, high = (
            int(np.ceil((z / drop) ** 2 * accuracy * (1 - accuracy))) for z in (1.959, 1.961)
        )
        if n < low:
            why = (
                " Round up, not down."
                if n == low - 1
                else " Solve the margin for n: the drop enters squared."
            )
            raise Wrong(
                f"for accuracy {accuracy} and a drop of {drop}, {n} labels give a margin of "
                f"{_margin(accuracy, max(n, 1)):.5f}, larger than the drop.{why}"
            )
        if n > high:
            raise Wrong(
                f"for accuracy {accuracy} and a drop of {drop}, {n} labels are more than "
                f"needed: {high} already give a margin of {_margin(accuracy, high):.5f}. "
                "Look for the smallest n."
            )
    return (
        "labels_needed finds the smallest sample; note that halving the drop you want to see "
        "multiplies it by four."
    )


# week1/03_deployment_patterns.ipynb ------------------------------------------------------------


def _canary_users(n: int) -> list[str]:
    """``n`` made-up user keys, plus one whose BLAKE2b bucket is 0 (the edge of a share of 0)."""
    from utils.deployment.patterns import bucket_of

    users = [f"user-{i}" for i in range(n)]
    edge = next(u for u in (f"edge-{i}" for i in itertools.count()) if bucket_of(u) == 0)
    return [*users, edge]


@exercise(
    "w1dp-route",
    hint="the section 'Canary: a small, sticky share that ramps up' on this "
    "page: the arm depends only on the bucket of the salted user key, "
    "compared with a cut that grows with the share.",
)
def _route(to_canary: Any) -> str:
    """Tests stickiness, exact shares at 0 and 1, shares in between, growth and the salt."""
    users = _canary_users(10_000)

    def arms(share: float, salt: str = "") -> np.ndarray:
        got = [returned("to_canary(user, share, salt)", to_canary(u, share, salt)) for u in users]
        bad = next((g for g in got if not isinstance(g, bool | np.bool_)), None)
        if bad is not None:
            raise Wrong(
                f"to_canary should return True or False, got {bad!r} ({type(bad).__name__})."
            )
        return np.array(got, dtype=bool)

    for share in (0.0, 1.0):
        wrong = int((arms(share) != bool(share)).sum())
        if wrong:
            why = (
                "nobody to the canary: a bucket equal to the cut share * N_BUCKETS must stay "
                "out (use <, not <=)"
                if share == 0
                else "everybody to the canary: the cut share * N_BUCKETS must be above every bucket"
            )
            raise Wrong(
                f"at a share of {share:g}, {wrong} of {len(users)} users get the wrong arm: "
                f"a share of {share:g} must send exactly {why}."
            )
    quarter = arms(0.25)
    flipped = int((arms(0.25) != quarter).sum())
    if flipped:
        raise Wrong(
            f"asked twice about the same users at a share of 0.25, to_canary changed its "
            f"answer for {flipped} of {len(users)} users: they would switch models from one "
            "request to the next. Derive the answer from the user key, not from chance."
        )
    by_share = {share: arms(share) for share in (0.05, 0.5)} | {0.25: quarter}
    for share, arm in sorted(by_share.items()):
        if abs(arm.mean() - share) > 0.02:
            raise Wrong(
                f"at a share of {share:g}, {arm.mean():.3f} of the users reach the canary "
                f"instead of about {share:g}."
            )
    lost = int((by_share[0.05] & ~by_share[0.25]).sum() + (by_share[0.25] & ~by_share[0.5]).sum())
    if lost:
        raise Wrong(
            f"{lost} users who had the canary lost it when the share grew from 0.05 to 0.25 "
            "or from 0.25 to 0.5: the share must only add users. Keep the user's bucket "
            "fixed and move only the cut."
        )
    salted = arms(0.25, "second-try")
    if abs(salted.mean() - 0.25) > 0.02 or (salted & quarter).mean() > 0.5 * quarter.mean():
        raise Wrong(
            f"with the salt 'second-try', {(salted & quarter).mean():.3f} of the users are "
            f"in the canary with and without it (share of the salted canary "
            f"{salted.mean():.3f}): a new salt should pick a different quarter of the users. "
            "Hash the salt together with the user key."
        )
    return (
        "to_canary is sticky, exact at 0 and 1, only adds users as the share grows, and "
        "picks other users with a new salt."
    )


def _automation_case(seed: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a model's two-class probabilities: calibrated when ``sharpness`` is 1, over-
    (above 1) or under-confident (below 1) otherwise."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 0.6, 600).clip(1e-6, 1 - 1e-6)
    y = (rng.random(p.size) < p).astype(int)
    q = 1 / (1 + np.exp(-sharpness * np.log(p / (1 - p))))
    return np.c_[1 - q, q], y


def _automated(proba: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share automated, accuracy of the automated decisions) at ``threshold``."""
    auto = proba.max(axis=1) >= threshold
    right = proba.argmax(axis=1) == y
    return float(auto.mean()), float(right[auto].mean()) if auto.any() else 1.0


@exercise(
    "w1dp-threshold",
    hint="the section 'Degrees of automation' on this page: comments whose "
    "top probability reaches the threshold are automated; try every "
    "confidence in the data as a threshold.",
)
def _threshold(tune_threshold: Any) -> str:
    """Tests that the threshold meets the target and automates as much as a 0.01 grid would."""
    grid = np.round(np.arange(0.5, 1.0001, 0.01), 2)
    for seed, sharpness, target in ((1, 1.0, 0.95), (2, 3.0, 0.9), (3, 0.5, 0.97)):
        proba, y = _automation_case(seed, sharpness)
        t = returned(
            "tune_threshold(proba, y, target)", tune_threshold(proba.copy(), y.copy(), target)
        )
        if isinstance(t, bool) or not isinstance(t, int | float | np.integer | np.floating):
            raise Wrong(f"tune_threshold should return one number, got {t!r} ({type(t).__name__}).")
        share, accuracy = _automated(proba, y, float(t))
        if accuracy < target:
            raise Wrong(
                f"with a target of {target:g}, your threshold {float(t):.3f} automates "
                f"{share:.3f} of the comments, but only {accuracy:.3f} of those decisions "
                "are right. Raise the threshold: the target is for the automated decisions "
                "alone, not for the whole system with its reviewers."
            )
        best = max(s for s, a in (_automated(proba, y, g) for g in grid) if a >= target)
        if share < best - 1e-12:
            raise Wrong(
                f"with a target of {target:g}, your threshold {float(t):.3f} automates only "
                f"{share:.3f} of the comments; a lower threshold automates {best:.3f} and "
                "still meets the target. Look for the lowest threshold that does."
            )
    return (
        "tune_threshold automates as much as each model allows: over-confident models need a "
        "higher threshold than calibrated ones for the same target."
    )


# week1/04_monitoring.ipynb ---------------------------------------------------------------------


def _alarm_reference(values: np.ndarray, threshold: float, for_windows: int) -> np.ndarray:
    """True where ``values > threshold`` has held for ``for_windows`` windows up to this one."""
    run, out = 0, np.zeros(values.size, dtype=bool)
    for i, v in enumerate(values):
        run = run + 1 if v > threshold else 0
        out[i] = run >= for_windows
    return out


@exercise(
    "w1mon-alarm",
    hint="the section 'Thresholds and alarms' on this page: an alarm fires "
    "when the metric has stayed above its threshold for for_windows "
    "consecutive windows, counting the current one.",
)
def _alarm(alarm: Any) -> str:
    """Tests the alarm on noisy series with bursts of several lengths, for several for_windows."""
    rng = np.random.default_rng(4)
    for for_windows in (1, 3, 2, 4):
        values = rng.normal(0, 1, 120)
        for start, length in ((10, 1), (30, 2), (50, 3), (70, 5), (100, 4)):
            values[start : start + length] += 4  # bursts above the threshold
        threshold = 2.5
        truth = _alarm_reference(values, threshold, for_windows)
        got = np.asarray(
            returned(
                "alarm(values, threshold, for_windows)",
                alarm(values.copy(), threshold, for_windows),
            )
        )
        if got.shape != truth.shape:
            raise Wrong(
                f"alarm should return one value per window ({truth.size} here), got shape "
                f"{got.shape}."
            )
        if got.dtype != bool:
            raise Wrong(
                f"alarm should return booleans (True where it fires), got dtype {got.dtype}."
            )
        if (got != truth).any():
            i = int(np.flatnonzero(got != truth)[0])
            above = values[i::-1] > threshold  # this window, then backwards
            run = int(np.argmin(above)) if not above.all() else i + 1
            why = (
                "fires at window {i}, where the metric has been above the threshold for only "
                "{run} window(s) in a row (counting this one): it must wait until the count "
                "reaches for_windows, since it cannot know the windows that come after."
                if got[i]
                else "stays silent at window {i}, where the metric has been above the "
                "threshold for {run} window(s) in a row (counting this one): once the count "
                "reaches for_windows, it fires, and it keeps firing while the count grows."
            )
            raise Wrong(f"with for_windows={for_windows}, your alarm " + why.format(i=i, run=run))
    return (
        "alarm fires exactly when the condition has held long enough, as evaluate_alerts does "
        "with for_windows."
    )


# week1/05_scaling_out.ipynb --------------------------------------------------------------------


def _replicas_reference(ongoing: float, target: float, low: int, high: int) -> int:
    """Ray Serve's rule: ceil(ongoing / target), kept within [low, high] (see the page)."""
    return min(high, max(low, math.ceil(ongoing / target)))


@exercise(
    "w1so-replicas",
    hint="the section 'Autoscaling' on this page: divide the requests in flight by the "
    "target per replica, round up, then keep the result between min_replicas and "
    "max_replicas.",
)
def _replicas(desired_replicas: Any) -> str:
    """Tests exact multiples, fractions, an idle service, both bounds and a fractional target."""
    cases: list[tuple[int, float, int, int]] = [(8, 2, 1, 10), (9, 2, 1, 10), (1, 2, 1, 10)]
    cases += [(0, 2, 1, 10), (0, 2, 0, 10), (50, 2, 1, 10), (3, 2, 4, 10), (7, 2.5, 1, 10)]
    cases += [(5, 1, 2, 3)]
    for ongoing, target, low, high in cases:
        call = f"desired_replicas({ongoing}, {target}, {low}, {high})"
        got = returned(call, desired_replicas(ongoing, target, low, high))
        if isinstance(got, bool) or not isinstance(got, int | np.integer):
            raise Wrong(f"{call} should return a whole number of replicas, got {got!r}.")
        want = _replicas_reference(ongoing, target, low, high)
        if got == want:
            continue
        raw = ongoing / target
        if low <= raw <= high and got == math.floor(raw):
            why = "it rounds down, but a fraction of a replica still needs a whole one"
        elif got > high or got < low:
            why = f"keep the answer between min_replicas={low} and max_replicas={high}"
        else:
            why = f"Serve's rule asks for {want}"
        raise Wrong(f"{call} returned {got}: {why}.")
    return (
        "desired_replicas follows Ray Serve's rule; the autoscaler then waits upscale_delay_s "
        "or downscale_delay_s before it acts on a change."
    )
