"""The labeling functions of the final project: cheap rules that label the training comments.

Introduced in project/02_data.ipynb. The project labels most of its training comments with rules
(the technique of labs/w3_data_labeling.ipynb) instead of annotating each one, and checks the
rules against the gold labels of the dev split. Each rule looks at the comment's normalised text
(:func:`utils.pipeline.normalise_comments`: lower case, web addresses replaced by
``urltoken``) and votes ``SPAM`` (1), ``NOT_SPAM`` (0) or abstains.

The rules were written by reading training comments only; none was tuned on dev or test.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from utils._validation import check_frame
from utils.labeling.lf import ABSTAIN, LabelingFunction, labeling_function
from utils.pipeline import normalise_comments

__all__ = ["NOT_SPAM", "RULES", "SPAM", "labeling_functions", "two_keywords", "weak_labels"]

#: The label of spam.
SPAM = 1
#: The label of a legitimate comment.
NOT_SPAM = 0

#: (name, regular expression on the normalised text, label) of every rule, in order.
RULES: tuple[tuple[str, str, int], ...] = (
    ("spam: web address", r"urltoken", SPAM),
    ("spam: check out / check my", r"\bcheck (?:out|my|it out|me)\b", SPAM),
    ("spam: subscribe", r"\bsub(?:scri\w*|s)?\b(?! ?scribed)", SPAM),
    (
        "spam: my channel, video, music",
        r"\bmy (?:channel|videos?|music|page|covers?|songs?|playlist)\b",
        SPAM,
    ),
    ("spam: money and offers", r"\b(?:money|earn|paid|cash|free|win|gift|\$\d+)", SPAM),
    ("spam: social accounts", r"\b(?:facebook|twitter|instagram|follow me)\b", SPAM),
    (
        "spam: please give a chance",
        r"\b(?:give me a chance|please (?:visit|help|support|watch))\b",
        SPAM,
    ),
    ("not spam: the song", r"\b(?:songs?|love|best|beautiful|amazing|awesome)\b", NOT_SPAM),
    ("not spam: views and years", r"\b(?:views?|billion|million|20[01]\d)\b", NOT_SPAM),
)
_SHORT = 20  # characters: shorter comments are almost never spam in the training data


def _keyword_rule(name: str, pattern: str, label: int) -> LabelingFunction:
    """A vectorised labeling function: ``label`` where the regex matches the normalised text.

    Private (no page calls it): :func:`labeling_functions` builds one for every rule of
    :data:`RULES` (project/02_data.ipynb).
    """
    if isinstance(label, bool) or label not in (SPAM, NOT_SPAM):
        raise ValueError(f"label must be SPAM (1) or NOT_SPAM (0), got {label!r}")
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a regular expression (a str), got {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None

    @labeling_function(name, vectorized=True)
    def rule(frame: pd.DataFrame) -> np.ndarray:
        text = pd.Series(normalise_comments(frame["CONTENT"]), index=frame.index)
        return np.where(text.str.contains(pattern, regex=True), label, ABSTAIN)

    return rule


@labeling_function(f"not spam: shorter than {_SHORT} chars", vectorized=True)
def _short(frame: pd.DataFrame) -> np.ndarray:
    return np.where(frame["CONTENT"].str.strip().str.len() < _SHORT, NOT_SPAM, ABSTAIN)


def labeling_functions() -> list[LabelingFunction]:
    """Every rule of :data:`RULES` as a labeling function, plus a short-comment rule.

    Introduced in project/02_data.ipynb. Pass the list to :func:`utils.labeling.lf.apply_lfs`.
    """
    return [_keyword_rule(*r) for r in RULES] + [_short]


def weak_labels(comments: pd.DataFrame, lfs: list[LabelingFunction] | None = None) -> pd.Series:
    """The rules' majority vote for each comment: 1, 0, or -1 where they abstain or tie.

    Introduced in project/02_data.ipynb, which compares the majority vote with a label model and
    keeps the vote. ``lfs`` defaults to :func:`labeling_functions`. Returns a Series named
    ``weak_label`` indexed like ``comments``.
    """
    from utils.labeling.aggregate import majority_vote
    from utils.labeling.lf import apply_lfs

    check_frame(comments, "comments", columns=("CONTENT",))

    applied = apply_lfs(comments, lfs if lfs is not None else labeling_functions(), cardinality=2)
    votes = majority_vote(applied.L, cardinality=2)
    return pd.Series(votes, index=comments.index, name="weak_label").astype(np.int64)


def two_keywords(comments: pd.DataFrame) -> pd.Series:
    """The quickest baseline: spam (1) when a comment has a web address or says "check out".

    Introduced in project/01_scoping.ipynb (feasibility) and used as a baseline in
    project/03_baseline_and_model.ipynb. Returns a Series of 0 and 1 indexed like ``comments``.
    """
    check_frame(comments, "comments", columns=("CONTENT",))
    text = pd.Series(normalise_comments(comments["CONTENT"]), index=comments.index)
    return (
        text.str.contains(r"urltoken|\bcheck out\b", regex=True)
        .astype(np.int64)
        .rename("two_keywords")
    )
