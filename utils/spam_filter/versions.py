"""The filter's versions: which training labels each one learns from, and how it is trained.

Introduced in project/03_baseline_and_model.ipynb (version 1) and
project/04_error_analysis.ipynb (version 2); project/05_deployment.ipynb serves both.

- **v1** learns from the rules alone: the training comments on which the labeling functions'
  majority vote is 1 or 0; the comments where they abstain or tie are left out.
- **v2** adds the improvement chosen by error analysis: the training comments the rules could
  not label get the gold label of the annotation passes (:func:`.data.gold_labels`), as dev
  and test do, so v2 learns from every training comment.

Both are tuned on the gold labels of the dev split with :func:`utils.spam_filter.model.tune`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from utils.lineage import LineageLog
from utils.spam_filter.data import ProjectData, gold_labels, load_annotations
from utils.spam_filter.model import TuneResult, tune
from utils.spam_filter.rules import weak_labels
from utils.tracking import ExperimentTracker

__all__ = ["VERSIONS", "Version", "record_training_sets", "train", "training_set"]

Version = Literal["v1", "v2"]
#: The versions this module can build, oldest first.
VERSIONS: tuple[Version, ...] = ("v1", "v2")


def _check_data(data: Any) -> None:
    if not isinstance(data, ProjectData):
        raise TypeError(
            f"data must be the ProjectData of utils.spam_filter.data.project_data(), "
            f"got {type(data).__name__}"
        )


def training_set(data: ProjectData, version: Version) -> pd.DataFrame:
    """The training comments of ``version`` with their labels and where each label came from.

    Introduced in project/03_baseline_and_model.ipynb. Returns the rows of ``data.train`` that
    the version learns from, with two more columns: ``label`` (1 spam, 0 not spam) and
    ``label_source`` (``"rules"`` or ``"annotation"``, the gold label of
    :func:`utils.spam_filter.data.gold_labels`).
    """
    _check_data(data)
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    weak = weak_labels(data.train)
    voted = weak.to_numpy() != -1
    frame = data.train.assign(label=weak, label_source="rules")
    if version == "v1":
        kept: pd.DataFrame = frame.loc[voted]
        return kept
    annotated = gold_labels(data.train[~voted])
    frame.loc[annotated.index, "label"] = annotated["gold"].to_numpy()
    frame.loc[annotated.index, "label_source"] = "annotation"
    return frame.astype({"label": np.int64})


def train(
    data: ProjectData, version: Version, *, tracker: ExperimentTracker | None = None
) -> TuneResult:
    """Tune and fit ``version`` on its training set, choosing the settings on the dev gold labels.

    Introduced in project/03_baseline_and_model.ipynb; every later page builds its models with
    this call. With a ``tracker`` each candidate is logged as a run named after the version.
    """
    if tracker is not None and not isinstance(tracker, ExperimentTracker):
        raise TypeError(
            f"tracker must be an ExperimentTracker or None, got {type(tracker).__name__}"
        )
    frame = training_set(data, version)
    dev_gold = gold_labels(data.dev)["gold"]
    return tune(
        frame["CONTENT"],
        frame["label"],
        data.dev["CONTENT"],
        dev_gold,
        tracker=tracker,
        run_prefix=version,
        extra_params={"version": version, "n_train": len(frame)},
    )


def record_training_sets(data: ProjectData, log: LineageLog | None = None) -> dict[str, str]:
    """Record every version's training set in the lineage log; return ``{version: id}``.

    Introduced in project/04_error_analysis.ipynb; the later pages call it before recording
    models, so that a model's ancestry reaches back through its training set to the raw data.
    ``log`` defaults to ``data.lineage``.
    """
    _check_data(data)
    if log is not None and not isinstance(log, LineageLog):
        raise TypeError(f"log must be a LineageLog or None, got {type(log).__name__}")
    log = data.lineage if log is None else log
    ids = {
        "v1": log.record(
            "training set v1: rule labels where the rules vote",
            inputs=[data.train],
            output=training_set(data, "v1"),
            params={"labels": "majority vote of the rules"},
        )
    }
    ids["v2"] = log.record(
        "training set v2: rule labels, annotation labels where the rules abstain",
        inputs=[data.train, load_annotations()],
        output=training_set(data, "v2"),
        params={"labels": "rules; annotation passes A and B (published label breaks ties)"},
    )
    return ids
