"""The prioritisation table of error analysis: where is the most to gain?

Introduced in week2/03_error_analysis.ipynb (prioritising what to work on).

For each tag (a category of examples, such as "car noise" in speech or "blurry" in images), the
possible gain is the gap between human-level performance and the model's, times the share of
the data the tag covers: closing a 10-point gap on 1 % of the data is worth less than a 2-point
gap on 40 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import check_number, check_probability, check_unique_columns
from utils.error_analysis.slices import OVERALL

__all__ = ["prioritization_table"]


def prioritization_table(
    by_tag: pd.DataFrame,
    *,
    human_level: Mapping[str, float],
    metric: str = "accuracy",
    share_of_data: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank tags by gap to human level times share of data (the course's table).

    Introduced in week2/03_error_analysis.ipynb (prioritising what to work on).

    Args:
        by_tag: a table from :func:`utils.error_analysis.slices.metrics_by_slice` (index = tag,
            columns ``support`` and ``metric``); an ``(overall)`` row, when present, gives the
            total number of examples and is left out of the ranking.
        human_level: human-level performance (or another baseline) per tag, same scale as the
            metric; every tag needs one.
        metric: the column to compare (higher is better).
        share_of_data: optional share of each tag in the data that matters (for example in
            production traffic); by default ``support / number of examples``. Tags may overlap,
            so shares need not sum to 1.

    Returns:
        Columns ``tag``, ``support``, ``share``, ``<metric>`` (named after the metric),
        ``human_level``, ``gap`` (human level minus metric, clipped at 0), ``weighted_gap``
        (gap times share) and ``rank`` (1 = work on this first), sorted by ``weighted_gap``.
        A tag whose metric is NaN gets NaN gaps and no rank.

    Raises:
        ValueError: a tag named twice in ``by_tag`` (or two tags whose names are equal as
            strings), repeated column names, a missing or out-of-range value.
    """
    table, total = _check_tags(by_tag, human_level, metric)
    tags = list(table.index)
    support = table["support"].to_numpy(dtype=np.float64)
    share = _shares(support, tags, share_of_data, total)
    hlp = np.array(
        [check_number(f"human_level[{t!r}]", human_level[t]) for t in tags], dtype=np.float64
    )
    value = table[metric].to_numpy(dtype=np.float64)
    gap = np.clip(hlp - value, 0, None)
    out = pd.DataFrame(
        {
            "tag": tags,
            "support": table["support"].to_numpy(),
            "share": share,
            metric: value,
            "human_level": hlp,
            "gap": gap,
            "weighted_gap": gap * share,
        }
    )
    out = out.sort_values(
        "weighted_gap", ascending=False, kind="stable", na_position="last"
    ).reset_index(drop=True)
    rank = np.arange(1, len(out) + 1, dtype=np.float64)
    out["rank"] = pd.array(np.where(out["weighted_gap"].isna(), np.nan, rank), dtype="Int64")
    return out


def _check_tags(by_tag: Any, human_level: Any, metric: str) -> tuple[pd.DataFrame, float | None]:
    """The rows of ``by_tag`` to rank, indexed by tag name (a string), and the total number of
    examples its ``(overall)`` row gives (None without one); every tag must have a human level."""
    if not isinstance(by_tag, pd.DataFrame):
        raise TypeError(f"by_tag must be a DataFrame, got {type(by_tag).__name__}")
    check_unique_columns(by_tag, "by_tag")
    for col in (metric, "support"):
        if col not in by_tag.columns:
            raise ValueError(f"by_tag has no column {col!r}; columns are {list(by_tag.columns)}")
    if not isinstance(human_level, Mapping | pd.Series):
        raise TypeError(
            f"human_level must be a mapping of tag to value, got {type(human_level).__name__}"
        )
    table = by_tag.set_index("tag") if "tag" in by_tag.columns else by_tag
    table = table.copy()
    table.index = table.index.map(str)
    if not table.index.is_unique:
        dups = list(dict.fromkeys(table.index[table.index.duplicated()]))
        raise ValueError(f"by_tag names the tag(s) {dups} more than once")
    total = (
        float(table["support"].astype(np.float64).loc[OVERALL]) if OVERALL in table.index else None
    )
    table = table[table.index != OVERALL]
    if table.empty:
        raise ValueError("by_tag has no tags")
    tags = list(table.index)
    missing = [t for t in tags if t not in human_level]
    if missing:
        raise ValueError(f"human_level has no value for tag(s) {missing}")
    extra = [t for t in human_level if str(t) not in tags]
    if extra:
        raise ValueError(f"human_level names unknown tag(s) {extra}; tags are {tags}")
    return table, total


def _shares(
    support: npt.NDArray[np.float64],
    tags: list[str],
    share_of_data: Mapping[str, float] | None,
    total: float | None,
) -> npt.NDArray[np.float64]:
    """Each tag's share of the data: ``share_of_data`` when given (checked), else its support
    over the total number of examples (the ``(overall)`` row's, or the sum of supports)."""
    if share_of_data is None:
        total = total if total is not None else support.sum()
        if total <= 0:
            raise ValueError("by_tag has no examples (total support is 0)")
        return support / total
    missing = [t for t in tags if t not in share_of_data]
    if missing:
        raise ValueError(f"share_of_data has no value for tag(s) {missing}")
    return np.array(
        [check_probability(f"share_of_data[{t!r}]", share_of_data[t]) for t in tags],
        dtype=np.float64,
    )
