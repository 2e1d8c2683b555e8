"""Every agreement view of a labelling round at once, from a long table of ratings.

Introduced in week3/02_human_level_performance.ipynb; also used in project/02_data.ipynb.
:func:`agreement_report` runs the statistics of :mod:`utils.labeling.agreement` (percent
agreement, Cohen's kappa for every pair, Fleiss' kappa, Krippendorff's alpha) and each
labeller's agreement with the majority of the others.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from utils._validation import check_choice, check_unique_columns
from utils.labeling.agreement import (
    UndefinedAgreementWarning,
    _factorize,
    _item_counts,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)

__all__ = ["AgreementReport", "agreement_report"]


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """What :func:`agreement_report` returns.

    Attributes:
        summary: one row per statistic (percent agreement, mean pairwise Cohen's kappa, Fleiss'
            kappa, Krippendorff's alpha) with columns ``value`` and ``note`` (why a value is
            NaN, or how it was computed).
        pairwise_kappa: Cohen's kappa for every pair of annotators, on the items both rated.
        items: per item: ``n_ratings``, ``majority`` label and ``agreement`` (share of its
            ratings equal to the majority), most disputed first.
        annotators: per annotator: ``n_items`` and ``agreement_with_others`` (share of their
            labels equal to the majority of the *other* annotators; items where the others tie
            are skipped), the "one labeller against the rest" view of human-level performance.
    """

    summary: pd.DataFrame
    pairwise_kappa: pd.DataFrame
    items: pd.DataFrame
    annotators: pd.DataFrame


def _wide_ratings(long_df: Any, item: Any, annotator: Any, label: Any) -> pd.DataFrame:
    """The (item x annotator) table of a long table of ratings, each rating once."""
    if not isinstance(long_df, pd.DataFrame):
        raise TypeError(f"long_df must be a DataFrame, got {type(long_df).__name__}")
    check_unique_columns(long_df, "long_df")
    if len({item, annotator, label}) < 3:
        raise ValueError(
            f"item, annotator and label must name three different columns, got "
            f"{item!r}, {annotator!r} and {label!r}"
        )
    for arg, col in (("item", item), ("annotator", annotator), ("label", label)):
        if col not in long_df.columns:
            raise ValueError(
                f"{arg}={col!r} is not a column of long_df; columns: {list(long_df.columns)}"
            )
    df = long_df[[item, annotator, label]].dropna(subset=[label])
    if df.empty:
        raise ValueError("long_df has no ratings")
    dup = df.duplicated(subset=[item, annotator])
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(
            f"annotator {first[annotator]!r} rated item {first[item]!r} more than once"
        )
    return df.pivot(index=item, columns=annotator, values=label)


def _pairwise_kappa(wide: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa of every pair of annotators (columns of ``wide``) on the items both rated."""
    raters = list(wide.columns)
    kappa = pd.DataFrame(np.nan, index=pd.Index(raters), columns=pd.Index(raters))
    for i, r in enumerate(raters):
        kappa.loc[r, r] = 1.0
        for s in raters[i + 1 :]:
            both = wide[[r, s]].dropna()
            if len(both) == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedAgreementWarning)
                value = cohen_kappa(both[r].to_numpy(dtype=object), both[s].to_numpy(dtype=object))
            kappa.loc[r, s] = kappa.loc[s, r] = value
    return kappa


def _agreement_with_others(
    codes: np.ndarray, counts: np.ndarray, raters: list[Any], annotator: Any
) -> pd.DataFrame:
    """Per annotator: items rated, and the share equal to the clear majority of the others."""
    rows = []
    for j in range(len(raters)):
        own = codes[:, j]
        rated = own >= 0
        others = counts[rated].copy()
        others[np.arange(int(rated.sum())), own[rated]] -= 1
        top = others.max(axis=1)
        clear = (top > 0) & ((others == top[:, None]).sum(axis=1) == 1)
        agree = others.argmax(axis=1)[clear] == own[rated][clear]
        rows.append(
            {
                "n_items": int(rated.sum()),
                "agreement_with_others": float(agree.mean()) if agree.size else np.nan,
            }
        )
    return pd.DataFrame(rows, index=pd.Index(raters, name=annotator))


def agreement_report(
    long_df: pd.DataFrame,
    *,
    item: str,
    annotator: str,
    label: str,
    level: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal",
) -> AgreementReport:
    """Every agreement view of a labelling round in one call, from a long table of ratings.

    Introduced in week3/02_human_level_performance.ipynb; also used in project/02_data.ipynb.

    Args:
        long_df: one row per (item, annotator) rating.
        item, annotator, label: the column names.
        level: level of measurement for Krippendorff's alpha.
    """
    check_choice("level", level, ("nominal", "ordinal", "interval", "ratio"))
    wide = _wide_ratings(long_df, item, annotator, label)
    raters = list(wide.columns)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedAgreementWarning)
        pa = percent_agreement(wide.to_numpy(dtype=object))
        fk = fleiss_kappa(wide.to_numpy(dtype=object))
        ka = krippendorff_alpha(wide.to_numpy(dtype=object).T, level=level)
    notes = {str(w.message).split(" is undefined")[0]: str(w.message) for w in caught}

    kappa = _pairwise_kappa(wide)
    upper = kappa.to_numpy()[np.triu_indices(len(raters), 1)]
    defined = upper[~np.isnan(upper)]
    mean_kappa = float(defined.mean()) if defined.size else np.nan
    summary = pd.DataFrame(
        {
            "value": [pa, mean_kappa, fk, ka],
            "note": [
                notes.get("percent agreement", "share of agreeing rating pairs per item"),
                f"mean over {defined.size} of {upper.size} annotator pairs with a defined kappa",
                notes.get("Fleiss' kappa", "items with two or more ratings"),
                notes.get("Krippendorff's alpha", f"level={level}"),
            ],
        },
        index=pd.Index(
            [
                "percent agreement",
                "Cohen's kappa (mean pairwise)",
                "Fleiss' kappa",
                f"Krippendorff's alpha ({level})",
            ],
            name="statistic",
        ),
    )

    codes, cats = _factorize(wide.to_numpy(dtype=object), "label")
    counts = _item_counts(codes, len(cats))
    n_ratings = counts.sum(axis=1)
    majority = counts.argmax(axis=1)
    items = pd.DataFrame(
        {
            "n_ratings": n_ratings.astype(np.int64),
            "majority": cats[majority],
            "agreement": counts.max(axis=1) / n_ratings,
        },
        index=wide.index,
    ).sort_values(["agreement", "n_ratings"], ascending=[True, False], kind="stable")

    annotators = _agreement_with_others(codes, counts, raters, annotator)
    return AgreementReport(
        summary=summary, pairwise_kappa=kappa, items=items, annotators=annotators
    )
