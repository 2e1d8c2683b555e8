"""The data of the final project: which comments are for development, which are "the future".

Introduced in project/02_data.ipynb. The YouTube Spam Collection holds comments from five music
videos. The project develops its spam filter on three of them and keeps the other two back as
*production traffic*: comments under videos the filter has never seen, which arrive only on the
monitoring page (project/06_monitoring.ipynb), the way new videos reach a deployed filter.

Within the development videos, repeated comments are dropped (the same spam is often posted
many times, and a copy in the training set and another in the test set would flatter every
score) and the rest is split 60/20/20 into train, dev and test, stratified by video. The test
and dev splits are hand-checked: every one of their comments was labelled again by two
annotators, and its gold label is the majority of those two and the published one
(:func:`gold_labels`). The training comments are labelled by rules (:mod:`.rules`); the ones the
rules cannot label were labelled by hand the same way for version 2 of the filter
(project/04_error_analysis.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pandas as pd

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
#: Who labelled the gold set, in order (two annotation passes made for the book, then the data set's own label).
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
    if "CONTENT" not in comments.columns:
        raise ValueError("comments has no CONTENT column")
    normalised = pd.Series(normalise_comments(comments["CONTENT"]), index=comments.index)
    return comments[~normalised.duplicated(keep="first")]


def development_splits(development: pd.DataFrame, *, seed: int = SPLIT_SEED
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the (deduplicated) development comments into train, dev and test, by video.

    Introduced in project/02_data.ipynb. Stratifying by video (not by label) uses only what is
    known before anything is labelled, and gives every video the same share in each split.
    """
    train, dev, test = stratified_split(development, label="VIDEO", sizes=SPLIT_SIZES, seed=seed)
    return train, dev, test


def load_annotations() -> pd.DataFrame:
    """The hand labels in long form: one row per (comment, annotator).

    Used by :func:`gold_labels` (project/02_data.ipynb) and by
    :func:`utils.spam_filter.versions.record_training_sets` (project/04_error_analysis.ipynb).
    Columns ``COMMENT_ID``, ``annotator`` (``"A"`` or ``"B"``) and ``label`` (1 spam, 0 not
    spam). The file ships with ``utils`` and holds comment ids and labels only, never the
    comments' text.
    """
    with resources.files("utils.spam_filter").joinpath(_ANNOTATIONS).open("r") as fh:
        wide = pd.read_csv(fh, dtype={"COMMENT_ID": str, "A": np.int64, "B": np.int64})
    if wide["COMMENT_ID"].duplicated().any():
        raise ValueError(f"{_ANNOTATIONS} lists a comment twice")
    bad = ~wide[["A", "B"]].isin([0, 1]).all(axis=1)
    if bad.any():
        raise ValueError(f"{_ANNOTATIONS} has labels other than 0 and 1 for {int(bad.sum())} rows")
    return wide.melt(id_vars="COMMENT_ID", value_vars=["A", "B"], var_name="annotator",
                     value_name="label")


def gold_labels(comments: pd.DataFrame) -> pd.DataFrame:
    """Each hand-checked comment's three labels and its gold label, the majority of the three.

    Introduced in project/02_data.ipynb. ``comments`` is the dev or the test split, or training
    comments the rules could not label (see :mod:`utils.spam_filter.versions`). Returns one row per comment, indexed like ``comments``, with columns ``A``, ``B``,
    ``published`` (the data set's ``CLASS``) and ``gold``. Raises if a comment has no
    annotation: the file and the split must describe the same comments.
    """
    wide = load_annotations().pivot(index="COMMENT_ID", columns="annotator", values="label")
    ids = comments["COMMENT_ID"]
    if ids.duplicated().any():
        raise ValueError("comments has duplicate COMMENT_IDs; deduplicate first")
    missing = ids[~ids.isin(wide.index)]
    if len(missing):
        raise ValueError(f"{len(missing)} of the {len(ids)} comments have no gold annotation "
                         f"(the first is {missing.iloc[0]!r}); only dev, test and the training "
                         "comments the rules abstain on were labelled by hand")
    out = wide.loc[ids.to_numpy(), ["A", "B"]].set_axis(comments.index)
    out.columns.name = None
    out["published"] = comments["CLASS"].to_numpy()
    out["gold"] = (out[["A", "B", "published"]].sum(axis=1) >= 2).astype(np.int64)
    return out


def human_level(gold: pd.DataFrame, tags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each labeller's agreement with the majority of the other two, overall and by tag.

    Introduced in project/03_baseline_and_model.ipynb (human-level performance) and used by the
    prioritisation table of project/04_error_analysis.ipynb. ``gold`` comes from
    :func:`gold_labels`; ``tags`` is an optional boolean DataFrame on the same index (from
    :func:`utils.spam_filter.features.comment_tags`). Returns one row per group (``all``, then
    each tag) with a column per labeller (``A``, ``B``, ``published``), ``mean`` (the
    human-level performance used by the project: the average labeller against the rest) and
    ``support``. Comments on which the other two labellers disagree are skipped for that
    labeller, as :func:`utils.labeling.agreement.agreement_report` does.
    """
    from utils.labeling.agreement import agreement_report

    missing = [c for c in ANNOTATORS if c not in gold.columns]
    if missing:
        raise ValueError(f"gold lacks the labeller column(s) {missing}; build it with gold_labels")
    groups: dict[str, pd.Series] = {"all": pd.Series(True, index=gold.index)}
    if tags is not None:
        if not tags.index.equals(gold.index):
            raise ValueError("tags must have the same index as gold")
        groups |= {str(c): tags[c].astype(bool) for c in tags.columns}
    long = gold[list(ANNOTATORS)].rename_axis("item").reset_index().melt(
        id_vars="item", var_name="labeller", value_name="label")
    rows = {}
    for name, mask in groups.items():
        items = gold.index[mask.to_numpy()]
        if len(items) == 0:
            rows[name] = dict.fromkeys((*ANNOTATORS, "mean"), np.nan) | {"support": 0}
            continue
        report = agreement_report(long[long["item"].isin(items)], item="item",
                                  annotator="labeller", label="label")
        per = report.annotators["agreement_with_others"].reindex(list(ANNOTATORS))
        rows[name] = per.to_dict() | {"mean": float(per.mean()), "support": len(items)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out.astype({"support": np.int64})


def production_days(production: pd.DataFrame, *, size: int = DAY_SIZE) -> pd.Series:
    """Number the production comments by simulated day: the first ``size`` are day 1, and so on.

    Introduced in project/05_deployment.ipynb. ``production`` must be in arrival order (as
    :func:`project_data` returns it). Returns a Series named ``day``, indexed like it.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    return pd.Series(np.arange(len(production)) // size + 1, index=production.index, name="day")


@dataclass(frozen=True)
class ProjectData:
    """The project's data sets after the data stage, with the lineage of each.

    Attributes:
        comments: the whole collection as loaded.
        train: development comments for training; their labels come from labeling functions.
        dev: development comments for choosing models, with the published labels.
        test: the gold set, with a ``gold`` column (see :func:`gold_labels`).
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
    source = log.source("YouTube Spam Collection, 5 CSV files", comments,
                        params={"loader": "utils.data.load_youtube_spam", "licence": "CC BY 4.0"})
    development, production = split_by_video(comments)
    log.record("keep development videos", inputs=[source], output=development,
               params={"videos": list(DEVELOPMENT_VIDEOS)})
    production = production.sort_values("DATE", kind="stable", na_position="last")
    log.record("keep production videos, oldest first", inputs=[source], output=production,
               params={"videos": list(PRODUCTION_VIDEOS)})
    unique = deduplicate(development)
    log.record("drop repeated comments", inputs=[development], output=unique,
               params={"compare": "normalise_comments(CONTENT)", "keep": "first"})
    train, dev, test = development_splits(unique)
    for name, part in (("train", train), ("dev", dev), ("test", test)):
        log.record(f"split: {name}", inputs=[unique], output=part,
                   params={"stratify": "VIDEO", "sizes": list(SPLIT_SIZES), "seed": SPLIT_SEED})
    return ProjectData(comments=comments, train=train, dev=dev, test=test,
                       production=production, lineage=log)
