"""Label issues (confident learning): ``utils.labeling.label_errors`` against cleanlab.

Run: ``python benchmarks/label_issues.py`` (about a minute on 2 cores). Synthetic problems with
fixed seeds: 10 classes, out-of-sample-like probabilities (a softmax of noisy logits leaning
towards the true class) and 10 % of the labels replaced at random, at 10,000, 100,000 and
1,000,000 examples. ``find_label_issues`` with its defaults (``prune_by_noise_rate``) against
``cleanlab.filter.find_label_issues`` with its defaults, which spread the work over one process
per physical core, and with ``n_jobs=1``; the target compares with the faster of the two.

Every implementation is timed the same way: three rounds run in turn, at full size, median kept.
Answers are checked, not only timed: the flags and the confident joint must be identical, on
these problems and on a tie-heavy one (probabilities on a grid of tenths, where the tie rules
decide). Results go to ``benchmarks/results/label_issues.json`` in the format of
``benchmarks/_results.py``; a missing cleanlab is reported and its rows are left out.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import curve, machine_info, print_targets, target, write_results  # noqa: E402
from _timing import measure  # noqa: E402

from utils.labeling.label_errors import find_label_issues  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
TARGET_SIZE = 100_000
K = 10
ROUNDS = 3
HAS_CLEANLAB = importlib.util.find_spec("cleanlab") is not None


def problem(n: int, seed: int = 0, grid: bool = False) -> tuple[np.ndarray, ...]:
    """Given labels, probabilities and the mask of flipped labels."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, K, n)
    logits = rng.normal(0, 1, (n, K))
    logits[np.arange(n), true] += 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if grid:  # tenths: many equal probabilities and margins
        probs = rng.multinomial(10, probs) / 10
    given = np.where(rng.random(n) < 0.1, rng.integers(0, K, n), true)
    return given, probs, given != true


def cleanlab_fns(given: np.ndarray, probs: np.ndarray) -> dict[str, Callable[[], Any]]:
    from cleanlab.filter import find_label_issues as cl_find

    def run(**kw: Any) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cl_find(given, probs, **kw)

    return {"cleanlab (default n_jobs)": run, "cleanlab n_jobs=1": lambda: run(n_jobs=1)}


def one_size(n: int) -> dict[str, Any]:
    given, probs, flipped = problem(n)
    fns: dict[str, Callable[[], Any]] = {"ours": lambda: find_label_issues(given, probs)}
    if HAS_CLEANLAB:
        fns.update(cleanlab_fns(given, probs))
    seconds, answers = measure(fns, ROUNDS)
    ours = answers.pop("ours")
    run: dict[str, Any] = {"rows": n, "rounds": ROUNDS, "seconds": seconds}
    run["identical_flags"] = {k: bool(np.array_equal(ours.mask, m)) for k, m in answers.items()}
    hit = (ours.mask & flipped).sum()
    run["flagged"] = int(ours.n_issues)
    run["finder_precision"] = float(hit / max(ours.n_issues, 1))
    run["finder_recall"] = float(hit / flipped.sum())
    if HAS_CLEANLAB:
        from cleanlab.count import compute_confident_joint

        same = np.array_equal(ours.confident_joint, compute_confident_joint(given, probs))
        run["identical_joint"] = bool(same)
    return run


def tie_check() -> dict[str, Any]:
    """Flags and joint on a tie-heavy problem (every filter), ours against cleanlab."""
    from cleanlab.count import compute_confident_joint
    from cleanlab.filter import find_label_issues as cl_find

    given, probs, _ = problem(TARGET_SIZE, seed=1, grid=True)
    differ = []
    for filter_by in ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = cl_find(given, probs, filter_by=filter_by, n_jobs=1)
        if not np.array_equal(find_label_issues(given, probs, filter_by=filter_by).mask, theirs):
            differ.append(filter_by)
    ours = find_label_issues(given, probs)
    if not np.array_equal(ours.confident_joint, compute_confident_joint(given, probs)):
        differ.append("confident joint")
    return {
        "name": f"tie-heavy problem, {TARGET_SIZE:,} x {K} on a grid of tenths: same flags "
        "(4 filters) and joint as cleanlab",
        "ok": not differ,
        "detail": "identical" if not differ else "differs: " + ", ".join(differ),
    }


def checks_of(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        where = f"{run['rows']:,} x {K}"
        for name, ok in run["identical_flags"].items():
            out.append(
                {
                    "name": f"{where}: same flags as {name}",
                    "ok": ok,
                    "detail": f"{run['flagged']:,} flagged" if ok else "flags differ",
                }
            )
        if "identical_joint" in run:
            ok = run["identical_joint"]
            out.append(
                {
                    "name": f"{where}: same confident joint as cleanlab",
                    "ok": ok,
                    "detail": "identical" if ok else "differs",
                }
            )
    return out


def targets_of(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    run = next(r for r in runs if r["rows"] == TARGET_SIZE)
    sec = run["seconds"]
    rows = []
    work = f"label issues {TARGET_SIZE // 1000}k x {K} classes"
    theirs = [k for k in sec if k != "ours"]
    if theirs:
        best = min(theirs, key=sec.get)
        ratio = sec[best] / sec["ours"]
        same = all(run["identical_flags"].values())
        rows.append(
            target(
                work,
                f"cleanlab find_label_issues (faster setting: {best})",
                ">= 1x, identical flags",
                f"{ratio:.1f}x, {'identical' if same else 'NOT identical'}",
                ratio >= 1 and same,
            )
        )
    t = sec["ours"]
    rows.append(target(work, "the design notes", "<= 0.4 s", f"{t:.3f} s", t <= 0.4))
    return rows


def main() -> int:
    load_before = os.getloadavg()
    missing = [] if HAS_CLEANLAB else ["cleanlab"]
    if missing:
        print("cleanlab is not installed: its rows are skipped, ours is still measured.")
    runs = []
    for n in SIZES:
        run = one_size(n)
        runs.append(run)
        timings = ", ".join(f"{k} {v:.3f} s" for k, v in run["seconds"].items())
        print(
            f"{n:,} x {K} ({ROUNDS} rounds): {timings}; flagged {run['flagged']:,} "
            f"(precision {run['finder_precision']:.3f}, recall {run['finder_recall']:.3f})"
        )
    series = {
        impl: ([r["rows"] for r in runs], [r["seconds"][impl] for r in runs])
        for impl in runs[0]["seconds"]
    }
    checks = checks_of(runs) + ([tie_check()] if HAS_CLEANLAB else [])
    rows = targets_of(runs)
    print_targets(rows, missing)
    bad = [c["name"] for c in checks if not c["ok"]]
    if not checks:
        print("answers checked: none (cleanlab, the anchor, is not installed)")
    else:
        print("answers checked: " + ("all agree" if not bad else "DISAGREE: " + "; ".join(bad)))
    path = write_results(
        "label_issues",
        command="python benchmarks/label_issues.py",
        machine=machine_info(["numpy", "cleanlab"]),
        curves=[curve(f"find_label_issues, {K} classes", "examples", "seconds (median)", series)],
        targets=rows,
        missing=missing,
        checks=checks,
        extra={
            "rounds": ROUNDS,
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "runs": runs,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
