"""The spam filter's model: text pipeline, candidate settings and tracked tuning on dev.

Introduced in project/03_baseline_and_model.ipynb. The model is a scikit-learn ``Pipeline``
that owns all of its pre-processing, so the file that is served (project/05_deployment.ipynb)
is the whole thing: :func:`utils.pipeline.normalise_comments`, TF-IDF features of words or of
character n-grams, and a logistic regression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from utils._validation import (
    as_1d,
    as_finite_float,
    as_label_pair,
    check_choice,
    check_probabilities,
    check_probability,
    check_same_index,
    check_same_length,
)
from utils.error_analysis.skewed import binary_report
from utils.pipeline import normalise_comments
from utils.tracking import ExperimentTracker, fingerprint_data, source_hash

__all__ = [
    "CLASS_NAMES",
    "PARAM_GRID",
    "TuneResult",
    "band_metrics",
    "decision_metrics",
    "evaluate",
    "filter_app",
    "make_model",
    "review_threshold",
    "tune",
]

#: Names of the model's two outputs, in order (label 0, label 1).
CLASS_NAMES: tuple[str, str] = ("not spam", "spam")

#: The settings tried when tuning (what a feature is, and the regularisation strength).
PARAM_GRID: tuple[dict[str, Any], ...] = tuple(
    {"analyzer": analyzer, "C": C} for analyzer in ("word", "char_wb") for C in (1.0, 10.0, 100.0)
)


def make_model(*, analyzer: Literal["word", "char_wb"] = "word", C: float = 10.0) -> Pipeline:
    """A fresh, unfitted spam filter: normalise, TF-IDF, logistic regression.

    Used by :func:`tune`, which fits one per setting (project/03_baseline_and_model.ipynb).

    Args:
        analyzer: ``"word"`` for words and word pairs, ``"char_wb"`` for character n-grams of
            2 to 5 characters inside word boundaries, which also catch misspellings ("subscribe",
            "subscrib", "sub") and run-together spam ("checkoutmychannel").
        C: inverse regularisation strength of the logistic regression.
    """
    if analyzer not in ("word", "char_wb"):
        raise ValueError(f"analyzer must be 'word' or 'char_wb', got {analyzer!r}")
    if not isinstance(C, (int, float)) or isinstance(C, bool) or not np.isfinite(C) or C <= 0:
        raise ValueError(f"C must be a positive number, got {C!r}")
    ngrams = (1, 2) if analyzer == "word" else (2, 5)
    return Pipeline(
        [
            ("normalise", FunctionTransformer(normalise_comments)),
            ("tfidf", TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True)),
            ("classify", LogisticRegression(C=float(C), max_iter=5000)),
        ]
    )


def decision_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """The project's metrics of a set of decisions: accuracy, precision, recall, F1, FPR.

    Introduced in project/03_baseline_and_model.ipynb. Spam (1) is the positive class; the
    false-positive rate (``fpr``) is the share of legitimate comments flagged, the number the
    scoping document caps. Undefined values (no predicted spam, say) are NaN. ``y_true`` and
    ``y_pred`` are paired by position (two Series must share their index).
    """
    y_true, y_pred = as_label_pair(y_true, y_pred)
    report = binary_report(y_true, predictions=y_pred)
    (tn, fp), _ = report.confusion
    return {
        "accuracy": report.accuracy,
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "fpr": float(fp / (fp + tn)) if fp + tn else float("nan"),
    }


def band_metrics(y_true: Any, proba: Any, threshold: float) -> dict[str, float]:
    """The scoping document's metrics of the filter with its review band: one definition for all.

    Introduced in project/04_error_analysis.ipynb (the audit before release) and used for
    production traffic in project/06_monitoring.ipynb. ``proba`` holds the model's two
    probabilities per comment; a comment whose confidence (its top probability) is below
    ``threshold`` goes to a moderator, as the server's ``min_confidence`` withholds it. Returns
    :func:`decision_metrics` of the decisions the filter takes on its own (the most probable
    label of every other comment), plus ``review_share``, the share sent to moderators.
    ``threshold=0`` scores every comment, a filter without a band. ``y_true`` and ``proba``
    are paired by position (a Series and a DataFrame must share their index).
    """
    check_same_index(y_true=y_true, proba=proba)
    y = as_1d(y_true, "y_true")
    p = as_finite_float(proba, "proba")
    if p.ndim != 2 or p.shape[1] != len(CLASS_NAMES):
        raise ValueError(f"proba must have shape (n, {len(CLASS_NAMES)}), got {p.shape}")
    p = check_probabilities(p, "proba")
    check_same_length(y_true=y, proba=p)
    check_probability("threshold", threshold)
    automated = p.max(axis=1) >= threshold
    if not automated.any():
        raise ValueError(f"threshold={threshold!r} sends every comment to review; nothing to score")
    scores = decision_metrics(y[automated], p[automated].argmax(axis=1))
    return scores | {"review_share": float(1 - automated.mean())}


def evaluate(model: Any, texts: Any, labels: Any) -> dict[str, float]:
    """:func:`decision_metrics` of ``model``'s predictions on labelled comments.

    Introduced in project/03_baseline_and_model.ipynb. ``texts`` and ``labels`` are paired by
    position (two Series must share their index).
    """
    check_same_index(texts=texts, labels=labels)
    y = as_1d(labels, "labels")
    x = as_1d(texts, "texts")
    check_same_length(texts=x, labels=y)
    return decision_metrics(y, model.predict(x))


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` returns.

    Attributes:
        model: the best candidate, fitted on the training comments.
        params: its settings.
        table: one row per candidate, in the order tried: its settings and dev metrics.
    """

    model: Pipeline
    params: Mapping[str, Any]
    table: pd.DataFrame


def tune(
    train_texts: Any,
    train_labels: Any,
    dev_texts: Any,
    dev_labels: Any,
    *,
    grid: Iterable[Mapping[str, Any]] = PARAM_GRID,
    metric: str = "f1",
    tracker: ExperimentTracker | None = None,
    run_prefix: str = "model",
    extra_params: Mapping[str, Any] | None = None,
) -> TuneResult:
    """Fit one model per setting of ``grid``, score each on dev, return the best.

    Introduced in project/03_baseline_and_model.ipynb. Ties go to the setting tried first, so
    the result is the same on every run. With a ``tracker`` every candidate is logged as a run
    (named ``run_prefix`` plus its settings) with the training data's fingerprint and the
    source hash of :func:`make_model`, so two runs that differ in data or code can be told apart.
    ``extra_params`` are logged with every run (for example which labels were used). Texts
    and labels are paired by position: two Series with different indexes are refused.
    """
    grid = list(grid)
    if not grid:
        raise ValueError("grid is empty")
    if not all(isinstance(g, Mapping) for g in grid):
        raise TypeError("grid must be a list of settings (mappings of argument to value)")
    check_choice("metric", metric, ("accuracy", "precision", "recall", "f1"))
    check_same_index(train_texts=train_texts, train_labels=train_labels)
    check_same_index(dev_texts=dev_texts, dev_labels=dev_labels)
    x_train, y_train = as_1d(train_texts, "train_texts"), as_1d(train_labels, "train_labels")
    check_same_length(train_texts=x_train, train_labels=y_train)
    if len(np.unique(y_train)) < 2:
        raise ValueError("train_labels hold a single class; a classifier needs both")
    fingerprint = fingerprint_data(pd.DataFrame({"text": x_train, "label": y_train}))
    code = source_hash(make_model)
    rows, models = [], []
    for params in grid:
        model = make_model(**params).fit(x_train, y_train)
        scores = evaluate(model, dev_texts, dev_labels)
        if tracker is not None:
            name = run_prefix + ": " + ", ".join(f"{k}={v}" for k, v in params.items())
            tracker.log_run(
                name=name,
                params={**(extra_params or {}), **params},
                metrics={f"dev_{k}": v for k, v in scores.items()},
                data_fingerprint=fingerprint,
                code_version=code,
            )
        rows.append({**params, **{f"dev_{k}": v for k, v in scores.items()}})
        models.append(model)
    table = pd.DataFrame(rows)
    best = int(np.argmax(table[f"dev_{metric}"].to_numpy()))
    return TuneResult(model=models[best], params=dict(grid[best]), table=table)


def review_threshold(model: Any, texts: Any, share: float) -> float:
    """The confidence below which ``share`` of ``texts`` fall: the lower edge of the review band.

    Introduced in project/04_error_analysis.ipynb. A prediction whose confidence (its top
    probability) is below the threshold is not acted on but sent to a moderator; served with
    ``min_confidence=threshold``, the server withholds exactly those. Choose it on dev, with
    ``share`` the moderators' capacity, never on the test set.
    """
    check_probability("share", share, open_low=True, open_high=True)
    x = as_1d(texts, "texts")
    confidence = check_probabilities(model.predict_proba(x), "the model's probabilities").max(
        axis=1
    )
    return float(np.quantile(confidence, share))


def filter_app(predictor: Any, version: str, **options: Any) -> Any:
    """The spam filter's FastAPI app: text input, :data:`CLASS_NAMES`, named ``spam-filter``.

    Introduced in project/05_deployment.ipynb and used again in project/06_monitoring.ipynb.
    ``predictor`` is a fitted pipeline or what :func:`utils.deployment.serving.load_model`
    returns; ``options`` go to :func:`utils.deployment.serving.create_app` (for example
    ``batch_wait_ms``). FastAPI is imported only when this is called.
    """
    if not isinstance(version, str) or not version:
        raise TypeError(f"version must be a non-empty str, got {version!r}")
    from utils.deployment.serving import create_app

    return create_app(
        predictor,
        input_type="text",
        model_name="spam-filter",
        model_version=version,
        class_names=list(CLASS_NAMES),
        **options,
    )
