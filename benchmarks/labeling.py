"""Labeling functions, their summary and majority vote: ``utils.labeling`` against Snorkel.

Run: ``python benchmarks/labeling.py`` (three to four minutes on 2 cores, most of it inside
Snorkel). Synthetic data with fixed seeds. Three workloads, each at three sizes:

- **LF application**: ten rules (seven keywords, a length rule, a likes rule, a digit-in-author
  rule) over 10,000, 30,000 and 100,000 comments. Ours row-wise (:func:`apply_lfs` with plain
  Python rules) and vectorised (the same rules over the whole column); Snorkel's
  ``PandasLFApplier`` with the *same* row-wise rule bodies; and the limit of any row-wise
  applier: the time spent inside the rule bodies themselves, each called directly over
  pre-built rows in a plain loop. Snorkel and our row-wise path run on ``object`` text columns
  (the faster case for both); the vectorised rules run on pandas' Arrow-backed strings
  (``string[pyarrow]``, the default from pandas 3), whose ``.str`` methods run in compiled code.
- **LF summary**: :func:`lf_summary` with gold labels on a 100,000, 300,000 and 1,000,000 x 10
  label matrix (3 classes), against Snorkel's ``LFAnalysis.lf_summary`` and against the NumPy a
  practitioner writes over the integer matrix (row-wise reductions of the 2-D array).
- **Majority vote**: :func:`majority_vote` on the same matrices, against Snorkel's
  ``MajorityLabelVoter`` and the same kind of NumPy baseline (ties abstain everywhere).

For information (no baseline, no target), the cost of the label model's dependency handling:
:class:`DawidSkeneLabelModel` fit + predict on the 1,000,000 x 10 matrix with
``dependencies="auto"`` (the default) and ``"none"``.

Every implementation is timed the same way: the same rounds, run in turn (ours, then each
baseline, three times over), at full size, and the median is kept. Answers are checked, not only
timed: the label matrices must be identical to Snorkel's, the summaries equal to its numbers and
the votes identical. A missing Snorkel is reported and its rows are left out. Results go to
``benchmarks/results/labeling.json`` in the format of ``benchmarks/_results.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import curve, machine_info, print_targets, target, write_results  # noqa: E402
from _timing import measure  # noqa: E402

from utils.labeling.aggregate import DawidSkeneLabelModel, majority_vote  # noqa: E402
from utils.labeling.analysis import lf_summary  # noqa: E402
from utils.labeling.lf import ABSTAIN, apply_lfs, labeling_function  # noqa: E402

APPLY_SIZES = (10_000, 30_000, 100_000)
MATRIX_SIZES = (100_000, 300_000, 1_000_000)
M, K = 10, 3
ROUNDS = 3
SPAM, HAM = 1, 0
HAS_SNORKEL = importlib.util.find_spec("snorkel") is not None
COLUMNS = ["Coverage", "Overlaps", "Conflicts", "Correct", "Incorrect", "Emp. Acc."]

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


# ------------------------------------------------------------------------------ application
def make_comments(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 15, n)
    picks = rng.choice(WORDS, lengths.sum())
    text = [" ".join(p) for p in np.split(picks, np.cumsum(lengths)[:-1])]
    authors = rng.choice(["anna", "bot123", "carl", "spammer"], n)
    return pd.DataFrame({"text": text, "likes": rng.integers(0, 500, n), "author": authors})


def rule_bodies() -> dict[str, Callable[[Any], int]]:
    """The ten row-wise rules, written once: each reads ``x.text``, ``x.likes`` or ``x.author``."""

    def keyword(word: str, label: int) -> Callable[[Any], int]:
        return lambda x: label if word in x.text else ABSTAIN

    words = [("free", SPAM), ("http", SPAM), ("subscribe", SPAM), ("check out", SPAM)]
    words += [("song", HAM), ("view", HAM), ("love", HAM)]
    bodies = {f"kw_{w}": keyword(w, lab) for w, lab in words}
    bodies["short"] = lambda x: HAM if len(x.text) < 30 else ABSTAIN
    bodies["many_likes"] = lambda x: HAM if x.likes > 400 else ABSTAIN
    bodies["bot_author"] = lambda x: SPAM if any(ch.isdigit() for ch in x.author) else ABSTAIN
    return bodies


def vectorised_lfs() -> list[Any]:
    """The same ten rules over the whole frame."""

    def keyword(word: str, label: int) -> Any:
        @labeling_function(f"kw_{word}", vectorized=True)
        def lf(df: pd.DataFrame) -> np.ndarray:
            return np.where(df["text"].str.contains(word, regex=False), label, ABSTAIN)

        return lf

    words = [("free", SPAM), ("http", SPAM), ("subscribe", SPAM), ("check out", SPAM)]
    words += [("song", HAM), ("view", HAM), ("love", HAM)]
    lfs = [keyword(w, lab) for w, lab in words]

    @labeling_function("short", vectorized=True)
    def short(df: pd.DataFrame) -> np.ndarray:
        return np.where(df["text"].str.len() < 30, HAM, ABSTAIN)

    @labeling_function("many_likes", vectorized=True)
    def many_likes(df: pd.DataFrame) -> np.ndarray:
        return np.where(df["likes"].to_numpy() > 400, HAM, ABSTAIN)

    @labeling_function("bot_author", vectorized=True)
    def bot_author(df: pd.DataFrame) -> np.ndarray:
        # A column with few distinct values: test each distinct value once, then look it up.
        codes, authors = pd.factorize(df["author"])
        return np.where(np.asarray(authors.str.contains(r"\d"))[codes], SPAM, ABSTAIN)

    return [*lfs, short, many_likes, bot_author]


def inside_bodies(rows: list[Any], bodies: list[Callable[[Any], int]]) -> list[list[int]]:
    """The limit of any row-wise applier: each rule body called directly, in a plain loop."""
    return [[f(x) for x in rows] for f in bodies]


def bench_apply(n: int, snorkel: Any) -> dict[str, Any]:
    plain = make_comments(n)
    arrow = plain.astype({"text": "string[pyarrow]", "author": "string[pyarrow]"})
    bodies = rule_bodies()
    row_lfs = [labeling_function(name)(f) for name, f in bodies.items()]
    vec_lfs = vectorised_lfs()
    rows = list(plain.itertuples(index=False))  # built once, outside the timing
    fns: dict[str, Callable[[], Any]] = {
        "ours, row-wise": lambda: apply_lfs(plain, row_lfs, cardinality=2).L,
        "ours, vectorised": lambda: apply_lfs(arrow, vec_lfs, cardinality=2).L,
        "inside the LF bodies": lambda: inside_bodies(rows, list(bodies.values())),
    }
    if snorkel is not None:
        applier = snorkel.PandasLFApplier(
            [snorkel.LabelingFunction(k, f) for k, f in bodies.items()]
        )
        fns["Snorkel PandasLFApplier"] = lambda: applier.apply(plain, progress_bar=False)
    seconds, answers = measure(fns, ROUNDS)
    ours = answers["ours, row-wise"]
    same = bool(np.array_equal(ours, answers["ours, vectorised"]))
    same &= bool(np.array_equal(ours, np.array(answers["inside the LF bodies"]).T))
    if snorkel is not None:
        same &= bool(np.array_equal(ours, answers["Snorkel PandasLFApplier"]))
    return {"rows": n, "seconds": seconds, "identical": same}


# ------------------------------------------------------------------------ summary and vote
def make_matrix(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    L = np.full((n, M), -1, dtype=np.int8)
    acc, cov = rng.uniform(0.55, 0.95, M), rng.uniform(0.05, 0.5, M)
    for j in range(M):
        votes = rng.random(n) < cov[j]
        wrong = (y + rng.integers(1, K, n)) % K
        L[votes, j] = np.where(rng.random(n) < acc[j], y, wrong)[votes]
    return L, y


def numpy_summary(L: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The NumPy a practitioner writes: reductions of the 2-D matrix along its rows."""
    voted = L != -1
    multi = voted.sum(axis=1) > 1
    hi = L.max(axis=1)
    lo = np.where(voted, L, K).min(axis=1)
    conflict = (hi != -1) & (lo != hi)
    n_votes = voted.sum(axis=0)
    correct = (y[:, None] == L).sum(axis=0)
    return pd.DataFrame(
        {
            "Coverage": n_votes / len(L),
            "Overlaps": (voted & multi[:, None]).sum(axis=0) / len(L),
            "Conflicts": (voted & conflict[:, None]).sum(axis=0) / len(L),
            "Correct": correct,
            "Incorrect": n_votes - correct,
            "Emp. Acc.": correct / n_votes,
        }
    )


def numpy_vote(L: np.ndarray) -> np.ndarray:
    """Votes per class by row-wise sums, the top class, -1 on ties and rows without votes."""
    counts = np.stack([(c == L).sum(axis=1) for c in range(K)], axis=1)
    top = counts.max(axis=1)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    return np.where(tied | (top == 0), -1, counts.argmax(axis=1))


def bench_matrix(n: int, snorkel: Any, models: Any) -> dict[str, Any]:
    L, y = make_matrix(n)
    L64 = L.astype(np.int64)  # Snorkel indexes one-hot arrays with the labels
    summary: dict[str, Callable[[], Any]] = {
        "ours": lambda: lf_summary(L, Y=y, cardinality=K),
        "NumPy baseline": lambda: numpy_summary(L, y),
    }
    vote: dict[str, Callable[[], Any]] = {
        "ours": lambda: majority_vote(L, cardinality=K),
        "NumPy baseline": lambda: numpy_vote(L),
    }
    if snorkel is not None:
        summary["Snorkel LFAnalysis"] = lambda: snorkel.LFAnalysis(L64).lf_summary(Y=y)
        voter = models.MajorityLabelVoter(cardinality=K)
        vote["Snorkel MajorityLabelVoter"] = lambda: voter.predict(L64, tie_break_policy="abstain")
    s_seconds, s_answers = measure(summary, ROUNDS)
    v_seconds, v_answers = measure(vote, ROUNDS)
    ours = s_answers["ours"]
    same_summary = all(
        np.allclose(ours[COLUMNS].to_numpy(float), other[COLUMNS].to_numpy(float))
        for name, other in s_answers.items()
        if name != "ours"
    )
    if snorkel is not None:  # Snorkel's polarity lists too
        theirs = s_answers["Snorkel LFAnalysis"]["Polarity"]
        same_summary &= [list(p) for p in ours["Polarity"]] == [[int(v) for v in p] for p in theirs]
    same_vote = all(np.array_equal(v_answers["ours"], other) for other in v_answers.values())
    return {
        "rows": n,
        "summary_seconds": s_seconds,
        "vote_seconds": v_seconds,
        "summary_identical": bool(same_summary),
        "vote_identical": bool(same_vote),
    }


def bench_label_model() -> dict[str, float]:
    """Fit + predict of the label model at full size, with and without dependency handling."""
    L, _ = make_matrix(MATRIX_SIZES[-1])
    fns = {
        f"dependencies={dep!r}": lambda dep=dep: DawidSkeneLabelModel(K, dependencies=dep)
        .fit(L)
        .predict(L)
        for dep in ("auto", "none")
    }
    return measure(fns, ROUNDS)[0]


# ------------------------------------------------------------------------------------ report
def _series(runs: list[dict[str, Any]], key: str) -> dict[str, tuple[list[float], list[float]]]:
    names = list(runs[0][key])
    return {name: ([r["rows"] for r in runs], [r[key][name] for r in runs]) for name in names}


def _targets(apply_run: dict[str, Any], matrix_run: dict[str, Any]) -> list[dict[str, Any]]:
    t = apply_run["seconds"]
    rows = []
    limit = t["ours, row-wise"] / t["inside the LF bodies"]
    rows.append(
        target(
            "LF application 100k x 10, row-wise",
            "time inside the LF bodies",
            "within 1.5x",
            f"{limit:.2f}x the bodies' time ({t['inside the LF bodies']:.3f} s)",
            limit <= 1.5 and apply_run["identical"],
        )
    )
    if "Snorkel PandasLFApplier" in t:
        snorkel_s = t["Snorkel PandasLFApplier"]
        same = "identical" if apply_run["identical"] else "DIFFERENT"
        for path, goal in (("row-wise", 5), ("vectorised", 50)):
            ratio = snorkel_s / t[f"ours, {path}"]
            rows.append(
                target(
                    f"LF application 100k x 10, {path}",
                    "Snorkel PandasLFApplier",
                    f">= {goal}x, identical matrix",
                    f"{ratio:,.1f}x, {same}",
                    ratio >= goal and apply_run["identical"],
                )
            )
    s, v = matrix_run["summary_seconds"], matrix_run["vote_seconds"]
    for kind, seconds, same, anchor, goal in (
        ("LF summary", s, matrix_run["summary_identical"], "Snorkel LFAnalysis", 20),
        ("majority vote", v, matrix_run["vote_identical"], "Snorkel MajorityLabelVoter", 1),
    ):
        word = "identical" if same else "DIFFERENT"
        for against, want in ((anchor, goal), ("NumPy baseline", 1)):
            if against not in seconds:
                continue
            ratio = seconds[against] / seconds["ours"]
            met = ratio >= want if want > 1 else ratio > 1
            goal_text = f">= {want}x" if want > 1 else "> 1x"
            rows.append(
                target(
                    f"{kind} 1M x 10",
                    against,
                    f"{goal_text}, same answers",
                    f"{ratio:,.1f}x, {word}",
                    met and same,
                )
            )
    return rows


def main() -> None:
    snorkel = models = None
    missing = []
    if HAS_SNORKEL:
        import snorkel.labeling as snorkel
        import snorkel.labeling.model as models
    else:
        missing.append("snorkel")
        print("snorkel is not installed: its rows are skipped (pip install -e .[bench])")
    load_before = os.getloadavg()
    apply_runs, matrix_runs = [], []
    for n in APPLY_SIZES:
        run = bench_apply(n, snorkel)
        apply_runs.append(run)
        timings = ", ".join(f"{k} {v:.3f} s" for k, v in run["seconds"].items())
        print(f"LF application, {n:,} rows x {M}: {timings}; identical: {run['identical']}")
    for n in MATRIX_SIZES:
        run = bench_matrix(n, snorkel, models)
        matrix_runs.append(run)
        for kind in ("summary", "vote"):
            timings = ", ".join(f"{k} {v:.3f} s" for k, v in run[f"{kind}_seconds"].items())
            print(f"{kind}, {n:,} x {M}: {timings}; identical: {run[f'{kind}_identical']}")
    label_model = bench_label_model()
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in label_model.items())
    print(f"label model fit + predict, {MATRIX_SIZES[-1]:,} x {M} (information): {timings}")
    targets = _targets(apply_runs[-1], matrix_runs[-1])
    checks = [
        {
            "name": f"LF application {r['rows']:,} rows: ours (row-wise and vectorised), the "
            "bodies' loop and Snorkel give the same matrix",
            "ok": r["identical"],
            "detail": "np.array_equal on the label matrices",
        }
        for r in apply_runs
    ] + [
        {
            "name": f"{kind} {r['rows']:,} x {M}: same answers as every baseline",
            "ok": r[f"{kind}_identical"],
            "detail": "summary columns allclose, polarities equal; votes array_equal",
        }
        for r in matrix_runs
        for kind in ("summary", "vote")
    ]
    curves = [
        curve(
            "apply 10 labeling functions",
            "rows",
            "seconds (median)",
            _series(apply_runs, "seconds"),
        ),
        curve(
            "lf_summary with gold labels, 10 LFs",
            "rows",
            "seconds (median)",
            _series(matrix_runs, "summary_seconds"),
        ),
        curve(
            "majority vote, 10 LFs, 3 classes",
            "rows",
            "seconds (median)",
            _series(matrix_runs, "vote_seconds"),
        ),
    ]
    path = write_results(
        "labeling",
        command="python benchmarks/labeling.py",
        machine=machine_info(["numpy", "pandas", "pyarrow", "snorkel", "torch"]),
        curves=curves,
        targets=targets,
        missing=missing,
        checks=checks,
        extra={
            "rounds": ROUNDS,
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "runs": {"apply": apply_runs, "matrix": matrix_runs},
            "label_model_fit_predict_s": label_model,
        },
    )
    print_targets(targets, missing)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
