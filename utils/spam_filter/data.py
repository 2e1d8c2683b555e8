"""The data of the final project: which comments are for development, which are "the future".

Introduced in project/02_data.ipynb. The YouTube Spam Collection holds comments from five music
videos. The project develops its spam filter on three of them and keeps the other two back as
*production traffic*: comments under videos the filter has never seen, which arrive only on the
deployment and monitoring pages (project/05_deployment.ipynb, project/06_monitoring.ipynb), the
way new videos reach a deployed filter.

Within the development videos, repeated comments are dropped (the same spam is often posted
many times, and a copy in the training set and another in the test set would flatter every
score) and the rest is split 60/20/20 into train, dev and test, stratified by video.

Labels. The collection has one human label per comment, the published ``CLASS``, made by its
authors under their own convention. The project's definition of spam is a written guideline,
and two model-assisted annotation passes, ``A`` and ``B`` (language models that followed the
guideline without seeing the published label), labelled every dev and test comment, the
training comments the rules cannot label, and every production comment. The gold label
(:func:`gold_labels`) is the passes' label where they agree and the human label where they
disagree. The training comments are otherwise labelled by rules (:mod:`.rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pandas as pd

from utils._validation import check_frame, check_int
from utils.data import load_youtube_spam
from utils.error_analysis.splits import stratified_split
from utils.lineage import LineageLog
from utils.pipeline import normalise_comments

__all__ = [
    "ANNOTATORS",
    "BOOK_CLOCK_TIME",
    "DAY_SIZE",
    "DEVELOPMENT_VIDEOS",
    "PRODUCTION_VIDEOS",
    "SPLIT_SEED",
    "SPLIT_SIZES",
    "ProjectData",
    "deduplicate",
    "development_splits",
    "gold_labels",
    "human_level",
    "load_annotations",
    "production_days",
    "project_data",
    "split_by_video",
]

#: Videos whose comments the filter is developed on.
DEVELOPMENT_VIDEOS: tuple[str, ...] = ("Youtube03-LMFAO", "Youtube04-Eminem", "Youtube05-Shakira")
#: Videos kept back as production traffic, first seen on the monitoring page.
PRODUCTION_VIDEOS: tuple[str, ...] = ("Youtube01-Psy", "Youtube02-KatyPerry")
#: Shares of the development comments in train, dev and test.
SPLIT_SIZES: tuple[float, float, float] = (0.6, 0.2, 0.2)
#: Seed of the development split (and so of which comments form the gold set).
SPLIT_SEED = 0
#: The labels of an annotated comment in order (model-assisted passes A and B, then the human published label).
ANNOTATORS: tuple[str, ...] = ("A", "B", "published")

_ANNOTATIONS = "gold_annotations.csv"
#: Comments per simulated day of production traffic (project/05 and project/06).
DAY_SIZE = 100
#: The moment the book's lineage records are stamped with, so that stored outputs never change.
BOOK_CLOCK_TIME = datetime(2026, 12, 1, tzinfo=UTC)


def split_by_video(comments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(development, production)``: the comments of each group of videos.

    Introduced in project/02_data.ipynb. Raises if a video is in neither group, so a new file
    in the collection cannot slip silently into one of them.
    """
    check_frame(comments, "comments")
    if "VIDEO" not in comments.columns:
        raise ValueError("comments has no VIDEO column; load it with utils.data.load_youtube_spam")
    known = set(DEVELOPMENT_VIDEOS) | set(PRODUCTION_VIDEOS)
    unknown = sorted(set(comments["VIDEO"]) - known)
    if unknown:
        raise ValueError(f"comments has videos in neither group: {unknown}")
    is_dev = comments["VIDEO"].isin(DEVELOPMENT_VIDEOS)
    return comments[is_dev], comments[~is_dev]


def deduplicate(comments: pd.DataFrame) -> pd.DataFrame:
    """Drop comments whose normalised text repeats an earlier one; keep the first copy.

    Introduced in project/02_data.ipynb. Texts are compared after
    :func:`utils.pipeline.normalise_comments`, so two spam messages that differ only in their
    link or in upper case count as copies: the model would see them as the same input anyway.
    """
    check_frame(comments, "comments")
    if "CONTENT" not in comments.columns:
        raise ValueError("comments has no CONTENT column")
    normalised = pd.Series(normalise_comments(comments["CONTENT"]), index=comments.index)
    return comments[~normalised.duplicated(keep="first")]


def development_splits(
    development: pd.DataFrame, *, seed: int = SPLIT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the (deduplicated) development comments into train, dev and test, by video.

    Introduced in project/02_data.ipynb. Stratifying by video (not by label) uses only what is
    known before anything is labelled, and gives every video the same share in each split.
    """
    check_frame(development, "development", columns=("VIDEO",))
    train, dev, test = stratified_split(development, label="VIDEO", sizes=SPLIT_SIZES, seed=seed)
    return train, dev, test


def load_annotations() -> pd.DataFrame:
    """The labels of annotation passes A and B in long form: one row per (comment, pass).

    Used by :func:`gold_labels` (project/02_data.ipynb) and by
    :func:`utils.spam_filter.versions.record_training_sets` (project/04_error_analysis.ipynb).
    Columns ``COMMENT_ID``, ``annotator`` (``"A"`` or ``"B"``) and ``label`` (1 spam, 0 not
    spam). A and B are two passes by language models following the guideline of
    project/02_data.ipynb, not people. The file ships with ``utils`` and holds comment ids and
    labels only, never the comments' text.
    """
    with resources.files("utils.spam_filter").joinpath(_ANNOTATIONS).open("r") as fh:
        wide = pd.read_csv(fh, dtype={"COMMENT_ID": str, "A": np.int64, "B": np.int64})
    if wide["COMMENT_ID"].duplicated().any():
        raise ValueError(f"{_ANNOTATIONS} lists a comment twice")
    bad = ~wide[["A", "B"]].isin([0, 1]).all(axis=1)
    if bad.any():
        raise ValueError(f"{_ANNOTATIONS} has labels other than 0 and 1 for {int(bad.sum())} rows")
    return wide.melt(
        id_vars="COMMENT_ID", value_vars=["A", "B"], var_name="annotator", value_name="label"
    )


def gold_labels(comments: pd.DataFrame) -> pd.DataFrame:
    """Each annotated comment's three labels and its gold label.

    Introduced in project/02_data.ipynb. ``comments`` is the dev, test or production comments, or
    training comments the rules could not label (see :mod:`utils.spam_filter.versions`). Returns
    one row per comment, indexed like ``comments``, with columns ``A``, ``B`` (the two
    model-assisted passes), ``published`` (the human label, the data set's ``CLASS``) and
    ``gold``: the passes' label where they agree and the human label where they disagree, which
    is the majority of the three. So the gold label follows the guideline as the passes applied
    it; the human label decides only the comments the passes disagree on. Raises if a comment
    has no annotation: the file and the split must describe the same comments.
    """
    check_frame(comments, "comments", columns=("COMMENT_ID", "CLASS"))
    wide = load_annotations().pivot(index="COMMENT_ID", columns="annotator", values="label")
    ids = comments["COMMENT_ID"]
    if ids.duplicated().any():
        raise ValueError("comments has duplicate COMMENT_IDs; deduplicate first")
    missing = ids[~ids.isin(wide.index)]
    if len(missing):
        raise ValueError(
            f"{len(missing)} of the {len(ids)} comments have no gold annotation "
            f"(the first is {missing.iloc[0]!r}); only dev, test, the training "
            "comments the rules abstain on and production were annotated"
        )
    out = wide.loc[ids.to_numpy(), ["A", "B"]].set_axis(comments.index)
    out.columns.name = None
    out["published"] = comments["CLASS"].to_numpy()
    out["gold"] = (out[["A", "B", "published"]].sum(axis=1) >= 2).astype(np.int64)
    return out


def human_level(gold: pd.DataFrame, tags: pd.DataFrame | None = None) -> pd.DataFrame:
    """How often the human labels match the annotation passes' shared label, overall and by tag.

    Introduced in project/03_baseline_and_model.ipynb (human-level performance) and used by the
    metrics by tag of project/04_error_analysis.ipynb. The collection has one human label per
    comment, so the usual estimate of HLP, one person scored against another on the same
    comments, cannot be made from it. What can be measured is how well the human labels do at
    the project's task: the published label scored against the label that passes A and B both
    gave, on the comments where they agree. Every disagreement counts against the human label,
    whether it is a mistake, the other convention the data set's authors followed, or an error of
    the passes.

    ``gold`` comes from :func:`gold_labels`; ``tags`` is an optional boolean DataFrame on the
    same index (from :func:`utils.spam_filter.features.comment_tags`). Returns one row per group
    (``all``, then each tag) with columns ``human`` (that accuracy), ``passes_agree`` (the share
    of the group's comments on which A and B agree: the consistency of two model passes, not of
    people), ``support`` (the comments ``human`` is computed on) and ``comments``.
    """
    check_frame(gold, "gold")
    missing = [c for c in ANNOTATORS if c not in gold.columns]
    if missing:
        raise ValueError(f"gold lacks the labeller column(s) {missing}; build it with gold_labels")
    groups: dict[str, np.ndarray] = {"all": np.ones(len(gold), dtype=bool)}
    if tags is not None:
        check_frame(tags, "tags")
        if not tags.index.equals(gold.index):
            raise ValueError("tags must have the same index as gold")
        not_bool = [c for c in tags.columns if not pd.api.types.is_bool_dtype(tags[c])]
        if not_bool:
            raise ValueError(f"tags must hold boolean columns; {not_bool} are not boolean")
        groups |= {str(c): tags[c].to_numpy(dtype=bool) for c in tags.columns}
    a, b, human = (gold[c].to_numpy() for c in ANNOTATORS)
    agree = a == b
    rows = {}
    for name, mask in groups.items():
        judged = mask & agree
        rows[name] = {
            "human": float(np.mean(human[judged] == a[judged])) if judged.any() else np.nan,
            "passes_agree": float(np.mean(agree[mask])) if mask.any() else np.nan,
            "support": int(judged.sum()),
            "comments": int(mask.sum()),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out


def production_days(production: pd.DataFrame, *, size: int = DAY_SIZE) -> pd.Series:
    """Number the production comments by simulated day: the first ``size`` are day 1, and so on.

    Introduced in project/05_deployment.ipynb. ``production`` must be in arrival order (as
    :func:`project_data` returns it). Returns a Series named ``day``, indexed like it.
    """
    check_int("size", size, min=1)
    if not isinstance(production, pd.DataFrame | pd.Series):
        raise TypeError(
            f"production must be a DataFrame of comments, got {type(production).__name__}"
        )
    return pd.Series(np.arange(len(production)) // size + 1, index=production.index, name="day")


@dataclass(frozen=True)
class ProjectData:
    """The project's data sets after the data stage, with the lineage of each.

    Attributes:
        comments: the whole collection as loaded.
        train: development comments for training; their labels come from labeling functions.
        dev: development comments for choosing models (gold labels: :func:`gold_labels`).
        test: development comments for the audit before release (gold labels likewise).
        production: every comment of the production videos, oldest first.
        lineage: how each data set was made, as a :class:`~utils.lineage.LineageLog`.
    """

    comments: pd.DataFrame
    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    production: pd.DataFrame
    lineage: LineageLog


def _fixed_clock() -> datetime:
    return BOOK_CLOCK_TIME


def project_data(*, clock: Callable[[], datetime] | None = _fixed_clock) -> ProjectData:
    """Run the data stage of project/02_data.ipynb and return its data sets and lineage.

    Introduced in project/02_data.ipynb, which runs the same steps one at a time; every later
    page of the project starts from this call. ``clock`` stamps the lineage records (by default
    a fixed date, so that stored outputs never change; pass ``None`` for the real time).
    """
    log = LineageLog(clock=clock)
    comments = load_youtube_spam()
    source = log.source(
        "YouTube Spam Collection, 5 CSV files",
        comments,
        params={"loader": "utils.data.load_youtube_spam", "licence": "CC BY 4.0"},
    )
    development, production = split_by_video(comments)
    log.record(
        "keep development videos",
        inputs=[source],
        output=development,
        params={"videos": list(DEVELOPMENT_VIDEOS)},
    )
    production = production.sort_values("DATE", kind="stable", na_position="last")
    log.record(
        "keep production videos, oldest first",
        inputs=[source],
        output=production,
        params={"videos": list(PRODUCTION_VIDEOS)},
    )
    unique = deduplicate(development)
    log.record(
        "drop repeated comments",
        inputs=[development],
        output=unique,
        params={"compare": "normalise_comments(CONTENT)", "keep": "first"},
    )
    train, dev, test = development_splits(unique)
    for name, part in (("train", train), ("dev", dev), ("test", test)):
        log.record(
            f"split: {name}",
            inputs=[unique],
            output=part,
            params={"stratify": "VIDEO", "sizes": list(SPLIT_SIZES), "seed": SPLIT_SEED},
        )
    return ProjectData(
        comments=comments, train=train, dev=dev, test=test, production=production, lineage=log
    )
