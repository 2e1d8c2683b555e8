"""Labeling functions, their analysis and majority vote: ``utils.labeling`` against ``df.apply``.

Run: ``python benchmarks/labeling.py`` (about a minute on 2 cores). The baseline is a row-wise
pandas ``df.apply(..., axis=1)``, the pattern Snorkel's ``PandasLFApplier`` and
``MajorityLabelVoter`` follow (Snorkel itself is not installed here). Workloads, synthetic data
with fixed seeds:

- apply 10 row-wise labeling functions to 100,000 comments with :func:`apply_lfs`
  (target: at least 10x the baseline);
- apply the same 10 rules written as vectorised functions (target: at least 50x). The text
  columns use pandas' Arrow-backed string dtype (``string[pyarrow]``, the default from pandas 3),
  on which ``.str`` methods run in compiled code; on plain ``object`` columns they loop in
  Python and the vectorised rules run about half as fast. The baseline runs on ``object``
  columns, its faster case;
- ``lf_summary`` with gold labels on a 1,000,000 x 20 label matrix (3 classes), against a
  per-row ``apply`` that computes each row's coverage, overlap, conflict and correctness flags;
- ``majority_vote`` on the same 1,000,000 x 20 matrix, against a per-row ``apply`` with a
  ``Counter`` (ties abstain in both);
- for information, ``DawidSkeneLabelModel`` fit + predict on that matrix (no baseline).

The baseline is slow (about 0.1 to 0.2 ms per row), so it is timed once on the first 20,000
rows and scaled linearly to the full size; the output says so. Every comparison checks that
both sides give the same answers on the sample. Results go to ``benchmarks/results/labeling.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _timing import median_time  # noqa: E402

from utils.labeling.aggregate import DawidSkeneLabelModel, majority_vote  # noqa: E402
from utils.labeling.analysis import lf_summary  # noqa: E402
from utils.labeling.lf import ABSTAIN, apply_lfs, labeling_function  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "labeling.json"
N_ROWS = 100_000
N_MATRIX, M_MATRIX, K = 1_000_000, 20, 3
SAMPLE = 20_000
SPAM, HAM = 1, 0

WORDS = np.array(
    [
        "check",
        "out",
        "my",
        "channel",
        "free",
        "gift",
        "subscribe",
        "http",
        "www",
        "song",
        "love",
        "view",
        "great",
        "video",
        "amazing",
        "lol",
        "follow",
        "me",
        "please",
        "best",
        "music",
        "ever",
    ]
)


def make_comments(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 15, n)
    picks = rng.choice(WORDS, lengths.sum())
    cuts = np.cumsum(lengths)[:-1]
    text = [" ".join(p) for p in np.split(picks, cuts)]
    return pd.DataFrame(
        {
            "text": pd.Series(text, dtype="string[pyarrow]"),
            "likes": rng.integers(0, 500, n),
            "author": pd.Series(
                rng.choice(["anna", "bot123", "carl", "spammer"], n), dtype="string[pyarrow]"
            ),
        }
    )


# Ten rules, each written twice: once per row, once for the whole frame.
def _kw(word: str, label: int):
    @labeling_function(f"kw_{word}")
    def row(x):
        return label if word in x.text else ABSTAIN

    @labeling_function(f"kw_{word}", vectorized=True)
    def vec(df):
        return np.where(df["text"].str.contains(word, regex=False), label, ABSTAIN)

    return row, vec


def build_lfs():
    pairs = [
        _kw(w, lab)
        for w, lab in [
            ("free", SPAM),
            ("http", SPAM),
            ("subscribe", SPAM),
            ("check out", SPAM),
            ("song", HAM),
            ("view", HAM),
            ("love", HAM),
        ]
    ]

    @labeling_function("short")
    def short_row(x):
        return HAM if len(x.text) < 30 else ABSTAIN

    @labeling_function("short", vectorized=True)
    def short_vec(df):
        return np.where(df["text"].str.len() < 30, HAM, ABSTAIN)

    @labeling_function("many_likes")
    def likes_row(x):
        return HAM if x.likes > 400 else ABSTAIN

    @labeling_function("many_likes", vectorized=True)
    def likes_vec(df):
        return np.where(df["likes"].to_numpy() > 400, HAM, ABSTAIN)

    @labeling_function("bot_author")
    def bot_row(x):
        return SPAM if any(ch.isdigit() for ch in x.author) else ABSTAIN

    @labeling_function("bot_author", vectorized=True)
    def bot_vec(df):
        # A column with few distinct values: test each distinct value once, then look it up.
        codes, authors = pd.factorize(df["author"])
        return np.where(np.asarray(authors.str.contains(r"\d"))[codes], SPAM, ABSTAIN)

    pairs += [(short_row, short_vec), (likes_row, likes_vec), (bot_row, bot_vec)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def baseline_apply(df: pd.DataFrame, lfs) -> np.ndarray:
    """Snorkel's PandasLFApplier pattern: every LF on each row, via ``df.apply(axis=1)``."""
    rows = df.apply(lambda x: [lf(x) for lf in lfs], axis=1)
    return np.array(rows.tolist(), dtype=np.int64)


def baseline_summary(L: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """Per-row flags by ``apply``, then column sums: coverage, overlaps, conflicts, correct."""
    frame = pd.DataFrame(L)
    frame["Y"] = Y
    m = L.shape[1]

    def row_flags(r):
        votes = r.to_numpy()[:m]
        voted = votes != -1
        multi = voted.sum() > 1
        labels = set(votes[voted].tolist())
        conflict = len(labels) > 1
        return np.concatenate([voted, voted & multi, voted & conflict, votes == r["Y"]])

    flags = np.stack(frame.apply(row_flags, axis=1).to_numpy())
    n = len(L)
    cov, ovl, con, cor = (flags[:, i * m : (i + 1) * m].sum(axis=0) for i in range(4))
    return pd.DataFrame(
        {
            "Coverage": cov / n,
            "Overlaps": ovl / n,
            "Conflicts": con / n,
            "Correct": cor,
            "Incorrect": cov - cor,
        }
    )


def baseline_vote(L: np.ndarray) -> np.ndarray:
    """Snorkel's MajorityLabelVoter pattern: a Counter per row (ties abstain)."""

    def vote(r):
        tally = Counter(v for v in r if v != -1)
        if not tally:
            return -1
        top = tally.most_common(2)
        return -1 if len(top) > 1 and top[0][1] == top[1][1] else top[0][0]

    return pd.DataFrame(L).apply(lambda r: vote(r.to_numpy()), axis=1).to_numpy()


def timed_once(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def make_matrix(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, N_MATRIX)
    L = np.full((N_MATRIX, M_MATRIX), -1, dtype=np.int8)
    acc = rng.uniform(0.55, 0.95, M_MATRIX)
    cov = rng.uniform(0.05, 0.5, M_MATRIX)
    for j in range(M_MATRIX):
        votes = rng.random(N_MATRIX) < cov[j]
        wrong = (y + rng.integers(1, K, N_MATRIX)) % K
        L[votes, j] = np.where(rng.random(N_MATRIX) < acc[j], y, wrong)[votes]
    return L, y


def main() -> None:
    results = []
    scale_rows = N_ROWS / SAMPLE
    scale_matrix = N_MATRIX / SAMPLE

    df = make_comments(N_ROWS)
    row_lfs, vec_lfs = build_lfs()
    # The baseline gets its fastest input: df.apply is quicker on object columns than on Arrow.
    plain = df.iloc[:SAMPLE].astype({"text": object, "author": object})
    t_base, L_base = timed_once(lambda: baseline_apply(plain, row_lfs))
    t_row, res_row = median_time(lambda: apply_lfs(df, row_lfs, cardinality=2))
    t_vec, res_vec = median_time(lambda: apply_lfs(df, vec_lfs, cardinality=2))
    assert np.array_equal(res_row.L[:SAMPLE], L_base), "row-wise LFs differ from the baseline"
    assert np.array_equal(res_row.L, res_vec.L), "vectorised LFs differ from row-wise ones"
    base_full = t_base * scale_rows
    results.append(
        {
            "workload": "apply 10 row-wise LFs, 100k rows",
            "ours_s": t_row,
            "baseline": "df.apply(axis=1)",
            "baseline_sample_s": t_base,
            "baseline_s": base_full,
            "target_ratio": 10,
            "ratio": base_full / t_row,
            "same_answers": True,
        }
    )
    results.append(
        {
            "workload": "apply 10 vectorised LFs, 100k rows",
            "ours_s": t_vec,
            "baseline": "df.apply(axis=1)",
            "baseline_sample_s": t_base,
            "baseline_s": base_full,
            "target_ratio": 50,
            "ratio": base_full / t_vec,
            "same_answers": True,
        }
    )

    L, y = make_matrix()
    t_base, table_base = timed_once(lambda: baseline_summary(L[:SAMPLE], y[:SAMPLE]))
    t_ours, _ = median_time(lambda: lf_summary(L, Y=y, cardinality=K))
    ours_sample = lf_summary(L[:SAMPLE], Y=y[:SAMPLE], cardinality=K)
    cols = ["Coverage", "Overlaps", "Conflicts", "Correct", "Incorrect"]
    assert np.allclose(ours_sample[cols].to_numpy(float), table_base[cols].to_numpy(float))
    base_full = t_base * scale_matrix
    results.append(
        {
            "workload": "lf_summary with gold labels, 1M x 20",
            "ours_s": t_ours,
            "baseline": "df.apply(axis=1) per-row flags",
            "baseline_sample_s": t_base,
            "baseline_s": base_full,
            "target_ratio": None,
            "ratio": base_full / t_ours,
            "same_answers": True,
        }
    )

    t_base, mv_base = timed_once(lambda: baseline_vote(L[:SAMPLE]))
    t_ours, mv = median_time(lambda: majority_vote(L, cardinality=K))
    assert np.array_equal(mv[:SAMPLE], mv_base), "majority vote differs from the baseline"
    base_full = t_base * scale_matrix
    results.append(
        {
            "workload": "majority_vote, 1M x 20, 3 classes",
            "ours_s": t_ours,
            "baseline": "df.apply(axis=1) + Counter",
            "baseline_sample_s": t_base,
            "baseline_s": base_full,
            "target_ratio": None,
            "ratio": base_full / t_ours,
            "same_answers": True,
        }
    )

    t_ds, model = timed_once(lambda: DawidSkeneLabelModel(K).fit(L))
    t_pred, pred = timed_once(lambda: model.predict(L))
    voted = pred != -1
    results.append(
        {
            "workload": "DawidSkeneLabelModel fit + predict, 1M x 20",
            "ours_s": t_ds + t_pred,
            "baseline": None,
            "baseline_sample_s": None,
            "baseline_s": None,
            "target_ratio": None,
            "ratio": None,
            "same_answers": None,
            "accuracy_on_voted": float((pred[voted] == y[voted]).mean()),
            "majority_vote_accuracy_on_voted": float((mv[mv != -1] == y[mv != -1]).mean()),
        }
    )

    print(
        f"Baseline timed once on the first {SAMPLE:,} rows and scaled linearly to the full size "
        f"(x{scale_rows:g} for 100k rows, x{scale_matrix:g} for 1M rows); ours: median of 3 runs."
    )
    print(f"{'workload':<46} {'ours (s)':>9} {'baseline (s)':>13} {'ratio':>8} {'target':>7}")
    for r in results:
        base = "-" if r["baseline_s"] is None else f"{r['baseline_s']:.2f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.0f}x"
        target = "-" if r["target_ratio"] is None else f">={r['target_ratio']}x"
        print(f"{r['workload']:<46} {r['ours_s']:>9.3f} {base:>13} {ratio:>8} {target:>7}")
    ds = results[-1]
    print(
        f"Dawid-Skene accuracy on voted rows {ds['accuracy_on_voted']:.3f} vs majority vote "
        f"{ds['majority_vote_accuracy_on_voted']:.3f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "baseline_note": f"baseline timed on {SAMPLE} rows and scaled linearly",
        "results": results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
