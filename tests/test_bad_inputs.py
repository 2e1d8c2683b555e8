"""Bad input is refused, never answered: one table of bad inputs for every public function.

Issue #16 ("no silent wrong answers") found classes of bad input that returned a value instead
of an error: wrong lengths broadcast, NaN among string keys turned into a key named "nan",
a positive class absent from the labels, parameters out of range (booleans taken as integers),
repeated column names, NaN model outputs passed on, degenerate input that "works". The table
``CASES`` below lists, for every public name (``__all__``) of :mod:`utils.labeling`,
:mod:`utils.error_analysis`, :mod:`utils.deployment.patterns`,
:mod:`utils.deployment.monitoring`, :mod:`utils.spam_filter` and :mod:`utils.quiz`, the classes
of bad input that apply to it, each as a hypothesis strategy of calls. Every call must raise
``ValueError`` or ``TypeError`` whose message names the argument at fault, within the deadline.

Names that take no input (constants, protocols, warnings, records that other functions build)
are listed in ``NO_INPUT`` with the reason. ``test_every_public_name_is_in_the_table`` fails
when a module gains a public name that is in neither, so a new function cannot skip the table.
"""

from __future__ import annotations

import importlib
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils import quiz
from utils.deployment import monitoring, patterns
from utils.error_analysis import audit, prioritize, skewed, slices, splits
from utils.labeling import aggregate, agreement, analysis, label_errors, lf
from utils.labeling import report as agreement_rounds
from utils.spam_filter import data as sf_data
from utils.spam_filter import features, model, rules, versions

MODULES = [
    "utils.labeling.lf",
    "utils.labeling.analysis",
    "utils.labeling.aggregate",
    "utils.labeling.agreement",
    "utils.labeling.report",
    "utils.labeling.label_errors",
    "utils.error_analysis.slices",
    "utils.error_analysis.prioritize",
    "utils.error_analysis.skewed",
    "utils.error_analysis.audit",
    "utils.error_analysis.splits",
    "utils.deployment.patterns",
    "utils.deployment.monitoring",
    "utils.spam_filter.data",
    "utils.spam_filter.rules",
    "utils.spam_filter.features",
    "utils.spam_filter.model",
    "utils.spam_filter.versions",
    "utils.spam_filter.spec",
    "utils.quiz",
]

#: A drawn call and the names of the arguments at fault: its error must name one of them.
Call = tuple[Callable[[], Any], tuple[str, ...]]

SIZES = st.integers(2, 9)
GAPS = st.sampled_from([None, float("nan"), np.nan, pd.NA])


# ------------------------------------------------------------------------------ bad values
def bad_ints(low: int | None = None, high: int | None = None) -> st.SearchStrategy[Any]:
    """Anything but an int in [low, high]: out of range, booleans, floats, strings, None."""
    out = [st.booleans(), st.floats(allow_nan=True), st.text(max_size=3), st.none()]
    if low is not None:
        out.append(st.integers(max_value=low - 1))
    if high is not None:
        out.append(st.integers(min_value=high + 1))
    return st.one_of(out)


def bad_numbers(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    nan_ok: bool = False,
    none_ok: bool = False,
) -> st.SearchStrategy[Any]:
    """Anything but a number in the range: out of it, infinite, NaN, booleans, strings."""
    out = [st.booleans(), st.text(max_size=3), st.just(math.inf), st.just(-math.inf)]
    if not nan_ok:
        out.append(st.just(math.nan))
    if not none_ok:
        out.append(st.none())
    if low is not None:
        out.append(
            st.floats(
                max_value=low, exclude_max=not low_open, allow_nan=False, allow_infinity=False
            )
        )
    if high is not None:
        out.append(
            st.floats(
                min_value=high, exclude_min=not high_open, allow_nan=False, allow_infinity=False
            )
        )
    return st.one_of(out)


def bad_choice(*choices: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.text(max_size=6), st.integers(), st.none()).filter(
        lambda v: v not in choices
    )


def not_bool() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats())


def not_frame() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=3)
    )


# ------------------------------------------------------------------------------ bad arrays
def labels(n: int, kind: str = "int") -> st.SearchStrategy[list[Any]]:
    values = ["a", "b"] if kind == "str" else [0, 1]
    return st.lists(st.sampled_from(values), min_size=n, max_size=n)


@st.composite
def flawed_pair(draw: Any, flaw: str, kind: str = "int") -> tuple[Any, Any, int | None]:
    """Two label vectors of one length, one of them (or the pair) carrying ``flaw``.

    Returns ``(a, b, side)``: ``side`` 0 or 1 is the flawed vector, None the pair.
    ``length``: different lengths; ``missing``: NaN or None among the labels (NaN among strings
    too, which NumPy would turn into "nan"); ``mixed``: a number among strings or a string among
    numbers; ``kind``: numbers in one, the same digits as strings in the other; ``index``: two
    Series whose indexes differ (another order, other labels, repeated labels).
    """
    n = draw(SIZES)
    a, b = draw(labels(n, kind)), draw(labels(n, kind))
    side = draw(st.sampled_from([0, 1]))
    pair = [a, b]
    if flaw == "length":
        m = draw(SIZES.filter(lambda m: m != n))
        pair[side] = draw(labels(m, kind))
        return pair[0], pair[1], None
    if flaw == "missing":
        for i in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)):
            pair[side][i] = draw(GAPS)
    elif flaw == "mixed":
        i = draw(st.integers(0, n - 1))
        pair[side][i] = (
            draw(st.integers(0, 1)) if kind == "str" else draw(st.sampled_from(["0", "1", "x"]))
        )
    elif flaw == "kind":
        pair[side] = [str(v) for v in draw(labels(n))]
        pair[1 - side] = draw(labels(n))
    elif flaw == "index":
        other = draw(st.sampled_from(["shifted", "reversed", "repeated"]))
        index = {
            "shifted": list(range(1, n + 1)),
            "reversed": list(range(n))[::-1],
            "repeated": [0] * n,
        }[other]
        return pd.Series(a), pd.Series(b, index=index), None
    return pair[0], pair[1], side


def pair_call(
    f: Callable[..., Any],
    names: tuple[str, str],
    flaw: str,
    kind: str = "int",
    *extra: Any,
    **kwargs: Any,
) -> st.SearchStrategy[Call]:
    """Calls ``f(a, b, *extra, **kwargs)`` on a flawed pair; the error must name the flawed one."""

    def build(abs_: tuple[Any, Any, int | None]) -> Call:
        a, b, side = abs_
        return partial(f, a, b, *extra, **kwargs), names if side is None else (names[side],)

    return flawed_pair(flaw, kind).map(build)


def pair_cases(
    f: Callable[..., Any],
    names: tuple[str, str],
    *extra: Any,
    flaws: tuple[str, ...] = ("length", "missing", "mixed", "kind", "index"),
    kind: str = "int",
    **kwargs: Any,
) -> dict[str, st.SearchStrategy[Call]]:
    return {flaw: pair_call(f, names, flaw, kind, *extra, **kwargs) for flaw in flaws}


def param_case(
    f: Callable[..., Any], name: str, bad: st.SearchStrategy[Any], *args: Any, **kwargs: Any
) -> st.SearchStrategy[Call]:
    """Calls ``f(*args, **kwargs, name=<bad value>)``; the error must name ``name``."""
    return bad.map(lambda v: (partial(f, *args, **kwargs, **{name: v}), (name,)))


def const(call: Callable[[], Any], *names: str) -> st.SearchStrategy[Call]:
    return st.just((call, names))


@st.composite
def dup_frame(
    draw: Any, columns: tuple[str, ...] = ("a", "b"), n: int | None = None
) -> pd.DataFrame:
    """A DataFrame with the given columns, one of them repeated."""
    n = draw(SIZES) if n is None else n
    frame = pd.DataFrame({c: draw(labels(n)) for c in columns})
    repeated = draw(st.sampled_from(columns))
    return pd.concat([frame, frame[[repeated]]], axis=1)


@st.composite
def bad_probabilities(draw: Any, n: int | None = None) -> np.ndarray:
    """An (n, 2) "probability" matrix with a NaN, an infinity, a negative or a row not summing to 1."""
    n = draw(SIZES) if n is None else n
    p1 = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    p = np.column_stack([1 - p1, p1])
    i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, 1))
    p[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf, -0.5, 1.7]))
    return p


class Model:
    """A model that answers ``predict_proba`` with the matrix it was given (rows cycled)."""

    def __init__(self, p: np.ndarray) -> None:
        self.p = np.asarray(p, dtype=np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.p[np.arange(len(X)) % len(self.p)]

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def __repr__(self) -> str:
        return f"Model({self.p.tolist()})"


GOOD = Model(np.array([[0.2, 0.8], [0.7, 0.3]]))


def with_model(build: Callable[[Model], Call]) -> st.SearchStrategy[Call]:
    return bad_probabilities(3).map(lambda p: build(Model(p)))


# ------------------------------------------------------------------------------ fixtures as data
L2 = np.array([[0, 1, -1], [1, 1, -1], [-1, 0, 0], [1, -1, 1]])
Y_SCORES = np.array([0.1, 0.9, 0.4, 0.8])
Y4 = [0, 1, 0, 1]
TAGS = pd.DataFrame({"x": [True, False, True, False], "y": [False, True, True, False]})
REF = pd.DataFrame({"age": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "city": list("aabbcc")})
PROFILE = monitoring.ReferenceProfile.fit(REF)
BY_TAG = pd.DataFrame(
    {"support": [10, 4, 6], "accuracy": [0.8, 0.5, 0.9]}, index=pd.Index([slices.OVERALL, "x", "y"])
)
COMMENTS = pd.DataFrame(
    {
        "COMMENT_ID": ["c1", "c2"],
        "CONTENT": ["hi there", "check my channel"],
        "VIDEO": ["Youtube03-LMFAO", "Youtube01-Psy"],
        "CLASS": [0, 1],
    }
)
GOLD = pd.DataFrame({"A": [1, 0], "B": [1, 1], "published": [1, 0]})
BANK = quiz.load_bank("w2_qb")
QUESTION = BANK.questions[0]


def long_ratings(columns: tuple[str, ...] = ("item", "who", "lab")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            columns[0]: [1, 1, 2, 2],
            columns[1]: ["p", "q", "p", "q"],
            columns[2]: ["x", "x", "y", "x"],
        }
    )


def yaml_bomb(levels: int) -> str:
    """The "billion laughs": each level an anchored list of nine aliases of the level before."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels + 1):
        lines.append(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def load_text(text: str, name: str = "w9_zz.yml") -> Any:
    """Write ``text`` to a fresh folder and load it as a bank."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        return quiz.load_bank(path)


def nested(levels: int) -> dict[str, Any]:
    """A bank-shaped dict whose lists repeat one object nine times per level (no YAML needed)."""
    node: Any = ["lol"] * 9
    for _ in range(levels):
        node = [node] * 9
    return {
        "id": "w1_qa",
        "title": "bomb",
        "syllabus": "W1.QA",
        "page": "week1/quiz_x.ipynb",
        "questions": node,
    }


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
#: Raw banks shaped like a bank but wrong: the real one with a part replaced by anything.
MANGLED = st.tuples(st.sampled_from(["questions", "id", "title", "page", "intro"]), JSON).map(
    lambda kv: {
        **{
            "id": "w2_qb",
            "title": "t",
            "syllabus": "W2.QB",
            "page": "week2/quiz_x.ipynb",
            "questions": [
                {
                    "id": "w2qb-x",
                    "kind": "single",
                    "prompt": "p",
                    "options": [{"text": 1, "correct": "yes", "feedback": []}],
                }
            ],
        },
        kv[0]: kv[1],
    }
)


def report_on_predictions(y_true: Any, predictions: Any, **kwargs: Any) -> Any:
    """``binary_report`` on predicted labels, called like the other functions of two label vectors."""
    return skewed.binary_report(y_true, predictions=predictions, **kwargs)


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class NoInput:
    reason: str


CONSTANT = NoInput("a constant")
RECORD = NoInput("a record that another public function builds and validates")
PROTOCOL = NoInput("a typing protocol or alias, not a function")
WARNING = NoInput("a warning or exception class")

NO_INPUT: dict[str, NoInput] = {
    "utils.labeling.lf:ABSTAIN": CONSTANT,
    "utils.labeling.lf:ApplyResult": RECORD,
    "utils.labeling.lf:LFError": WARNING,
    "utils.labeling.report:AgreementReport": RECORD,
    "utils.labeling.agreement:UndefinedAgreementWarning": WARNING,
    "utils.labeling.label_errors:LabelIssues": RECORD,
    "utils.error_analysis.slices:OVERALL": CONSTANT,
    "utils.error_analysis.skewed:BinaryReport": RECORD,
    "utils.error_analysis.audit:AuditResult": RECORD,
    "utils.deployment.patterns:N_BUCKETS": CONSTANT,
    "utils.deployment.patterns:Predictor": PROTOCOL,
    "utils.deployment.patterns:Router": PROTOCOL,
    "utils.deployment.monitoring:ColumnProfile": RECORD,
    "utils.deployment.monitoring:DriftMethod": PROTOCOL,
    "utils.deployment.monitoring:DriftReport": RECORD,
    "utils.spam_filter.data:ANNOTATORS": CONSTANT,
    "utils.spam_filter.data:BOOK_CLOCK_TIME": CONSTANT,
    "utils.spam_filter.data:DAY_SIZE": CONSTANT,
    "utils.spam_filter.data:DEVELOPMENT_VIDEOS": CONSTANT,
    "utils.spam_filter.data:PRODUCTION_VIDEOS": CONSTANT,
    "utils.spam_filter.data:SPLIT_SEED": CONSTANT,
    "utils.spam_filter.data:SPLIT_SIZES": CONSTANT,
    "utils.spam_filter.data:ProjectData": RECORD,
    "utils.spam_filter.data:load_annotations": NoInput("takes no argument; reads the shipped file"),
    "utils.spam_filter.rules:NOT_SPAM": CONSTANT,
    "utils.spam_filter.rules:SPAM": CONSTANT,
    "utils.spam_filter.rules:RULES": CONSTANT,
    "utils.spam_filter.rules:labeling_functions": NoInput("takes no argument"),
    "utils.spam_filter.features:LONG_COMMENT": CONSTANT,
    "utils.spam_filter.features:SHORT_COMMENT": CONSTANT,
    "utils.spam_filter.model:CLASS_NAMES": CONSTANT,
    "utils.spam_filter.model:PARAM_GRID": CONSTANT,
    "utils.spam_filter.model:TuneResult": RECORD,
    "utils.spam_filter.versions:VERSIONS": CONSTANT,
    "utils.spam_filter.versions:Version": PROTOCOL,
    "utils.spam_filter.spec:TARGETS": CONSTANT,
    "utils.quiz:BANKS_DIR": CONSTANT,
    "utils.quiz:UI_TEXT": CONSTANT,
    "utils.quiz:load_labels": NoInput("takes no argument; reads the shipped label map"),
    "utils.quiz:Bank": RECORD,
    "utils.quiz:LabelTarget": RECORD,
    "utils.quiz:Mistake": RECORD,
    "utils.quiz:Option": RECORD,
    "utils.quiz:Question": RECORD,
    "utils.quiz:Verdict": RECORD,
    "utils.quiz:QuizLinkWarning": WARNING,
}

DS = aggregate.DawidSkeneLabelModel

CASES: dict[str, dict[str, st.SearchStrategy[Call]]] = {
    # ------------------------------------------------------------------ labeling
    "utils.labeling.lf:LabelingFunction": {
        "type": st.one_of(
            st.one_of(st.integers(), st.none(), st.just("")).map(
                lambda v: (partial(lf.LabelingFunction, v, len), ("name",))
            ),
            st.one_of(st.integers(), st.text(max_size=3)).map(
                lambda v: (partial(lf.LabelingFunction, "r", v), ("f",))
            ),
            not_bool().map(lambda v: (partial(lf.LabelingFunction, "r", len, v), ("vectorized",))),
        ),
    },
    "utils.labeling.lf:labeling_function": {
        "bool": param_case(lf.labeling_function, "vectorized", not_bool(), "rule"),
        "type": st.one_of(st.integers(), st.floats()).map(
            lambda v: (partial(lf.labeling_function, v), ("name",))
        ),
    },
    "utils.labeling.lf:apply_lfs": {
        "columns": dup_frame().map(lambda df: (partial(lf.apply_lfs, df, [len]), ("df",))),
        "range": param_case(
            lf.apply_lfs,
            "cardinality",
            bad_ints(1).filter(lambda v: v is not None),
            pd.DataFrame({"a": [1]}),
            [lambda x: 0],
        ),
        "choice": param_case(
            lf.apply_lfs,
            "on_error",
            bad_choice("raise", "abstain"),
            pd.DataFrame({"a": [1]}),
            [lambda x: 0],
        ),
    },
    "utils.labeling.analysis:lf_summary": {
        "length": SIZES.filter(lambda n: n != len(L2))
        .flatmap(labels)
        .map(lambda y: (partial(analysis.lf_summary, L2, Y=y), ("Y",))),
        "missing": GAPS.map(lambda g: (partial(analysis.lf_summary, L2, Y=[0, g, 1, 1]), ("Y",))),
        "mixed": st.sampled_from(["1", "a"]).map(
            lambda s: (partial(analysis.lf_summary, L2, Y=[0, s, 1, 1]), ("Y",))
        ),
        "range": param_case(
            analysis.lf_summary, "cardinality", bad_ints(2).filter(lambda v: v is not None), L2
        ),
        "columns": st.just(
            (partial(analysis.lf_summary, pd.DataFrame(L2, columns=list("aab"))), ("L",))
        ),
        "index": st.just(
            (
                partial(analysis.lf_summary, pd.DataFrame(L2), Y=pd.Series(Y4, index=[3, 2, 1, 0])),
                ("L", "Y"),
            )
        ),
    },
    "utils.labeling.aggregate:majority_vote": {
        "range": st.one_of(
            param_case(aggregate.majority_vote, "cardinality", bad_ints(2), L2),
            param_case(
                aggregate.majority_vote,
                "seed",
                bad_ints(0).filter(lambda v: v is not None),
                L2,
                cardinality=2,
            ),
            st.floats(max_value=-1e-9, allow_nan=False).map(
                lambda w: (
                    partial(aggregate.majority_vote, L2, cardinality=2, weights=[1, w, 1]),
                    ("weights",),
                )
            ),
        ),
        "choice": param_case(
            aggregate.majority_vote,
            "tie_break",
            bad_choice("abstain", "random", "lowest"),
            L2,
            cardinality=2,
        ),
        "missing": GAPS.filter(lambda g: g is not pd.NA).map(
            lambda g: (
                partial(
                    aggregate.majority_vote, np.array([[0, g], [1, 1]], dtype=float), cardinality=2
                ),
                ("L",),
            )
        ),
    },
    "utils.labeling.aggregate:DawidSkeneLabelModel": {
        "range": st.one_of(
            param_case(DS, "cardinality", bad_ints(2)),
            param_case(DS, "n_iter", bad_ints(1), 2),
            param_case(DS, "tol", bad_numbers(0.0), 2),
            param_case(DS, "smoothing", bad_numbers(0.0, low_open=True), 2),
            param_case(DS, "seed", bad_ints(0), 2),
            param_case(DS, "better_than_random", not_bool(), 2),
            st.lists(st.floats(0, 1), min_size=2, max_size=3)
            .filter(lambda cb: len(cb) != 2 or abs(sum(cb) - 1) > 1e-6 or min(cb) <= 0)
            .map(lambda cb: (partial(DS, 2, class_balance=cb), ("class_balance",))),
        ),
        "degenerate": st.tuples(SIZES, st.integers(1, 4)).map(
            lambda nm: (partial(DS(2).fit, np.full(nm, -1)), ("L",))
        ),
    },
    "utils.labeling.agreement:percent_agreement": pair_cases(
        agreement.percent_agreement, ("a", "b")
    ),
    "utils.labeling.agreement:cohen_kappa": {
        **pair_cases(
            agreement.cohen_kappa,
            ("a", "b"),
            kind="str",
            flaws=("length", "missing", "mixed", "index"),
        ),
        "kind": pair_call(agreement.cohen_kappa, ("a", "b"), "kind"),
        "range": param_case(
            agreement.cohen_kappa,
            "undefined",
            bad_numbers(nan_ok=True).filter(lambda v: not isinstance(v, float)),
            [1, 2],
            [1, 1],
        ),
        "keys": GAPS.map(
            lambda g: (partial(agreement.cohen_kappa, [1, 2], [1, 1], labels=[1, g]), ("labels",))
        ),
        "choice": param_case(
            agreement.cohen_kappa,
            "weights",
            bad_choice(None, "linear", "quadratic").filter(lambda v: v is not None),
            [1, 2],
            [1, 1],
        ),
    },
    "utils.labeling.agreement:fleiss_kappa": {
        "range": param_case(
            agreement.fleiss_kappa,
            "n_categories",
            bad_ints(1).filter(lambda v: v is not None),
            [[0, 1], [1, 1]],
        ),
        "mixed": st.sampled_from([0, 1, 2.5]).map(
            lambda v: (partial(agreement.fleiss_kappa, [["a", v], ["b", "a"]]), ("ratings",))
        ),
        "choice": param_case(
            agreement.fleiss_kappa, "input", bad_choice("raters", "counts"), [[0, 1], [1, 1]]
        ),
        "counts": st.sampled_from([-1, 0.5, np.nan, True]).map(
            lambda v: (
                partial(
                    agreement.fleiss_kappa, np.array([[1, v], [2, 0]], dtype=object), input="counts"
                ),
                ("ratings",),
            )
        ),
    },
    "utils.labeling.agreement:krippendorff_alpha": {
        "choice": param_case(
            agreement.krippendorff_alpha,
            "level",
            bad_choice("nominal", "ordinal", "interval", "ratio"),
            [[1, 2], [1, 1]],
        ),
        "mixed": st.sampled_from([0, 1, 2.5]).map(
            lambda v: (
                partial(agreement.krippendorff_alpha, [["a", v], ["b", "a"]]),
                ("reliability_data",),
            )
        ),
        "keys": GAPS.map(
            lambda g: (
                partial(
                    agreement.krippendorff_alpha,
                    [["a", "b"], ["a", "a"]],
                    value_domain=["a", g, "b"],
                ),
                ("value_domain",),
            )
        ),
        "range": param_case(
            agreement.krippendorff_alpha,
            "undefined",
            st.one_of(st.booleans(), st.text(max_size=3)),
            [[1, 2], [1, 1]],
        ),
    },
    "utils.labeling.report:agreement_report": {
        "columns": st.just(
            (
                partial(
                    agreement_rounds.agreement_report,
                    pd.concat([long_ratings(), long_ratings()[["who"]]], axis=1),
                    item="item",
                    annotator="who",
                    label="lab",
                ),
                ("long_df",),
            )
        ),
        "roles": st.sampled_from(
            [("item", "item", "lab"), ("item", "who", "who"), ("lab", "who", "lab")]
        ).map(
            lambda r: (
                partial(
                    agreement_rounds.agreement_report,
                    long_ratings(),
                    item=r[0],
                    annotator=r[1],
                    label=r[2],
                ),
                ("item", "annotator", "label"),
            )
        ),
        "choice": param_case(
            agreement_rounds.agreement_report,
            "level",
            bad_choice("nominal", "ordinal", "interval", "ratio"),
            long_ratings(),
            item="item",
            annotator="who",
            label="lab",
        ),
        "type": not_frame().map(
            lambda v: (
                partial(agreement_rounds.agreement_report, v, item="i", annotator="a", label="l"),
                ("long_df",),
            )
        ),
    },
    "utils.labeling.label_errors:find_label_issues": {
        "length": SIZES.filter(lambda n: n != 4)
        .flatmap(labels)
        .map(
            lambda y: (
                partial(label_errors.find_label_issues, y, np.full((4, 2), 0.5)),
                ("labels", "pred_probs"),
            )
        ),
        "missing": GAPS.map(
            lambda g: (
                partial(label_errors.find_label_issues, [0, g, 1, 1], np.full((4, 2), 0.5)),
                ("labels",),
            )
        ),
        "mixed": st.sampled_from(["1", "a"]).map(
            lambda s: (
                partial(label_errors.find_label_issues, [0, s, 1, 1], np.full((4, 2), 0.5)),
                ("labels",),
            )
        ),
        "outputs": bad_probabilities(4).map(
            lambda p: (partial(label_errors.find_label_issues, Y4, p), ("pred_probs",))
        ),
        "range": param_case(
            label_errors.find_label_issues,
            "min_examples_per_class",
            bad_ints(0),
            Y4,
            np.full((4, 2), 0.5),
        ),
        "index": st.just(
            (
                partial(
                    label_errors.find_label_issues,
                    pd.Series(Y4, index=[1, 2, 3, 4]),
                    pd.DataFrame(np.full((4, 2), 0.5)),
                ),
                ("labels", "pred_probs"),
            )
        ),
    },
    # ------------------------------------------------------------------ error analysis
    "utils.error_analysis.slices:metrics_by_slice": {
        **{
            flaw: pair_call(
                lambda a, b: slices.metrics_by_slice(a, b, ["s"] * len(a)),
                ("y_true", "y_pred"),
                flaw,
            )
            for flaw in ("missing", "mixed", "kind", "index")
        },
        "length": pair_call(
            lambda a, b: slices.metrics_by_slice(a, b, ["s"] * max(len(a), len(b))),
            ("y_true", "y_pred"),
            "length",
        ),
        "keys": st.tuples(GAPS, st.sampled_from([1, 2.5])).flatmap(
            lambda gm: st.sampled_from(
                [
                    (partial(slices.metrics_by_slice, Y4, Y4, ["a", gm[0], "b", "a"]), ("slices",)),
                    (partial(slices.metrics_by_slice, Y4, Y4, ["a", gm[1], "b", "a"]), ("slices",)),
                    (
                        partial(
                            slices.metrics_by_slice,
                            Y4,
                            Y4,
                            pd.DataFrame({"v": ["a", gm[0], "b", "a"]}),
                        ),
                        ("slices",),
                    ),
                ]
            )
        ),
        "columns": dup_frame(("u", "v"), 4).map(
            lambda df: (partial(slices.metrics_by_slice, Y4, Y4, df), ("slices",))
        ),
        "pos_label": st.one_of(
            st.tuples(labels(4, "str"), labels(4, "str")).map(
                lambda ab: (
                    partial(slices.metrics_by_slice, ab[0], ab[1], ["s"] * 4),
                    ("pos_label",),
                )
            ),
            st.just(
                (
                    partial(slices.metrics_by_slice, [0, 2, 2, 0], [2, 2, 0, 0], ["s"] * 4),
                    ("pos_label",),
                )
            ),
        ),
        "range": st.one_of(
            param_case(slices.metrics_by_slice, "min_support", bad_ints(0), Y4, Y4, ["s"] * 4),
            param_case(
                slices.metrics_by_slice,
                "zero_division",
                st.one_of(st.booleans(), st.text(max_size=3)),
                Y4,
                Y4,
                ["s"] * 4,
            ),
            param_case(slices.metrics_by_slice, "include_overall", not_bool(), Y4, Y4, ["s"] * 4),
        ),
        "index": st.just(
            (
                partial(slices.metrics_by_slice, pd.Series(Y4), Y4, TAGS.set_axis([5, 6, 7, 8])),
                ("y_true", "slices"),
            )
        ),
        "outputs": st.sampled_from([np.nan, np.inf, "0.5"]).map(
            lambda v: (
                partial(slices.metrics_by_slice, Y4, Y4, ["s"] * 4, y_score=[0.1, v, 0.3, 0.4]),
                ("y_score",),
            )
        ),
    },
    "utils.error_analysis.slices:find_problem_slices": {
        "length": SIZES.filter(lambda n: n != 4).map(
            lambda n: (
                partial(slices.find_problem_slices, pd.DataFrame({"c": list("abab")}), [0] * n),
                ("X", "errors"),
            )
        ),
        "missing": GAPS.map(
            lambda g: (
                partial(slices.find_problem_slices, pd.DataFrame({"c": ["a", g, "b", "a"]}), Y4),
                ("X",),
            )
        ),
        "mixed": st.sampled_from([1, 2.5]).map(
            lambda v: (
                partial(slices.find_problem_slices, pd.DataFrame({"c": ["a", v, "b", "a"]}), Y4),
                ("X",),
            )
        ),
        "range": st.one_of(
            *(
                param_case(
                    slices.find_problem_slices, name, bad, pd.DataFrame({"c": list("abab")}), Y4
                )
                for name, bad in (
                    ("k", bad_ints(1)),
                    ("max_level", bad_ints(1, 2)),
                    ("min_support", bad_ints(0)),
                    ("alpha", bad_numbers(0.0, 1.0, low_open=True)),
                )
            )
        ),
        "columns": dup_frame(("c", "d"), 4).map(
            lambda df: (partial(slices.find_problem_slices, df, Y4), ("X",))
        ),
        "index": st.just(
            (
                partial(
                    slices.find_problem_slices,
                    pd.DataFrame({"c": list("abab")}),
                    pd.Series(Y4, index=[3, 2, 1, 0]),
                ),
                ("X", "errors"),
            )
        ),
    },
    "utils.error_analysis.prioritize:prioritization_table": {
        "columns": st.just(
            (
                partial(
                    prioritize.prioritization_table,
                    BY_TAG.assign(x=1).rename(columns={"x": "support"}),
                    human_level={"x": 0.9, "y": 0.9},
                ),
                ("by_tag",),
            )
        ),
        "range": st.one_of(
            bad_numbers(nan_ok=False).map(
                lambda v: (
                    partial(
                        prioritize.prioritization_table, BY_TAG, human_level={"x": v, "y": 0.9}
                    ),
                    ("human_level",),
                )
            ),
            bad_numbers(0.0, 1.0).map(
                lambda v: (
                    partial(
                        prioritize.prioritization_table,
                        BY_TAG,
                        human_level={"x": 0.9, "y": 0.9},
                        share_of_data={"x": v, "y": 0.5},
                    ),
                    ("share_of_data",),
                )
            ),
        ),
        "keys": st.just(
            (
                partial(
                    prioritize.prioritization_table,
                    BY_TAG.set_axis([slices.OVERALL, "x", "x"]),
                    human_level={"x": 0.9},
                ),
                ("by_tag",),
            )
        ),
    },
    "utils.error_analysis.skewed:binary_report": {
        **pair_cases(report_on_predictions, ("y_true", "predictions")),
        "pos_label": st.one_of(
            st.tuples(labels(4, "str"), labels(4, "str")).map(
                lambda ab: (partial(report_on_predictions, ab[0], ab[1]), ("pos_label",))
            ),
            labels(4, "str").map(
                lambda y: (partial(skewed.binary_report, y, scores=Y_SCORES), ("pos_label",))
            ),
            st.just((partial(report_on_predictions, [0, 2, 2, 0], [0, 0, 2, 2]), ("pos_label",))),
        ),
        "range": st.one_of(
            param_case(
                skewed.binary_report, "beta", bad_numbers(0.0, low_open=True), Y4, scores=Y_SCORES
            ),
            param_case(
                skewed.binary_report, "threshold", bad_numbers(none_ok=True), Y4, scores=Y_SCORES
            ),
            param_case(
                skewed.binary_report,
                "zero_division",
                st.one_of(st.booleans(), st.text(max_size=3), st.sampled_from([0.5, -1.0])),
                Y4,
                scores=Y_SCORES,
            ),
        ),
        "outputs": st.sampled_from([np.nan, np.inf, "0.5"]).map(
            lambda v: (partial(skewed.binary_report, Y4, scores=[0.1, v, 0.3, 0.4]), ("scores",))
        ),
        "arguments": st.sampled_from(
            [
                (partial(skewed.binary_report, Y4), ("scores", "predictions")),
                (
                    partial(skewed.binary_report, Y4, scores=Y_SCORES, predictions=Y4),
                    ("scores", "predictions"),
                ),
                (partial(skewed.binary_report, Y4, predictions=Y4, threshold=0.5), ("threshold",)),
            ]
        ),
    },
    "utils.error_analysis.skewed:confusion_frame": {
        **pair_cases(skewed.confusion_frame, ("y_true", "y_pred")),
        "choice": param_case(
            skewed.confusion_frame,
            "normalize",
            bad_choice(None, "true", "pred", "all").filter(lambda v: v is not None),
            Y4,
            Y4,
        ),
        "keys": GAPS.map(
            lambda g: (partial(skewed.confusion_frame, Y4, Y4, labels=[0, g]), ("labels",))
        ),
    },
    "utils.error_analysis.skewed:per_class_report": pair_cases(
        skewed.per_class_report, ("y_true", "y_pred")
    ),
    "utils.error_analysis.skewed:pr_curve": {
        "length": SIZES.filter(lambda n: n != 4).map(
            lambda n: (partial(skewed.pr_curve, Y4, [0.5] * n), ("y_true", "y_score"))
        ),
        "missing": GAPS.map(
            lambda g: (partial(skewed.pr_curve, [0, g, 1, 1], Y_SCORES), ("y_true",))
        ),
        "outputs": st.sampled_from([np.nan, np.inf, "0.5"]).map(
            lambda v: (partial(skewed.pr_curve, Y4, [0.1, v, 0.3, 0.4]), ("y_score",))
        ),
        "pos_label": labels(4, "str").map(
            lambda y: (partial(skewed.pr_curve, y, Y_SCORES), ("pos_label",))
        ),
        "index": st.just(
            (
                partial(skewed.pr_curve, pd.Series(Y4), pd.Series(Y_SCORES, index=[1, 2, 3, 4])),
                ("y_true", "y_score"),
            )
        ),
    },
    "utils.error_analysis.skewed:threshold_for": {
        "range": param_case(
            skewed.threshold_for, "value", bad_numbers(0.0, 1.0), Y4, Y_SCORES, target="recall"
        ),
        "choice": param_case(
            skewed.threshold_for,
            "target",
            bad_choice("precision", "recall"),
            Y4,
            Y_SCORES,
            value=0.5,
        ),
        "pos_label": labels(4, "str").map(
            lambda y: (
                partial(skewed.threshold_for, y, Y_SCORES, target="recall", value=0.5),
                ("pos_label",),
            )
        ),
    },
    "utils.error_analysis.audit:wilson_interval": {
        "length": st.tuples(SIZES, SIZES)
        .filter(lambda nm: nm[0] != nm[1])
        .map(
            lambda nm: (
                partial(audit.wilson_interval, [1] * nm[0], [5] * nm[1]),
                ("successes", "trials"),
            )
        ),
        "broadcast": SIZES.map(
            lambda n: (partial(audit.wilson_interval, 1, [5] * n), ("successes", "trials"))
        ),
        "counts": st.one_of(
            st.floats(0.01, 4.99).filter(lambda v: v != int(v)),
            st.integers(max_value=-1),
            st.just(True),
            st.just(np.nan),
            st.just("3"),
        ).flatmap(
            lambda v: st.sampled_from(
                [
                    (partial(audit.wilson_interval, v, 5), ("successes",)),
                    (partial(audit.wilson_interval, [1, v], [5, 5]), ("successes",)),
                    (partial(audit.wilson_interval, 0, v), ("trials",)),
                ]
            )
        ),
        "range": param_case(
            audit.wilson_interval,
            "level",
            bad_numbers(0.0, 1.0, low_open=True, high_open=True),
            1,
            5,
        ),
        "index": st.just(
            (
                partial(audit.wilson_interval, pd.Series([1, 2]), pd.Series([5, 5], index=[1, 0])),
                ("successes", "trials"),
            )
        ),
    },
    "utils.error_analysis.audit:performance_audit": {
        **{
            flaw: pair_call(
                lambda a, b: audit.performance_audit(a, b, ["s"] * len(a), min_support=1),
                ("y_true", "y_pred"),
                flaw,
            )
            for flaw in ("missing", "mixed", "kind")
        },
        "columns": dup_frame(("u", "v"), 4).map(
            lambda df: (partial(audit.performance_audit, Y4, Y4, df), ("slices",))
        ),
        "pos_label": st.tuples(labels(4, "str"), labels(4, "str")).map(
            lambda ab: (partial(audit.performance_audit, ab[0], ab[1], ["s"] * 4), ("pos_label",))
        ),
        "range": st.one_of(
            *(
                param_case(audit.performance_audit, name, bad, Y4, Y4, ["s"] * 4)
                for name, bad in (
                    ("max_gap", bad_numbers(0.0)),
                    ("min_support", bad_ints(0)),
                    ("n_boot", bad_ints(10)),
                    ("seed", bad_ints(0)),
                    ("level", bad_numbers(0.0, 1.0, low_open=True, high_open=True)),
                )
            )
        ),
        "choice": param_case(
            audit.performance_audit,
            "ci",
            bad_choice("wilson", "bootstrap", "none"),
            Y4,
            Y4,
            ["s"] * 4,
        ),
        "index": st.just(
            (
                partial(
                    audit.performance_audit,
                    pd.Series(Y4),
                    pd.Series(Y4),
                    TAGS.set_axis([9, 8, 7, 6]),
                ),
                ("y_true", "slices"),
            )
        ),
    },
    "utils.error_analysis.splits:stratified_split": {
        "columns": dup_frame(("y", "g"), 10).map(
            lambda df: (partial(splits.stratified_split, df, label="y"), ("df",))
        ),
        "range": param_case(
            splits.stratified_split,
            "seed",
            bad_ints(0).filter(lambda v: v is not None),
            pd.DataFrame({"y": [0, 1] * 5}),
            label="y",
        ),
        "missing": GAPS.map(
            lambda g: (
                partial(
                    splits.stratified_split,
                    pd.DataFrame({"y": [0, 1] * 4 + [g, 1]}, dtype=object),
                    label="y",
                ),
                ("label",),
            )
        ),
        "mixed": st.sampled_from(["1", "a"]).map(
            lambda s: (
                partial(
                    splits.stratified_split,
                    pd.DataFrame({"y": [0, 1] * 4 + [s, 1]}, dtype=object),
                    label="y",
                ),
                ("df",),
            )
        ),
        "choice": param_case(
            splits.stratified_split,
            "rare",
            bad_choice("error", "train", "merge"),
            pd.DataFrame({"y": [0, 1] * 5}),
            label="y",
        ),
    },
    # ------------------------------------------------------------------ deployment
    "utils.deployment.patterns:bucket_of": {
        "type": st.one_of(
            st.one_of(st.integers(), st.none(), st.binary()).map(
                lambda v: (partial(patterns.bucket_of, v), ("key",))
            ),
            st.one_of(st.integers(), st.none(), st.binary()).map(
                lambda v: (partial(patterns.bucket_of, "k", v), ("salt",))
            ),
        ),
    },
    "utils.deployment.patterns:CanaryRollout": {
        "range": st.one_of(
            param_case(patterns.CanaryRollout, "tolerance", bad_numbers(0.0)),
            param_case(patterns.CanaryRollout, "min_requests", bad_ints(0)),
            bad_numbers(0.0).map(
                lambda v: (
                    partial(patterns.CanaryRollout, guardrails={"error_rate": v}),
                    ("guardrails",),
                )
            ),
            st.tuples(
                st.sampled_from(["error_rate", "p99_ms"]),
                bad_numbers(0.0, nan_ok=True, none_ok=True),
            ).map(
                lambda kv: (
                    partial(
                        patterns.CanaryRollout().evaluate,
                        {"error_rate": 0.0, "p99_ms": 1.0, kv[0]: kv[1]},
                        n_requests=10,
                    ),
                    ("canary_metrics",),
                )
            ),
            bad_numbers(0.0, nan_ok=True, none_ok=True).map(
                lambda v: (
                    partial(
                        patterns.CanaryRollout().evaluate,
                        {"error_rate": 0.0, "p99_ms": 1.0},
                        {"error_rate": v},
                    ),
                    ("stable_metrics",),
                )
            ),
            param_case(
                patterns.CanaryRollout().evaluate,
                "n_requests",
                bad_ints(0).filter(lambda v: v is not None),
                {"error_rate": 0.0, "p99_ms": 1.0},
            ),
        ),
        "outputs": with_model(
            lambda m: (
                partial(
                    patterns.CanaryRollout(
                        steps=(1.0,), models={"stable": GOOD, "canary": m}
                    ).predict_proba,
                    np.zeros((3, 2)),
                    key="k",
                ),
                ("models",),
            )
        ),
    },
    "utils.deployment.patterns:ShadowDeployment": {
        "range": st.one_of(
            param_case(patterns.ShadowDeployment, "sample_rate", bad_numbers(0.0, 1.0), GOOD, GOOD),
            param_case(
                patterns.ShadowDeployment, "timeout_s", bad_numbers(0.0, low_open=True), GOOD, GOOD
            ),
            param_case(
                patterns.ShadowDeployment,
                "seed",
                bad_ints(0).filter(lambda v: v is not None),
                GOOD,
                GOOD,
            ),
        ),
        "outputs": with_model(
            lambda m: (
                partial(patterns.ShadowDeployment(m, GOOD).predict_proba, np.zeros((3, 2))),
                ("primary",),
            )
        ),
    },
    "utils.deployment.patterns:BlueGreen": {
        "choice": param_case(patterns.BlueGreen, "active", bad_choice("blue", "green"), GOOD, GOOD),
        "outputs": with_model(
            lambda m: (
                partial(patterns.BlueGreen(m, GOOD).predict_proba, np.zeros((3, 2))),
                ("blue",),
            )
        ),
    },
    "utils.deployment.monitoring:AlertRule": {
        "range": st.one_of(
            param_case(monitoring.AlertRule, "for_windows", bad_ints(1), "m", ">", 1.0),
            param_case(monitoring.AlertRule, "threshold", bad_numbers(), "m", ">"),
        ),
        "choice": param_case(
            monitoring.AlertRule, "op", bad_choice(">", ">=", "<", "<="), "m", threshold=1.0
        ),
    },
    "utils.deployment.monitoring:LatencyTracker": {
        "range": st.one_of(
            param_case(monitoring.LatencyTracker, "window", bad_ints(1)),
            bad_numbers(0.0).map(
                lambda v: (partial(monitoring.LatencyTracker().observe, v), ("ms",))
            ),
            bad_numbers(0.0)
            .filter(lambda v: v is not None)
            .map(lambda v: (partial(monitoring.LatencyTracker().observe_many, [1.0, v]), ("ms",))),
            bad_numbers(0.0, 100.0)
            .filter(lambda v: v is not None)
            .map(lambda v: (partial(monitoring.LatencyTracker().percentiles, [50, v]), ("q",))),
        ),
    },
    "utils.deployment.monitoring:ReferenceProfile": {
        "columns": dup_frame().map(
            lambda df: (partial(monitoring.ReferenceProfile.fit, df), ("df",))
        ),
        "range": st.one_of(
            param_case(monitoring.ReferenceProfile.fit, "n_bins", bad_ints(2), REF),
            param_case(monitoring.ReferenceProfile.fit, "ecdf_points", bad_ints(10), REF),
        ),
        "type": st.one_of(
            not_frame().map(lambda v: (partial(monitoring.ReferenceProfile.fit, v), ("df",))),
            st.one_of(st.integers(), st.none(), st.just("{"), st.just("[]")).map(
                lambda v: (partial(monitoring.ReferenceProfile.from_json, v), ("s",))
            ),
        ),
    },
    "utils.deployment.monitoring:drift_report": {
        "columns": st.just(
            (
                partial(monitoring.drift_report, PROFILE, pd.concat([REF, REF[["age"]]], axis=1)),
                ("current",),
            )
        ),
        "range": st.one_of(
            param_case(
                monitoring.drift_report,
                "drift_share",
                bad_numbers(0.0, 1.0, low_open=True),
                PROFILE,
                REF,
            ),
            param_case(
                monitoring.drift_report,
                "missing_tolerance",
                bad_numbers(0.0).filter(lambda v: v != math.inf),
                PROFILE,
                REF,
            ),
            param_case(
                monitoring.drift_report, "p_value_below", bad_numbers(0.0, 1.0), PROFILE, REF
            ),
            param_case(monitoring.drift_report, "distance_above", bad_numbers(0.0), PROFILE, REF),
            bad_numbers(0.0).map(
                lambda v: (
                    partial(monitoring.drift_report, PROFILE, REF, distance_above={"age": v}),
                    ("distance_above",),
                )
            ),
        ),
        "type": not_frame().map(
            lambda v: (partial(monitoring.drift_report, PROFILE, v), ("current",))
        ),
    },
    "utils.deployment.monitoring:prediction_drift": {
        "outputs": st.sampled_from([np.nan, np.inf, "0.5"]).flatmap(
            lambda v: st.sampled_from(
                [
                    (
                        partial(monitoring.prediction_drift, [0.1, v, 0.3], [0.2, 0.4]),
                        ("reference",),
                    ),
                    (partial(monitoring.prediction_drift, [0.1, 0.3], [0.2, v]), ("current",)),
                ]
            )
        ),
        "probabilities": bad_probabilities().map(
            lambda p: (partial(monitoring.prediction_drift, np.full((3, 2), 0.5), p), ("current",))
        ),
        "missing": GAPS.map(
            lambda g: (
                partial(monitoring.prediction_drift, ["a", g, "b"], ["a", "b"], kind="label"),
                ("reference",),
            )
        ),
        "mixed": st.sampled_from([1, 2.5]).map(
            lambda v: (
                partial(monitoring.prediction_drift, ["a", "b"], ["a", v], kind="label"),
                ("current",),
            )
        ),
        "range": st.one_of(
            param_case(
                monitoring.prediction_drift,
                "p_value_below",
                bad_numbers(0.0, 1.0),
                [0.1, 0.2],
                [0.3, 0.4],
            ),
            param_case(
                monitoring.prediction_drift,
                "distance_above",
                bad_numbers(0.0),
                [0.1, 0.2],
                [0.3, 0.4],
            ),
        ),
        "choice": param_case(
            monitoring.prediction_drift,
            "kind",
            bad_choice("proba", "label"),
            [0.1, 0.2],
            [0.3, 0.4],
        ),
    },
    "utils.deployment.monitoring:evaluate_alerts": {
        "columns": st.just(
            (
                partial(
                    monitoring.evaluate_alerts,
                    pd.DataFrame([[1, 2]], columns=["m", "m"]),
                    [monitoring.AlertRule("m", ">", 0.0)],
                ),
                ("history",),
            )
        ),
        "type": not_frame().map(
            lambda v: (partial(monitoring.evaluate_alerts, v, []), ("history",))
        ),
    },
    "utils.deployment.monitoring:reference_thresholds": {
        "range": param_case(
            monitoring.reference_thresholds,
            "n_std",
            bad_numbers(0.0, low_open=True),
            [1.0, 2.0, 3.0],
        ),
        "outputs": st.sampled_from([np.nan, np.inf, "2"]).map(
            lambda v: (partial(monitoring.reference_thresholds, [1.0, v, 3.0]), ("values",))
        ),
    },
    # ------------------------------------------------------------------ spam filter
    "utils.spam_filter.data:split_by_video": {
        "columns": dup_frame(("VIDEO", "CONTENT")).map(
            lambda df: (partial(sf_data.split_by_video, df), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(sf_data.split_by_video, v), ("comments",))),
    },
    "utils.spam_filter.data:deduplicate": {
        "columns": dup_frame(("CONTENT", "x")).map(
            lambda df: (partial(sf_data.deduplicate, df), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(sf_data.deduplicate, v), ("comments",))),
    },
    "utils.spam_filter.data:development_splits": {
        "range": param_case(
            sf_data.development_splits,
            "seed",
            bad_ints(0).filter(lambda v: v is not None),
            COMMENTS,
        ),
        "columns": dup_frame(("VIDEO", "x")).map(
            lambda df: (partial(sf_data.development_splits, df), ("development",))
        ),
    },
    "utils.spam_filter.data:gold_labels": {
        "columns": dup_frame(("COMMENT_ID", "CLASS")).map(
            lambda df: (partial(sf_data.gold_labels, df), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(sf_data.gold_labels, v), ("comments",))),
    },
    "utils.spam_filter.data:human_level": {
        "index": st.just(
            (
                partial(
                    sf_data.human_level, GOLD, pd.DataFrame({"t": [True, False]}, index=[1, 0])
                ),
                ("tags",),
            )
        ),
        "type": st.just(
            (partial(sf_data.human_level, GOLD, pd.DataFrame({"t": ["yes", "no"]})), ("tags",))
        ),
        "columns": st.just(
            (partial(sf_data.human_level, GOLD.assign(x=0).rename(columns={"x": "A"})), ("gold",))
        ),
    },
    "utils.spam_filter.data:production_days": {
        "range": param_case(sf_data.production_days, "size", bad_ints(1), COMMENTS),
    },
    "utils.spam_filter.data:project_data": {
        "type": st.one_of(st.integers(), st.text(max_size=3)).map(
            lambda v: (partial(sf_data.project_data, clock=v), ("clock",))
        ),
    },
    "utils.spam_filter.rules:weak_labels": {
        "columns": dup_frame(("CONTENT", "x")).map(
            lambda df: (partial(rules.weak_labels, df.astype(str)), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(rules.weak_labels, v), ("comments",))),
    },
    "utils.spam_filter.rules:two_keywords": {
        "columns": dup_frame(("CONTENT", "x")).map(
            lambda df: (partial(rules.two_keywords, df.astype(str)), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(rules.two_keywords, v), ("comments",))),
    },
    "utils.spam_filter.features:is_english": {
        "range": param_case(features.is_english, "min_share", bad_numbers(0.0, 1.0), "a b c"),
        "type": st.one_of(st.integers(), st.none(), st.binary()).map(
            lambda v: (partial(features.is_english, v), ("text",))
        ),
    },
    "utils.spam_filter.features:comment_features": {
        "mixed": st.sampled_from([1, 2.5, b"x"]).map(
            lambda v: (partial(features.comment_features, ["hi", v]), ("texts",))
        ),
        "missing": GAPS.map(lambda g: (partial(features.comment_features, ["hi", g]), ("texts",))),
    },
    "utils.spam_filter.features:comment_tags": {
        "columns": dup_frame(("CONTENT", "VIDEO")).map(
            lambda df: (partial(features.comment_tags, df.astype(str)), ("comments",))
        ),
        "type": not_frame().map(lambda v: (partial(features.comment_tags, v), ("comments",))),
    },
    "utils.spam_filter.model:make_model": {
        "range": param_case(model.make_model, "C", bad_numbers(0.0, low_open=True)),
        "choice": param_case(model.make_model, "analyzer", bad_choice("word", "char_wb")),
    },
    "utils.spam_filter.model:decision_metrics": {
        **pair_cases(model.decision_metrics, ("y_true", "y_pred")),
        "pos_label": st.tuples(labels(4, "str"), labels(4, "str")).map(
            lambda ab: (partial(model.decision_metrics, *ab), ("pos_label",))
        ),
    },
    "utils.spam_filter.model:band_metrics": {
        "outputs": bad_probabilities(4).map(
            lambda p: (partial(model.band_metrics, Y4, p, 0.5), ("proba",))
        ),
        "length": SIZES.filter(lambda n: n != 4).map(
            lambda n: (
                partial(model.band_metrics, [0] * n, np.full((4, 2), 0.5), 0.5),
                ("y_true", "proba"),
            )
        ),
        "missing": GAPS.map(
            lambda g: (
                partial(model.band_metrics, [0, g, 1, 1], np.full((4, 2), 0.5), 0.5),
                ("y_true",),
            )
        ),
        "range": param_case(
            model.band_metrics, "threshold", bad_numbers(0.0, 1.0), Y4, np.full((4, 2), 0.5)
        ),
        "index": st.just(
            (
                partial(
                    model.band_metrics,
                    pd.Series(Y4),
                    pd.DataFrame(np.full((4, 2), 0.5), index=[4, 5, 6, 7]),
                    0.5,
                ),
                ("y_true", "proba"),
            )
        ),
    },
    "utils.spam_filter.model:evaluate": {
        "length": SIZES.filter(lambda n: n != 2).map(
            lambda n: (partial(model.evaluate, GOOD, ["a", "b"], [0] * n), ("texts", "labels"))
        ),
        "mixed": st.sampled_from([1, 2.5]).map(
            lambda v: (partial(model.evaluate, GOOD, ["a", v], [0, 1]), ("texts",))
        ),
        "index": st.just(
            (
                partial(
                    model.evaluate, GOOD, pd.Series(["a", "b"]), pd.Series([0, 1], index=[1, 0])
                ),
                ("texts", "labels"),
            )
        ),
    },
    "utils.spam_filter.model:review_threshold": {
        "range": param_case(
            model.review_threshold,
            "share",
            bad_numbers(0.0, 1.0, low_open=True, high_open=True),
            GOOD,
            ["a"],
        ),
        "outputs": with_model(
            lambda m: (partial(model.review_threshold, m, ["a", "b", "c"], 0.5), ("model",))
        ),
    },
    "utils.spam_filter.model:tune": {
        "choice": param_case(
            model.tune,
            "metric",
            bad_choice("accuracy", "precision", "recall", "f1"),
            ["a", "b"],
            [0, 1],
            ["a"],
            [0],
        ),
        "length": SIZES.filter(lambda n: n != 2).map(
            lambda n: (
                partial(model.tune, ["a", "b"], [0] * n, ["a"], [0]),
                ("train_texts", "train_labels"),
            )
        ),
        "index": st.just(
            (
                partial(
                    model.tune, pd.Series(["a", "b"]), pd.Series([0, 1], index=[5, 6]), ["a"], [0]
                ),
                ("train_texts", "train_labels"),
            )
        ),
    },
    "utils.spam_filter.model:filter_app": {
        "type": st.one_of(st.integers(), st.none(), st.just("")).map(
            lambda v: (partial(model.filter_app, GOOD, v), ("version",))
        ),
    },
    "utils.spam_filter.versions:training_set": {
        "type": not_frame().map(lambda v: (partial(versions.training_set, v, "v1"), ("data",))),
    },
    "utils.spam_filter.versions:train": {
        "type": not_frame().map(lambda v: (partial(versions.train, v, "v1"), ("data",))),
    },
    "utils.spam_filter.versions:record_training_sets": {
        "type": not_frame().map(lambda v: (partial(versions.record_training_sets, v), ("data",))),
    },
    # ------------------------------------------------------------------ quizzes
    "utils.quiz:load_bank": {
        "aliases": st.integers(1, 9).map(
            lambda k: (partial(load_text, yaml_bomb(k)), ("w9_zz.yml",))
        ),
        "size": st.just((partial(load_text, "intro: " + "x" * (1 << 20) + "\n"), ("w9_zz.yml",))),
        "schema": JSON.map(
            lambda d: (partial(load_text, __import__("json").dumps(d)), ("w9_zz.yml",))
        ),
        "type": st.one_of(st.integers(), st.none()).map(
            lambda v: (partial(quiz.load_bank, v), ("bank",))
        ),
        "folder": st.just(
            (partial(quiz.load_bank, "w1_qa", banks_dir="/nonexistent/banks"), ("banks_dir",))
        ),
    },
    "utils.quiz:validate_bank": {
        "schema": st.one_of(JSON, MANGLED).map(
            lambda d: (partial(quiz.validate_bank, d, name="w9_test"), ("w9_test",))
        ),
        "aliases": st.integers(5, 9).map(
            lambda k: (partial(quiz.validate_bank, nested(k), name="w9_test"), ("w9_test",))
        ),
    },
    "utils.quiz:parse_number": {
        # a learner's typed text: never an error, but a number too big for a float is none
        "degenerate": st.integers(309, 99_999).map(
            lambda e: (
                lambda: None if quiz.parse_number(f"1e{e}") is None else pytest.fail("inf"),
                (),
            )
        ),
    },
    "utils.quiz:bank_ids": {
        "folder": st.just((partial(quiz.bank_ids, "/nonexistent/banks"), ("banks_dir",))),
        "type": st.integers().map(lambda v: (partial(quiz.bank_ids, v), ("banks_dir",))),
    },
    "utils.quiz:display_order": {
        "type": not_frame().map(lambda v: (partial(quiz.display_order, v), ("question",))),
    },
    "utils.quiz:evaluate": {
        "type": not_frame().map(lambda v: (partial(quiz.evaluate, v, 0), ("question",))),
        "range": st.one_of(
            st.integers().filter(lambda i: not 0 <= i < len(QUESTION.options)),
            st.booleans(),
            st.text(max_size=2),
        ).map(lambda r: (partial(quiz.evaluate, QUESTION, r), ("response",))),
    },
    "utils.quiz:render_html": {
        "type": st.integers().map(lambda v: (partial(quiz.render_html, v), ("bank",))),
        "bool": param_case(quiz.render_html, "strict", not_bool(), BANK, labels={}),
        "labels": st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers())).map(
            lambda v: (partial(quiz.render_html, BANK, labels=v), ("labels",))
        ),
    },
    "utils.quiz:show": {
        "type": st.one_of(st.integers(), st.none()).map(
            lambda v: (partial(quiz.show, v), ("bank",))
        ),
        "bool": param_case(quiz.show, "strict", not_bool(), "w2_qb"),
    },
    "utils.quiz:Quiz": {
        "type": not_frame().map(lambda v: (partial(quiz.Quiz, v), ("bank",))),
        "bool": param_case(quiz.Quiz, "strict", not_bool(), BANK, labels={}),
    },
}

PARAMS = [(key, flaw) for key, cases in CASES.items() for flaw in cases]


def test_every_public_name_is_in_the_table() -> None:
    public = {f"{m}:{name}" for m in MODULES for name in importlib.import_module(m).__all__}
    listed = set(CASES) | set(NO_INPUT)
    assert not set(CASES) & set(NO_INPUT), "a name is both tested and exempt"
    assert sorted(public - listed) == [], "public names without bad-input cases"
    assert sorted(listed - public) == [], "table entries that are not public names"


def _names_in(message: str, names: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", message) for n in names)


@pytest.mark.parametrize(("key", "flaw"), PARAMS, ids=[f"{k.split(':')[1]}-{f}" for k, f in PARAMS])
@settings(
    max_examples=8,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_bad_input_is_refused(key: str, flaw: str, data: st.DataObject) -> None:
    call, names = data.draw(CASES[key][flaw])
    if not names:  # the case checks its own outcome
        call()
        return
    with pytest.raises((ValueError, TypeError)) as info:
        result = call()
        pytest.fail(f"{key} answered {result!r} instead of refusing")  # pragma: no cover
    assert _names_in(str(info.value), names), f"{info.value!r} does not name {names}"


# ------------------------------------------------------------------------------ the validators
def test_validators_name_the_argument_and_the_value() -> None:
    from utils import _validation as v

    with pytest.raises(ValueError, match=r"^k must be an int >= 1, got -1$"):
        v.check_int("k", -1, min=1)
    with pytest.raises(TypeError, match=r"^n must be an int >= 0, got True$"):
        v.check_int("n", True, min=0)  # a bool is not a count
    with pytest.raises(ValueError, match=r"^eps must be a finite number > 0, got -0.1$"):
        v.check_number("eps", -0.1, min=0.0, min_open=True)
    with pytest.raises(ValueError, match=r"^share must be a number in \[0, 1\], got nan$"):
        v.check_probability("share", float("nan"))
    with pytest.raises(ValueError, match=r"^mode must be 'max' or 'min', got 1$"):
        v.check_choice("mode", 1, ("max", "min"))
    with pytest.raises(ValueError, match=r"^x must be 1 or 2, got True$"):
        v.check_choice("x", True, (1, 2))
    assert isinstance(v.ArgumentTypeError("x"), ValueError)  # older callers catch ValueError
    with pytest.raises(ValueError, match="keys contains missing values"):
        v.as_1d(["a", float("nan")], "keys")  # NumPy alone would make it the string "nan"
    with pytest.raises(TypeError, match=r"texts\[1\] is 1 \(number\)"):
        v.as_1d(["a", 1], "texts")  # NumPy alone would make it the string "1"
    assert v.as_1d(["a", None], "keys", allow_missing=True)[1] is None
    assert v.as_1d([1, 2.5], "scores").dtype == np.float64  # numbers of two types are numbers
    with pytest.raises(TypeError, match="scores must be numeric, got strings"):
        v.as_finite_float(["0.5", "1"], "scores")
    with pytest.raises(ValueError, match=r"t must hold counts .* got 2.5"):
        v.check_counts([1, 2.5], "t")


# ------------------------------------------------------------------------------ the examples
def test_string_labels_with_the_default_positive_class_are_refused() -> None:
    """The issue's example: half-wrong predictions reported with accuracy 1.0."""
    with pytest.raises(ValueError, match="pos_label=1 is not among"):
        skewed.binary_report(
            ["spam", "ham", "spam", "ham"], predictions=["ham", "spam", "spam", "ham"]
        )
    report = skewed.binary_report(
        ["spam", "ham", "spam", "ham"], predictions=["ham", "spam", "spam", "ham"], pos_label="spam"
    )
    assert report.accuracy == 0.5


def test_a_batch_without_positives_is_still_scored() -> None:
    """One single class of the positive class's kind is a batch without positives, not a mistake."""
    report = skewed.binary_report([0, 0, 0], predictions=[0, 0, 0])
    assert report.accuracy == 1.0 and math.isnan(report.recall)
    frame = slices.metrics_by_slice([0, 0], [0, 0], ["a", "b"])
    assert math.isnan(frame.loc[slices.OVERALL, "recall"])


@settings(max_examples=20, deadline=2000, derandomize=True, database=None)
@given(
    st.lists(st.sampled_from(["a", "b", None, float("nan")]), min_size=2, max_size=8).filter(
        lambda v: any(isinstance(x, str) for x in v)
    )
)
def test_nan_among_string_ratings_stays_missing(ratings: list[Any]) -> None:
    """NumPy turns ``["a", nan]`` into ``["a", "nan"]``; a rating table keeps NaN missing."""
    table = [ratings, list(reversed(ratings))]
    as_none = [[None if not isinstance(x, str) else x for x in row] for row in table]
    got = agreement.krippendorff_alpha(table, undefined=-2.0)
    assert got == agreement.krippendorff_alpha(as_none, undefined=-2.0)


def test_an_audit_that_judged_nothing_has_not_passed() -> None:
    """Every slice below ``min_support``: nothing was checked, so the audit did not pass."""
    result = audit.performance_audit(Y4, Y4, ["a", "a", "b", "b"], metric="accuracy", min_support=3)
    assert result.passed is False and result.worst_slice == ""
    assert set(result.table["verdict"]) == {"too few examples"}


@pytest.mark.parametrize("levels", [4, 6, 8])
def test_a_yaml_alias_bomb_fails_fast(levels: int) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="aliases"):
        load_text(yaml_bomb(levels))
    assert time.perf_counter() - start < 1.0
