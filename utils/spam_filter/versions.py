"""The filter's versions: which training labels each one learns from, and how it is trained.

Introduced in project/03_baseline_and_model.ipynb (version 1) and
project/04_error_analysis.ipynb (version 2); project/05_deployment.ipynb serves both.

- **v1** learns from the rules alone: the training comments on which the labeling functions'
  majority vote is 1 or 0; the comments where they abstain or tie are left out.
- **v2** adds the improvement chosen by error analysis: the training comments the rules could
  not label were labelled by hand, the same way as the gold set, so v2 learns from every
  training comment.

Both are tuned on the gold labels of the dev split with :func:`utils.spam_filter.model.tune`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from utils.spam_filter.data import ProjectData, gold_labels
from utils.spam_filter.model import TuneResult, tune
from utils.spam_filter.rules import weak_labels
from utils.tracking import ExperimentTracker

__all__ = ["VERSIONS", "Version", "train", "training_set"]

Version = Literal["v1", "v2"]
#: The versions this module can build, oldest first.
VERSIONS: tuple[Version, ...] = ("v1", "v2")


def training_set(data: ProjectData, version: Version) -> pd.DataFrame:
    """The training comments of ``version`` with their labels and where each label came from.

    Introduced in project/03_baseline_and_model.ipynb. Returns the rows of ``data.train`` that
    the version learns from, with two more columns: ``label`` (1 spam, 0 not spam) and
    ``label_source`` (``"rules"`` or ``"hand"``).
    """
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    weak = weak_labels(data.train)
    voted = weak.to_numpy() != -1
    frame = data.train.assign(label=weak, label_source="rules")
    if version == "v1":
        return frame[voted]
    hand = gold_labels(data.train[~voted])
    frame.loc[hand.index, "label"] = hand["gold"].to_numpy()
    frame.loc[hand.index, "label_source"] = "hand"
    return frame.astype({"label": np.int64})


def train(data: ProjectData, version: Version, *, tracker: ExperimentTracker | None = None
          ) -> TuneResult:
    """Tune and fit ``version`` on its training set, choosing the settings on the dev gold labels.

    Introduced in project/03_baseline_and_model.ipynb; every later page builds its models with
    this call. With a ``tracker`` each candidate is logged as a run named after the version.
    """
    frame = training_set(data, version)
    dev_gold = gold_labels(data.dev)["gold"]
    return tune(frame["CONTENT"], frame["label"], data.dev["CONTENT"], dev_gold,
                tracker=tracker, run_prefix=version,
                extra_params={"version": version, "n_train": len(frame)})
