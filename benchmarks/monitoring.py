"""Benchmark: drift_report on 1,000,000 rows x 20 columns against a naive per-column scipy loop.

Run as ``python benchmarks/monitoring.py``. The data: 15 numerical columns (normal, a third of
them shifted by 0.05 sd in the current window) and 5 categorical columns of 6 string values.

- **ours**: ``drift_report(profile, current)`` with a profile fitted once on the reference
  (``ReferenceProfile.fit``, timed separately), ``method="auto"`` (normalised Wasserstein and
  Jensen-Shannon here), which also reports a KS or chi-square p-value for every column.
- **baseline**: for each column, what one writes with scipy: ``ks_2samp`` and
  ``wasserstein_distance`` on the raw numbers; ``value_counts``, ``chi2_contingency`` and
  ``jensenshannon`` on the categories.

Time is the median of 3 rounds (1 for the baseline); peak memory is the extra memory traced by
``tracemalloc`` during one call (the data themselves are allocated before). Writes
``benchmarks/results/monitoring.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json
import platform
import resource
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from _timing import median_time
from scipy import stats
from scipy.spatial.distance import jensenshannon

from utils.deployment.monitoring import ReferenceProfile, drift_report

N_ROWS = 1_000_000
N_NUM, N_CAT = 15, 5
OUT = Path(__file__).resolve().parent / "results" / "monitoring.json"


def make(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        f"num_{i}": rng.normal(shift if i % 3 == 0 else 0.0, 1.0, n) for i in range(N_NUM)
    }
    cats = np.array(["a", "b", "c", "d", "e", "f"], dtype=object)
    for j in range(N_CAT):
        data[f"cat_{j}"] = cats[rng.integers(0, len(cats), n)]
    return pd.DataFrame(data)


def naive(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for col in reference.columns:
        r, c = reference[col], current[col]
        if pd.api.types.is_numeric_dtype(r):
            ks = stats.ks_2samp(r.to_numpy(), c.to_numpy())
            w = stats.wasserstein_distance(r.to_numpy(), c.to_numpy()) / max(r.std(ddof=0), 1e-3)
            rows.append((col, ks.statistic, ks.pvalue, w))
        else:
            counts = pd.concat([r.value_counts(), c.value_counts()], axis=1).fillna(0).to_numpy().T
            chi = stats.chi2_contingency(counts, correction=False)
            js = jensenshannon(counts[0] / counts[0].sum(), counts[1] / counts[1].sum(), base=2)
            rows.append((col, chi.statistic, chi.pvalue, js))
    return pd.DataFrame(rows, columns=["column", "statistic", "p_value", "effect_size"])


def peak_mb(fn) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    reference = make(N_ROWS, 0, 0.0)
    current = make(N_ROWS, 1, 0.05)
    fit_s, profile = median_time(lambda: ReferenceProfile.fit(reference), 3)
    ours_s, report = median_time(lambda: drift_report(profile, current), 3)
    base_s, base = median_time(lambda: naive(reference, current), 1)
    ours_mb = peak_mb(lambda: drift_report(profile, current))
    fit_mb = peak_mb(lambda: ReferenceProfile.fit(reference))
    base_mb = peak_mb(lambda: naive(reference, current))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = report.table.set_index("column")
    b = base.set_index("column")
    num = [c for c in t.index if c.startswith("num_")]
    cat = [c for c in t.index if c.startswith("cat_")]
    # agreement on what both report: KS / chi-square p-values and the effect sizes
    agree = {
        "effect_size_max_abs_diff": float(
            np.max(np.abs(t.loc[t.index, "effect_size"] - b.loc[t.index, "effect_size"]))
        ),
        "ks_p_value_max_abs_diff": float(
            np.max(np.abs(t.loc[num, "p_value"] - b.loc[num, "p_value"]))
        ),
        "chi2_p_value_max_abs_diff": float(
            np.max(np.abs(t.loc[cat, "p_value"] - b.loc[cat, "p_value"]))
        ),
        "same_drift_verdicts_at_0.1": bool(
            ((t["effect_size"] >= 0.1) == (b.loc[t.index, "effect_size"] >= 0.1)).all()
        ),
    }

    rows = [
        ("drift_report(profile, current)", ours_s, ours_mb),
        ("naive scipy loop (ks_2samp, wasserstein, chi2, JS)", base_s, base_mb),
        ("ReferenceProfile.fit (once, not in the ratio)", fit_s, fit_mb),
    ]
    print(
        f"drift on {N_ROWS:,} rows x {N_NUM + N_CAT} columns ({N_NUM} numerical, {N_CAT} categorical)"
    )
    print(f"{'method':<55}{'seconds':>10}{'peak MB':>10}")
    for name, s, mb in rows:
        print(f"{name:<55}{s:>10.2f}{mb:>10.0f}")
    ratio = base_s / ours_s
    print(
        f"speed-up of drift_report over the naive loop: {ratio:.1f}x; "
        f"memory ratio {base_mb / ours_mb:.1f}x; process max RSS {rss_mb:.0f} MB"
    )
    print(f"target: < 5 s and < 1024 MB -> {'met' if ours_s < 5 and ours_mb < 1024 else 'NOT met'}")
    for k, v in agree.items():
        print(f"  {k}: {v}")
    print(report.summary())

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "monitoring",
                "rows": N_ROWS,
                "columns": N_NUM + N_CAT,
                "numerical": N_NUM,
                "categorical": N_CAT,
                "ours": {
                    "name": "drift_report(profile, current)",
                    "seconds": ours_s,
                    "peak_mb": ours_mb,
                },
                "baseline": {
                    "name": "naive per-column scipy loop",
                    "seconds": base_s,
                    "peak_mb": base_mb,
                },
                "profile_fit": {"seconds": fit_s, "peak_mb": fit_mb},
                "speedup": ratio,
                "memory_ratio": base_mb / ours_mb,
                "process_max_rss_mb": rss_mb,
                "agreement": agree,
                "verdict": report.summary(),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "pandas": pd.__version__,
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {OUT.relative_to(OUT.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
