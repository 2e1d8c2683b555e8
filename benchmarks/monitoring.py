"""Benchmark: drift_report against evidently's DataDriftPreset and a per-column SciPy loop.

Run as ``python benchmarks/monitoring.py`` (two to five minutes on two cores; ``--full`` also
runs evidently at a million rows, which adds several minutes). The data: 10 columns, the same
number of rows in the reference and the current window, some drifting and some not: 6 normal numerical columns (one unchanged, shifts of 0.03, 0.08, 0.12 and 0.3 standard
deviations and a doubled spread), a numerical column with 4 values whose shares change, and 3
categorical columns of 6 strings (one unchanged, one slightly moved, one moved a lot).

- **ours (fit + report)**: ``ReferenceProfile.fit(reference)`` then ``drift_report(profile,
  current)``, both timed: the fair comparison with tools that read the raw reference each time;
- **ours (report only)**: ``drift_report(profile, current)`` with the profile fitted once, as a
  monitor runs it on every window;
- **SciPy loop**: per column, what one writes with SciPy: ``ks_2samp`` and
  ``wasserstein_distance`` on the numbers, ``value_counts``, ``chi2_contingency`` and
  ``jensenshannon`` (natural log, as evidently) on the categories and on numbers with at most 5
  values; drift decided by evidently's default rule for more than 1,000 rows;
- **evidently**: ``Report([DataDriftPreset()]).run(current, reference)`` with the column types
  given, when evidently is installed (the ``bench`` extra); it is skipped with a message
  otherwise.

Every implementation is timed the same way, the median of ``ROUNDS`` runs at full size, the
rounds taken in turn (one run of each, then the next round) so that the load of a shared machine
falls on all of them alike. The answers are checked on these drifting data: per-column verdicts
and the share of drifted columns against evidently's and the SciPy loop's, the KS and
chi-square p-values against SciPy's, the distances against both. Writes
``benchmarks/results/monitoring.json`` in the format of ``benchmarks/_results.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")  # evidently's telemetry switch

import argparse
import importlib.util
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _results import curve, machine_info, print_targets, target, write_results
from scipy import stats
from scipy.spatial.distance import jensenshannon

from utils.deployment.monitoring import ReferenceProfile, drift_report

SIZES = [10_000, 100_000, 1_000_000]
TARGET_ROWS = 100_000  # the target: drift report on 100k x 10 against evidently
EVIDENTLY_MAX_ROWS = 100_000  # by default; --full runs evidently at every size (minutes more)
ROUNDS = 3
TARGET_RATIO = 20.0
SHIFTS = [0.0, 0.03, 0.08, 0.12, 0.3]  # numerical columns num_0..num_4, in standard deviations
CATEGORIES = np.array(list("abcdef"), dtype=object)
CATEGORY_SHARES = {
    "cat_same": ([1 / 6] * 6, [1 / 6] * 6),
    "cat_small": ([1 / 6] * 6, [0.19, 0.17, 0.16, 0.16, 0.16, 0.16]),
    "cat_moved": ([1 / 6] * 6, [0.30, 0.20, 0.20, 0.10, 0.10, 0.10]),
}


def make(n: int, seed: int, current: bool) -> pd.DataFrame:
    """The reference (``current=False``) or the current window, ``n`` rows, 10 columns."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        f"num_{i}": rng.normal(shift if current else 0.0, 1.0, n) for i, shift in enumerate(SHIFTS)
    }
    data["num_spread"] = rng.normal(0.0, 2.0 if current else 1.0, n)
    few = [0.4, 0.3, 0.2, 0.1] if current else [0.25, 0.25, 0.25, 0.25]
    data["few_values"] = rng.choice([0.0, 1.0, 2.0, 3.0], n, p=few)
    for name, (before, after) in CATEGORY_SHARES.items():
        data[name] = rng.choice(CATEGORIES, n, p=after if current else before)
    return pd.DataFrame(data)


def scipy_loop(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Per column with SciPy: a test, a distance, and evidently's rule above 1,000 rows."""
    rows = []
    for col in reference.columns:
        r, c = reference[col], current[col]
        if pd.api.types.is_numeric_dtype(r) and r.nunique() > 5:
            ks = stats.ks_2samp(r.to_numpy(), c.to_numpy())
            w = stats.wasserstein_distance(r.to_numpy(), c.to_numpy()) / max(r.std(ddof=0), 1e-3)
            rows.append((col, "wasserstein", ks.pvalue, w))
        else:
            counts = pd.concat([r.value_counts(), c.value_counts()], axis=1).fillna(0).to_numpy().T
            chi = stats.chi2_contingency(counts, correction=False)
            js = jensenshannon(counts[0] / counts[0].sum(), counts[1] / counts[1].sum())
            rows.append((col, "jensenshannon", chi.pvalue, js))
    out = pd.DataFrame(rows, columns=["column", "method", "p_value", "effect_size"])
    out["drifted"] = out["effect_size"] > 0.1
    return out.set_index("column")


def evidently_runner() -> Callable[[pd.DataFrame, pd.DataFrame], Any] | None:
    """A function running evidently's DataDriftPreset, or None when evidently is missing."""
    if importlib.util.find_spec("evidently") is None:
        return None
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    def run(reference: pd.DataFrame, current: pd.DataFrame) -> Any:
        numerical = [c for c in reference if pd.api.types.is_numeric_dtype(reference[c])]
        definition = DataDefinition(
            numerical_columns=numerical,
            categorical_columns=[c for c in reference if c not in numerical],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Report([DataDriftPreset()], include_tests=True).run(
                Dataset.from_pandas(current, data_definition=definition),
                Dataset.from_pandas(reference, data_definition=definition),
            )

    return run


def evidently_table(snapshot: Any) -> pd.DataFrame:
    """evidently's method, drift score and verdict per column, from a snapshot."""
    result = snapshot.dict()
    rows: dict[str, dict[str, Any]] = {}
    share = float("nan")
    for metric in result["metrics"]:
        if "column" in metric["config"]:
            rows[metric["config"]["column"]] = {
                "method": metric["config"]["method"],
                "score": float(metric["value"]),
            }
        else:  # DriftedColumnsCount: the data-set verdict's share of drifted columns
            share = float(metric["value"]["share"])
    for test in result["tests"]:
        column = test["metric_config"]["params"].get("column")
        if column is not None:
            rows[column]["drifted"] = str(test["status"]).endswith("FAIL")
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["share"] = share
    return table


def check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    print(f"  [{'ok' if ok else 'FAILED':6}] {name}: {detail}")
    return {"name": name, "ok": bool(ok), "detail": detail}


def agreement(n: int, ours: pd.DataFrame, loop: pd.DataFrame, theirs: pd.DataFrame | None) -> list:
    """Checks of one size: verdicts and statistics against the SciPy loop and evidently."""
    out = []
    cols = list(loop.index)
    drifted = ours.loc[cols, "drifted"]
    out.append(
        check(
            f"{n:,} rows: the data drift in some columns and not in others",
            bool(drifted.any() and not drifted.all()),
            f"drifted: {', '.join(c for c in cols if drifted[c])}",
        )
    )
    differ = int((drifted != loop.loc[cols, "drifted"]).sum())
    out.append(
        check(
            f"{n:,} rows: verdicts = SciPy loop's",
            differ == 0,
            f"{differ} of {len(cols)} columns differ",
        )
    )
    for method, test in (
        ("wasserstein", "KS p-values = ks_2samp's"),
        ("jensenshannon", "chi-square p-values = chi2_contingency's"),
    ):
        some = [c for c in cols if loop.loc[c, "method"] == method]
        diff = float(np.max(np.abs(ours.loc[some, "p_value"] - loop.loc[some, "p_value"])))
        out.append(
            check(f"{n:,} rows: {test} to 1e-9", diff <= 1e-9, f"largest difference {diff:.1e}")
        )
    eff_diff = float(np.max(np.abs(ours.loc[cols, "effect_size"] - loop["effect_size"])))
    out.append(
        check(
            f"{n:,} rows: distances = SciPy's to 1e-9",
            eff_diff <= 1e-9,
            f"largest difference {eff_diff:.1e}",
        )
    )
    if theirs is not None:
        mismatch = [
            c for c in cols if bool(ours.loc[c, "drifted"]) != bool(theirs.loc[c, "drifted"])
        ]
        out.append(
            check(
                f"{n:,} rows: verdicts = evidently DataDriftPreset's",
                not mismatch,
                f"{len(mismatch)} of {len(cols)} columns differ {mismatch or ''}".strip(),
            )
        )
        ours_share, their_share = float(ours.loc[cols, "drifted"].mean()), theirs.attrs["share"]
        out.append(
            check(
                f"{n:,} rows: share of drifted columns = evidently's",
                ours_share == their_share,
                f"{ours_share:.3f} and {their_share:.3f}",
            )
        )
        score_diff = float(np.max(np.abs(ours.loc[cols, "statistic"] - theirs.loc[cols, "score"])))
        out.append(
            check(
                f"{n:,} rows: drift scores = evidently's to 1e-9",
                score_diff <= 1e-9,
                f"largest difference {score_diff:.1e}",
            )
        )
    return out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, tuple[float, Any]]:
    """Median wall time and last result of each function, the rounds taken in turn.

    Round 1 runs every function once, then round 2, and so on: on a shared machine a burst of
    load then falls on all of them alike instead of on whichever was being timed.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in fns}


def measure(
    n: int, run_evidently: Callable | None, evidently_max: int, seconds: dict, memory: dict
) -> list:
    """Time every implementation at ``n`` rows (into ``seconds``) and check their answers.

    evidently runs only up to ``evidently_max`` rows (and not at all when it is missing).
    """
    reference, current = make(n, 0, current=False), make(n, 1, current=True)
    profile = ReferenceProfile.fit(reference)
    fns: dict[str, Callable[[], Any]] = {
        "fit": lambda: ReferenceProfile.fit(reference),
        "ours (fit + report)": lambda: drift_report(ReferenceProfile.fit(reference), current),
        "ours (report only)": lambda: drift_report(profile, current),
        "SciPy loop": lambda: scipy_loop(reference, current),
    }
    if run_evidently is not None and n <= evidently_max:
        fns["evidently DataDriftPreset"] = lambda: run_evidently(reference, current)
    timed = interleaved(fns, ROUNDS)
    for name, (s, _) in timed.items():
        if name != "fit":
            seconds[name][n] = s
    line = f"{n:>9,} rows: " + ", ".join(f"{name} {s:.3f} s" for name, (s, _) in timed.items())
    print(line)
    report, loop = timed["ours (report only)"][1], timed["SciPy loop"][1]
    theirs = None
    if "evidently DataDriftPreset" in timed:
        theirs = evidently_table(timed["evidently DataDriftPreset"][1])
    if n == SIZES[-1]:
        memory["ours (fit + report)"] = peak_mb(
            lambda: drift_report(ReferenceProfile.fit(reference), current)
        )
        memory["ours (report only)"] = peak_mb(lambda: drift_report(profile, current))
        print(f"  {report.summary()}")
    return agreement(n, report.table.set_index("column"), loop, theirs)


def evidently_target(seconds: dict, checks: list) -> dict[str, Any]:
    """The target row: fit + report against evidently at TARGET_ROWS, and the same verdicts."""
    ev = seconds["evidently DataDriftPreset"][TARGET_ROWS]
    with_fit = ev / seconds["ours (fit + report)"][TARGET_ROWS]
    report_only = ev / seconds["ours (report only)"][TARGET_ROWS]
    name = f"{TARGET_ROWS:,} rows: verdicts = evidently DataDriftPreset's"
    same = next(c["ok"] for c in checks if c["name"] == name)
    return target(
        "drift report 100k x 10",
        "evidently DataDriftPreset",
        f">= {TARGET_RATIO:.0f}x, identical verdicts",
        f"{with_fit:.0f}x with the profile fit ({report_only:.0f}x report only), "
        f"verdicts {'identical' if same else 'DIFFERENT'}",
        with_fit >= TARGET_RATIO and same,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"run evidently at every size, {SIZES[-1]:,} rows too (several minutes more)",
    )
    full = parser.parse_args(argv).full
    evidently_max = SIZES[-1] if full else EVIDENTLY_MAX_ROWS
    run_evidently = evidently_runner()
    missing = [] if run_evidently is not None else ["evidently"]
    if run_evidently is None:
        print("evidently is not installed (pip install -e .[bench]): its rows are skipped")
    names = ["ours (fit + report)", "ours (report only)", "SciPy loop", "evidently DataDriftPreset"]
    seconds: dict[str, dict[int, float]] = {name: {} for name in names}
    memory: dict[str, float] = {}
    checks = [c for n in SIZES for c in measure(n, run_evidently, evidently_max, seconds, memory)]
    targets = []
    stops = (
        "evidently is not installed" if run_evidently is None else "evidently runs at every size"
    )
    if run_evidently is not None and evidently_max < SIZES[-1]:
        last = seconds["evidently DataDriftPreset"][evidently_max]
        minutes = ROUNDS * last * SIZES[-1] / evidently_max / 60
        stops = (
            f"evidently stops at {evidently_max:,} rows: a run took {last:.1f} s there and its "
            f"time grows at least as fast as the rows, so {ROUNDS} runs at {SIZES[-1]:,} would "
            f"add {minutes:.0f} minutes or more to a script meant to take about five "
            "(python benchmarks/monitoring.py --full measures them)"
        )
        print(stops)
    if run_evidently is not None:
        targets.append(evidently_target(seconds, checks))
    loop_ratio = seconds["SciPy loop"][SIZES[-1]] / seconds["ours (fit + report)"][SIZES[-1]]
    print(f"at {SIZES[-1]:,} rows, fit + report is {loop_ratio:.1f}x faster than the SciPy loop")
    print_targets(targets, missing)
    series = {name: (list(v), list(v.values())) for name, v in seconds.items() if v}
    path = write_results(
        "monitoring",
        command="python benchmarks/monitoring.py" + (" --full" if full else ""),
        machine=machine_info(["numpy", "pandas", "scipy", "evidently"]),
        curves=[
            curve(
                "drift report, 10 columns (reference and current of the same size)",
                "rows in each window",
                f"seconds (median of {ROUNDS} runs)",
                series,
            )
        ],
        targets=targets,
        missing=missing,
        checks=checks,
        extra={
            "peak_mb_at_largest_size": memory,
            "scipy_loop_ratio_at_largest_size": loop_ratio,
            "rounds": ROUNDS,
            "evidently_largest_rows": evidently_max if run_evidently is not None else None,
            "evidently_stops": stops,
        },
    )
    print(f"saved {path.relative_to(path.parents[2])}")
    return 0 if all(c["ok"] for c in checks) and all(t["met"] for t in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
