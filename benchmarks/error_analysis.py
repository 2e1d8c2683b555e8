"""Sliced metrics and friends: ``utils.error_analysis`` against fairlearn and scikit-learn.

Run: ``python benchmarks/error_analysis.py`` (about three minutes on 2 cores, most of it inside
fairlearn). Synthetic data with fixed seeds (binary labels, a model right 80 % of the time), at
10,000, 100,000 and 1,000,000 rows:

- ``metrics_by_slice`` over 10 slices (support, accuracy, precision, recall, F1) against
  fairlearn's ``MetricFrame`` with scikit-learn's metric functions, and against the loop a
  practitioner writes without it: one ``precision_recall_fscore_support`` call per slice (plus
  the slice's size and share of correct predictions);
- ``metrics_by_slice`` over 20 overlapping boolean tags against the same loop, one call per tag;
- ``binary_report`` + ``pr_curve`` against ``precision_recall_fscore_support`` +
  ``precision_recall_curve``;
- ``stratified_split`` 80/10/10 against two ``train_test_split(stratify=)`` calls.

Every implementation is timed the same way: the same rounds, run in turn (ours, then each
baseline, three times over), at full size, and the median is kept. When one ``MetricFrame``
round takes over 20 s, that size gets one round on every side (the script says so). Answers are
checked, not only timed: the by-slice tables must be identical to the last bit. Label issues
(confident learning against cleanlab) are in ``benchmarks/label_issues.py``. Results go to
``benchmarks/results/error_analysis.json`` in the format of ``benchmarks/_results.py``; a
missing fairlearn is reported and its rows are left out.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import curve, machine_info, print_targets, target, write_results  # noqa: E402
from _timing import measure  # noqa: E402

from utils.error_analysis import (  # noqa: E402
    binary_report,
    metrics_by_slice,
    pr_curve,
    stratified_split,
)

SIZES = (10_000, 100_000, 1_000_000)
ROUNDS = 3
SLOW_ROUND_S = 20.0  # a MetricFrame round slower than this: one round per side at that size
COLS = ["support", "accuracy", "precision", "recall", "f1"]
HAS_FAIRLEARN = importlib.util.find_spec("fairlearn") is not None


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    return y, pred, pd.Series(pd.Categorical(rng.integers(0, 10, n)), name="slice")


def prf_per_mask(y: np.ndarray, pred: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """The practitioner's loop: one precision_recall_fscore_support call per slice."""
    rows = []
    for m in masks:
        yt, yp = y[m], pred[m]
        p, r, f, _ = skm.precision_recall_fscore_support(
            yt, yp, average="binary", zero_division=np.nan
        )
        rows.append([len(yt), np.mean(yt == yp), p, r, f])
    return np.array(rows, dtype=np.float64)


def metricframe(y: np.ndarray, pred: np.ndarray, s: pd.Series) -> np.ndarray:
    from fairlearn.metrics import MetricFrame, count

    nan = {"zero_division": np.nan}
    fns = {
        "support": count,
        "accuracy": skm.accuracy_score,
        "precision": partial(skm.precision_score, **nan),
        "recall": partial(skm.recall_score, **nan),
        "f1": partial(skm.f1_score, **nan),
    }
    frame = MetricFrame(metrics=fns, y_true=y, y_pred=pred, sensitive_features=s)
    return frame.by_group[COLS].to_numpy(dtype=np.float64)


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def sliced_metrics(n: int) -> dict[str, Any]:
    """Workload 1 at one size: ours, MetricFrame and the per-slice loop."""
    y, pred, s = data(n)
    fns: dict[str, Callable[[], Any]] = {
        "ours": lambda: metrics_by_slice(y, pred, s, include_overall=False)[COLS].to_numpy(float),
        "sklearn PRF per slice": lambda: prf_per_mask(
            y, pred, [(s.cat.codes == c).to_numpy() for c in range(10)]
        ),
    }
    rounds = ROUNDS
    if HAS_FAIRLEARN:
        first, _ = measure({"MetricFrame": lambda: metricframe(y, pred, s)}, 1)
        if first["MetricFrame"] > SLOW_ROUND_S:
            rounds = 1
            print(
                f"  {n:,} rows: one MetricFrame round took {first['MetricFrame']:.1f} s, "
                "so every side gets one round at this size"
            )
        fns["fairlearn MetricFrame"] = lambda: metricframe(y, pred, s)
    seconds, answers = measure(fns, rounds)
    same = {name: identical(answers["ours"], a) for name, a in answers.items() if name != "ours"}
    return {"rows": n, "rounds": rounds, "seconds": seconds, "identical": same}


def tags(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(11)  # its own stream, apart from the labels'
    y, pred, _ = data(n, seed=1)
    frame = pd.DataFrame({f"tag{j}": rng.random(n) < rng.uniform(0.05, 0.5) for j in range(20)})
    masks = [frame[c].to_numpy() for c in frame.columns]
    fns = {
        "ours": lambda: metrics_by_slice(y, pred, frame, include_overall=False)[COLS].to_numpy(
            float
        ),
        "sklearn PRF per tag": lambda: prf_per_mask(y, pred, masks),
    }
    seconds, answers = measure(fns, ROUNDS)
    return {
        "rows": n,
        "rounds": ROUNDS,
        "seconds": seconds,
        "identical": {"sklearn PRF per tag": identical(*answers.values())},
    }


def report_and_curve(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(12)
    y, _, _ = data(n, seed=2)
    score = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1).round(4)

    def sk() -> Any:
        prf = skm.precision_recall_fscore_support(y, (score >= 0.5).astype(int), average="binary")
        return prf, skm.precision_recall_curve(y, score)

    fns = {
        "ours": lambda: (binary_report(y, scores=score, threshold=0.5), pr_curve(y, score)),
        "sklearn PRF + precision_recall_curve": sk,
    }
    seconds, answers = measure(fns, ROUNDS)
    (rep, ours_curve), (prf, (prec, _, thr)) = answers.values()
    on_curve = ours_curve.set_index("threshold").loc[thr, "precision"].to_numpy()
    diff = max(abs(rep.precision - prf[0]), abs(rep.recall - prf[1]))
    diff = max(diff, float(np.abs(on_curve - prec[:-1]).max()))
    return {"rows": n, "rounds": ROUNDS, "seconds": seconds, "max_abs_diff": float(diff)}


def split(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    labels = rng.choice(10, n, p=np.r_[0.3, np.full(9, 0.7 / 9)])
    df = pd.DataFrame({"y": labels, "x": rng.random(n)})

    def sk() -> Any:
        train, rest = train_test_split(df, test_size=0.2, stratify=df["y"], random_state=0)
        return (train, *train_test_split(rest, test_size=0.5, stratify=rest["y"], random_state=0))

    fns = {"ours": lambda: stratified_split(df, label="y"), "2 x train_test_split(stratify)": sk}
    seconds, answers = measure(fns, ROUNDS)
    got = np.bincount(answers["ours"][2]["y"], minlength=10)
    off = float(np.abs(got - np.bincount(labels) * 0.1).max())  # rows off 10 % per class
    return {"rows": n, "rounds": ROUNDS, "seconds": seconds, "test_rows_off_10pct": off}


WORKLOADS: dict[str, Callable[[int], dict[str, Any]]] = {
    "metrics_by_slice, 10 slices": sliced_metrics,
    "metrics_by_slice, 20 overlapping tags": tags,
    "binary_report + pr_curve": report_and_curve,
    "stratified_split 80/10/10": split,
}


def checks_of(name: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        where = f"{name}, {run['rows']:,} rows"
        for other, ok in run.get("identical", {}).items():
            out.append(
                {
                    "name": f"{where}: same table as {other}",
                    "ok": ok,
                    "detail": "identical to the last bit" if ok else "numbers differ",
                }
            )
        if "max_abs_diff" in run:
            ok = run["max_abs_diff"] < 1e-12
            out.append(
                {
                    "name": f"{where}: same precision/recall as scikit-learn",
                    "ok": ok,
                    "detail": f"largest difference {run['max_abs_diff']:.1e}",
                }
            )
        if "test_rows_off_10pct" in run:
            ok = run["test_rows_off_10pct"] <= 1
            out.append(
                {
                    "name": f"{where}: test set is 10 % of each class",
                    "ok": ok,
                    "detail": f"at most {run['test_rows_off_10pct']:.1f} row off per class",
                }
            )
    return out


def targets_of(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    big = results["metrics_by_slice, 10 slices"][-1]
    sec, same = big["seconds"], big["identical"]
    work = f"sliced metrics {big['rows'] // 1_000_000}M x 10 slices"
    if "fairlearn MetricFrame" in sec:
        ratio = sec["fairlearn MetricFrame"] / sec["ours"]
        ok = same["fairlearn MetricFrame"]
        rows.append(
            target(
                work,
                "fairlearn MetricFrame",
                ">= 200x, identical numbers",
                f"{ratio:,.0f}x, {'identical' if ok else 'NOT identical'}",
                ratio >= 200 and ok,
            )
        )
    ratio = sec["sklearn PRF per slice"] / sec["ours"]
    ok = same["sklearn PRF per slice"]
    rows.append(
        target(
            work,
            "sklearn PRF per slice",
            "> 1x, identical numbers",
            f"{ratio:,.1f}x, {'identical' if ok else 'NOT identical'}",
            ratio > 1 and ok,
        )
    )
    # The design notes' absolute targets for our own time at 1M rows.
    for name, limit in [
        ("metrics_by_slice, 10 slices", 0.1),
        ("metrics_by_slice, 20 overlapping tags", 0.5),
        ("binary_report + pr_curve", 0.5),
        ("stratified_split 80/10/10", 0.5),
    ]:
        t = results[name][-1]["seconds"]["ours"]
        rows.append(
            target(
                f"{name}, 1M rows", "the design notes", f"<= {limit} s", f"{t:.3f} s", t <= limit
            )
        )
    return rows


def main() -> int:
    load_before = os.getloadavg()
    missing = [] if HAS_FAIRLEARN else ["fairlearn"]
    if missing:
        print("fairlearn is not installed: MetricFrame is skipped, the other baselines run.")
    results: dict[str, list[dict[str, Any]]] = {}
    for name, fn in WORKLOADS.items():
        results[name] = []
        for n in SIZES:
            run = fn(n)
            results[name].append(run)
            timings = ", ".join(f"{k} {v:.4f} s" for k, v in run["seconds"].items())
            print(f"{name}, {n:,} rows ({run['rounds']} rounds): {timings}")
    curves = [
        curve(
            name,
            "rows",
            "seconds (median)",
            {
                impl: ([r["rows"] for r in runs], [r["seconds"][impl] for r in runs])
                for impl in runs[0]["seconds"]
            },
        )
        for name, runs in results.items()
    ]
    checks = [c for name, runs in results.items() for c in checks_of(name, runs)]
    rows = targets_of(results)
    print_targets(rows, missing)
    bad = [c["name"] for c in checks if not c["ok"]]
    print("answers checked: " + ("all agree" if not bad else "DISAGREE: " + "; ".join(bad)))
    path = write_results(
        "error_analysis",
        command="python benchmarks/error_analysis.py",
        machine=machine_info(["numpy", "pandas", "scikit-learn", "fairlearn"]),
        curves=curves,
        targets=rows,
        missing=missing,
        checks=checks,
        extra={
            "rounds": ROUNDS,
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "runs": results,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
