"""What a comment looks like, in numbers and tags: for slicing errors and for watching drift.

Introduced in project/04_error_analysis.ipynb (tags for error analysis) and used again in
project/06_monitoring.ipynb (the inputs a drift report watches). Both need the same
description of a comment, so it is computed in one place.

- :func:`comment_features`: one row of simple, explainable measurements per comment (length,
  words, links, capitals, language), the kind of summary a monitoring dashboard can plot.
- :func:`comment_tags`: boolean tags for error analysis (video, length, link, language); tags
  may overlap, so a comment can carry several.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from utils._validation import as_1d, check_frame, check_probability
from utils.pipeline import normalise_comments

__all__ = [
    "LONG_COMMENT",
    "SHORT_COMMENT",
    "comment_features",
    "comment_tags",
    "is_english",
]

#: Comments shorter than this many characters are tagged "short".
SHORT_COMMENT = 30
#: Comments longer than this many characters are tagged "long".
LONG_COMMENT = 150

# The 120 or so most frequent words of English comments, enough to recognise the language of a
# sentence without a language model (a comment is English when enough of its words are here).
_COMMON_ENGLISH = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "always",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "back",
        "be",
        "because",
        "been",
        "before",
        "best",
        "better",
        "but",
        "by",
        "can",
        "check",
        "come",
        "could",
        "day",
        "did",
        "do",
        "does",
        "dont",
        "down",
        "even",
        "ever",
        "every",
        "feel",
        "for",
        "from",
        "get",
        "give",
        "go",
        "going",
        "good",
        "got",
        "great",
        "guys",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "hey",
        "hi",
        "him",
        "his",
        "how",
        "i",
        "if",
        "im",
        "in",
        "is",
        "it",
        "its",
        "just",
        "know",
        "last",
        "let",
        "like",
        "listen",
        "love",
        "made",
        "make",
        "man",
        "me",
        "more",
        "most",
        "much",
        "music",
        "my",
        "need",
        "never",
        "new",
        "no",
        "not",
        "now",
        "of",
        "oh",
        "ok",
        "on",
        "one",
        "only",
        "or",
        "other",
        "out",
        "people",
        "please",
        "really",
        "right",
        "said",
        "say",
        "see",
        "she",
        "should",
        "so",
        "some",
        "song",
        "songs",
        "still",
        "subscribe",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "they",
        "thing",
        "think",
        "this",
        "time",
        "to",
        "too",
        "up",
        "us",
        "video",
        "videos",
        "view",
        "views",
        "want",
        "was",
        "watch",
        "watching",
        "way",
        "we",
        "well",
        "were",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
        "wow",
        "would",
        "yeah",
        "year",
        "years",
        "yes",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LETTER_SCRIPTS = ("LATIN",)


def _non_latin_letters(text: str) -> bool:
    """True when the text has letters of another script (Cyrillic, Arabic, Thai, CJK, ...)."""
    for ch in text:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith(_LETTER_SCRIPTS):
            return True
    return False


def is_english(text: str, *, min_share: float = 0.2) -> bool:
    """Guess whether a comment is written in English, by its words and its letters.

    Used by :func:`comment_features` for its ``english`` column (project/06_monitoring.ipynb),
    and so by the ``not English`` tag of :func:`comment_tags` (project/04_error_analysis.ipynb).
    A comment is *not* English when it has letters of a non-Latin script, or at least three
    words of which fewer than ``min_share`` are among a few hundred common English words.
    Comments of one or two words ("waka waka", "cool") count as English: there is too little to
    go on, and such a guess is cheap to check by reading the slice. A heuristic, not a language
    model; error analysis only needs a tag.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    check_probability("min_share", min_share)
    if _non_latin_letters(text):
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return True
    return sum(w in _COMMON_ENGLISH for w in words) / len(words) >= min_share


def comment_features(texts: Any) -> pd.DataFrame:
    """Measure each comment: length, words, links, capitals, exclamation marks, language.

    Introduced in project/06_monitoring.ipynb (the inputs a drift report watches) and used for
    the tags of :func:`comment_tags`. Columns: ``n_chars`` and ``n_words`` (of the raw text),
    ``upper_share`` (share of letters in upper case, 0 without letters), ``n_exclamations``,
    ``has_link`` (a web address, as :func:`utils.pipeline.normalise_comments` finds them) and
    ``english`` (:func:`is_english`). The index is that of ``texts`` when it is a Series.
    """
    index = texts.index if isinstance(texts, pd.Series) else None
    if isinstance(texts, (list, tuple)):  # np.asarray would turn [ "a", nan ] into strings
        texts = np.array(texts, dtype=object)
    arr = as_1d(texts, "texts", allow_missing=True)
    bad = [i for i, t in enumerate(arr) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"texts must all be strings; texts[{bad[0]}] is {type(arr[bad[0]]).__name__}"
        )
    s = pd.Series(arr, index=index, dtype=object)
    letters = s.str.count(r"[^\W\d_]")
    upper = s.str.count(r"[A-Z\u00c0-\u00de]")
    return pd.DataFrame(
        {
            "n_chars": s.str.len().astype(np.int64),
            "n_words": s.map(lambda t: len(t.split())).astype(np.int64),
            "upper_share": (upper / letters.where(letters > 0)).fillna(0.0).astype(np.float64),
            "n_exclamations": s.str.count("!").astype(np.int64),
            "has_link": pd.Series(normalise_comments(s), index=s.index).str.contains(
                "urltoken", regex=False
            ),
            "english": s.map(is_english).astype(bool),
        },
        index=s.index,
    )


def comment_tags(comments: pd.DataFrame) -> pd.DataFrame:
    """Boolean tags of each comment for error analysis: its video, length, links and language.

    Introduced in project/04_error_analysis.ipynb. ``comments`` needs ``CONTENT`` and
    ``VIDEO`` columns. Tags: one per video (``video: LMFAO``), ``short (< 30 chars)``,
    ``long (> 150 chars)``, ``contains a link``, ``no link`` and ``not English``. Pass the
    result to :func:`utils.error_analysis.slices.metrics_by_slice` as ``slices``.
    """
    check_frame(comments, "comments", columns=("CONTENT", "VIDEO"))
    f = comment_features(comments["CONTENT"])
    tags = {
        f"video: {v.split('-', 1)[-1]}": comments["VIDEO"].eq(v)
        for v in sorted(comments["VIDEO"].unique())
    }
    tags |= {
        f"short (< {SHORT_COMMENT} chars)": f["n_chars"] < SHORT_COMMENT,
        f"long (> {LONG_COMMENT} chars)": f["n_chars"] > LONG_COMMENT,
        "contains a link": f["has_link"],
        "no link": ~f["has_link"],
        "not English": ~f["english"],
    }
    return pd.DataFrame(tags, index=comments.index).astype(bool)
