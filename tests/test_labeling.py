"""Tests for utils.labeling: labeling functions, their analysis and vote aggregation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from utils.labeling.aggregate import DawidSkeneLabelModel, _majority_vote_proba, majority_vote
from utils.labeling.analysis import (
    _label_conflict,
    _label_coverage,
    _label_overlap,
    _lf_pairwise_conflicts,
    lf_summary,
)
from utils.labeling.dependencies import lf_dependencies
from utils.labeling.lf import (
    ABSTAIN,
    ApplyResult,
    LabelingFunction,
    LFError,
    apply_lfs,
    labeling_function,
)

SPAM, NOT_SPAM = 1, 0


@pytest.fixture
def comments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["Check out my channel http://x", "love this song", "free gift", "ok", "wow"],
            "n chars": [29, 14, 9, 2, 3],
        },
        index=[10, 11, 12, 13, 14],
    )


# ---------------------------------------------------------------------------------------- lf
def test_decorator_bare_and_with_arguments() -> None:
    @labeling_function
    def bare(x):
        return SPAM

    @labeling_function("named")
    def positional(x):
        return SPAM

    @labeling_function(name="kw", vectorized=True)
    def keyword(df):
        return np.ones(len(df), dtype=int)

    @labeling_function()
    def empty_parens(x):
        return SPAM

    assert isinstance(bare, LabelingFunction)
    assert (bare.name, bare.vectorized) == ("bare", False)
    assert positional.name == "named"
    assert (keyword.name, keyword.vectorized) == ("kw", True)
    assert empty_parens.name == "empty_parens"
    assert bare("anything") == SPAM


def test_decorator_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="name"):
        labeling_function(3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="once"):
        labeling_function("a", name="b")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="vectorized"):
        labeling_function(vectorized="yes")  # type: ignore[call-overload]


def test_apply_rowwise_known_matrix(comments: pd.DataFrame) -> None:
    @labeling_function
    def link(x):
        return SPAM if "http" in x.text else ABSTAIN

    @labeling_function
    def song(x):
        return NOT_SPAM if "song" in x["text"] else ABSTAIN

    @labeling_function
    def short(x):  # a column name that is not an identifier, reached by key
        return NOT_SPAM if x["n chars"] < 5 else ABSTAIN

    res = apply_lfs(comments, [link, song, short], cardinality=2)
    assert isinstance(res, ApplyResult)
    expected = [[1, -1, -1], [-1, 0, -1], [-1, -1, -1], [-1, -1, 0], [-1, -1, 0]]
    np.testing.assert_array_equal(res.L, expected)
    assert res.L.dtype == np.int8
    assert res.lf_names == ("link", "song", "short")
    assert dict(res.faults) == {"link": 0, "song": 0, "short": 0}
    assert set(res.seconds) == set(res.lf_names)
    assert all(s >= 0 for s in res.seconds.values())
    frame = res.to_frame(comments.index)
    assert list(frame.columns) == ["link", "song", "short"]


def test_row_supports_positions_and_reports_unknown_columns(comments: pd.DataFrame) -> None:
    @labeling_function
    def by_position(x):
        return SPAM if x[1] > 20 else ABSTAIN

    @labeling_function
    def typo(x):
        return SPAM if x["txt"] else ABSTAIN

    np.testing.assert_array_equal(apply_lfs(comments, [by_position]).L[:, 0], [1, -1, -1, -1, -1])
    with pytest.raises(LFError, match=r"'typo' failed on row 10.*no column 'txt'"):
        apply_lfs(comments, [typo])


def test_vectorised_matches_rowwise() -> None:
    rng = np.random.default_rng(0)
    words = np.array(["free", "song", "http", "nice", "view", "hi"])
    df = pd.DataFrame({"text": [" ".join(rng.choice(words, 3)) for _ in range(300)]})

    @labeling_function
    def free_row(x):
        return SPAM if "free" in x.text else ABSTAIN

    @labeling_function(vectorized=True)
    def free_vec(df):
        return np.where(df["text"].str.contains("free", regex=False), SPAM, ABSTAIN)

    @labeling_function(vectorized=True)
    def free_series(df):
        return df["text"].str.contains("free", regex=False).map({True: SPAM, False: ABSTAIN})

    res = apply_lfs(df, [free_row, free_vec, free_series], cardinality=2)
    np.testing.assert_array_equal(res.L[:, 0], res.L[:, 1])
    np.testing.assert_array_equal(res.L[:, 0], res.L[:, 2])
    assert 0 < (res.L[:, 0] == SPAM).sum() < 300


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "returned None"),
        ("spam", "returned 'spam'"),
        (1.0, "returned 1.0 of type float"),
        (True, "returned True of type bool"),
        (2, "label 2, outside the allowed range"),
        (-2, "label -2, outside the allowed range"),
    ],
)
def test_rowwise_bad_outputs_name_function_and_row(comments: pd.DataFrame, value, message) -> None:
    @labeling_function
    def buggy(x):
        return value if x["n chars"] == 9 else ABSTAIN

    with pytest.raises(
        LFError, match=rf"'buggy' failed on row 12 \(position 2\).*{message}"
    ) as err:
        apply_lfs(comments, [buggy], cardinality=2)
    assert (err.value.lf_name, err.value.row, err.value.position) == ("buggy", 12, 2)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda df: np.zeros(len(df) - 1, dtype=int), "one label per row"),
        (lambda df: np.array(["a"] * len(df)), "dtype"),
        (lambda df: np.array([0.0, 0.5, 1.0, 1.0, 0.0]), "floats"),
        (lambda df: pd.Series([0, 1, None, 1, 0], dtype="Int64"), "row 12.*missing"),
        (lambda df: [0, 1, "x", 1, 0], "row 12.*'x'"),
        (lambda df: np.array([0, 1, 3, 1, 0]), "row 12.*label 3"),
    ],
)
def test_vectorised_bad_outputs(comments: pd.DataFrame, output, message) -> None:
    lf = LabelingFunction("vec", output, vectorized=True)
    with pytest.raises(LFError, match=rf"'vec'.*{message}"):
        apply_lfs(comments, [lf], cardinality=2)


def test_exceptions_raise_or_abstain(comments: pd.DataFrame) -> None:
    @labeling_function
    def crashes(x):
        return SPAM if 1 / (x["n chars"] - 2) > 0 else ABSTAIN

    with pytest.raises(LFError, match=r"'crashes' failed on row 13 .*ZeroDivisionError"):
        apply_lfs(comments, [crashes])
    res = apply_lfs(comments, [crashes], on_error="abstain")
    np.testing.assert_array_equal(res.L[:, 0], [1, 1, 1, -1, 1])
    assert res.faults == {"crashes": 1}

    vec = LabelingFunction("vec", lambda df: df["missing"], vectorized=True)
    with pytest.raises(LFError, match="'vec' failed: KeyError"):
        apply_lfs(comments, [vec])
    res = apply_lfs(comments, [vec], on_error="abstain")
    assert (res.L == -1).all() and res.faults == {"vec": 5}


def test_apply_lfs_input_checks(comments: pd.DataFrame) -> None:
    @labeling_function
    def one(x):
        return SPAM

    with pytest.raises(ValueError, match="df is empty"):
        apply_lfs(comments.iloc[:0], [one])
    with pytest.raises(ValueError, match="lfs is empty"):
        apply_lfs(comments, [])
    with pytest.raises(ValueError, match=r"unique.*'one'"):
        apply_lfs(comments, [one, one])
    with pytest.raises(TypeError, match="DataFrame"):
        apply_lfs(comments["text"], [one])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single function"):
        apply_lfs(comments, one)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"lfs\[1\]"):
        apply_lfs(comments, [one, "two"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="on_error"):
        apply_lfs(comments, [one], on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cardinality"):
        apply_lfs(comments, [one], cardinality=0)


def test_plain_function_and_wide_labels(comments: pd.DataFrame) -> None:
    def plain(x):
        return 300

    res = apply_lfs(comments, [plain])
    assert res.lf_names == ("plain",)
    assert res.L.dtype == np.int16 and (res.L == 300).all()


# ---------------------------------------------------------------------------------- analysis
def _brute_summary(L: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    n, m = L.shape
    rows = []
    for j in range(m):
        cov = ovl = con = cor = inc = 0
        for i in range(n):
            if L[i, j] == -1:
                continue
            cov += 1
            others = [L[i, t] for t in range(m) if t != j and L[i, t] != -1]
            ovl += bool(others)
            con += any(o != L[i, j] for o in others)
            cor += L[i, j] == Y[i]
            inc += L[i, j] != Y[i]
        rows.append(
            {
                "j": j,
                "Polarity": sorted(set(L[:, j].tolist()) - {-1}),
                "Coverage": cov / n,
                "Overlaps": ovl / n,
                "Conflicts": con / n,
                "Correct": cor,
                "Incorrect": inc,
                "Emp. Acc.": cor / (cor + inc) if cor + inc else np.nan,
            }
        )
    return pd.DataFrame(rows)


label_matrices = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        arrays(np.int8, st.tuples(st.just(n), st.integers(1, 5)), elements=st.integers(-1, 2)),
        arrays(np.int64, st.just(n), elements=st.integers(0, 2)),
    )
)


@settings(max_examples=60, deadline=None)
@given(label_matrices)
def test_lf_summary_matches_brute_force(data) -> None:
    L, Y = data
    got = lf_summary(L, Y=Y, cardinality=3).reset_index(drop=True)
    want = _brute_summary(L, Y)
    assert list(got.columns) == [
        "j",
        "Polarity",
        "Coverage",
        "Overlaps",
        "Conflicts",
        "Correct",
        "Incorrect",
        "Emp. Acc.",
    ]
    assert got["Polarity"].tolist() == want["Polarity"].tolist()
    pd.testing.assert_frame_equal(
        got.drop(columns="Polarity"), want.drop(columns="Polarity"), check_dtype=False
    )
    n = L.shape[0]
    votes = (L != -1).sum(axis=1)
    assert _label_coverage(L) == pytest.approx((votes > 0).mean())
    assert _label_overlap(L) == pytest.approx((votes > 1).mean())
    conflicted = [len(set(r.tolist()) - {-1}) > 1 for r in L]
    assert _label_conflict(L) == pytest.approx(np.mean(conflicted))
    pair = _lf_pairwise_conflicts(L, normalize=False).to_numpy()
    for a in range(L.shape[1]):
        for b in range(L.shape[1]):
            both = (L[:, a] != -1) & (L[:, b] != -1) & (L[:, a] != L[:, b])
            assert pair[a, b] == both.sum()
    np.testing.assert_allclose(_lf_pairwise_conflicts(L).to_numpy(), pair / n)


def test_lf_summary_without_gold_and_names() -> None:
    L = np.array([[1, -1], [1, 0], [-1, -1]])
    table = lf_summary(L, lf_names=["free", "song"])
    assert list(table.columns) == ["j", "Polarity", "Coverage", "Overlaps", "Conflicts"]
    assert list(table.index) == ["free", "song"]
    assert table.loc["free", "Coverage"] == pytest.approx(2 / 3)
    assert table.loc["song", "Conflicts"] == pytest.approx(1 / 3)
    res = ApplyResult(L=L, lf_names=("a", "b"), faults={}, seconds={})
    assert list(lf_summary(res).index) == ["a", "b"]
    assert list(lf_summary(pd.DataFrame(L, columns=["x", "y"])).index) == ["x", "y"]


def test_lf_summary_never_voting_function_is_nan_not_zero() -> None:
    L = np.array([[1, -1], [0, -1]])
    table = lf_summary(L, Y=[1, 1])
    assert table["Emp. Acc."].iloc[0] == pytest.approx(0.5)
    assert np.isnan(table["Emp. Acc."].iloc[1])
    assert table["Polarity"].iloc[1] == []


@pytest.mark.parametrize(
    ("L", "kwargs", "message"),
    [
        (np.array([1, 0, -1]), {}, "2-D"),
        (np.empty((0, 3), dtype=int), {}, "empty"),
        (np.array([[1, -2]]), {}, "label -2"),
        (np.array([[1, 3]]), {"cardinality": 2}, "label 3.*cardinality=2"),
        (np.array([[1.0, np.nan]]), {}, "NaN"),
        (np.array([[0.5, 1]]), {}, "non-integer"),
        (np.array([["a", "b"]]), {}, "integer labels"),
        (np.array([[1, 0]]), {"Y": [1, 0, 1]}, "different lengths"),
        (np.array([[1, 0]]), {"Y": [-1]}, "unknown label -1"),
        (np.array([[1, 0]]), {"lf_names": ["a"]}, "1 names but L has 2"),
    ],
)
def test_lf_summary_bad_inputs(L, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        lf_summary(L, **kwargs)


# --------------------------------------------------------------------------------- aggregate
def _brute_vote(row, k, weights, tie_break):
    tally = Counter()
    for j, v in enumerate(row):
        if v != -1:
            tally[v] += 1 if weights is None else weights[j]
    if not tally or max(tally.values()) == 0:
        return -1
    best = max(tally.values())
    winners = sorted(c for c, t in tally.items() if t == best)
    if len(winners) > 1 and tie_break == "abstain":
        return -1
    return winners[0]


@settings(max_examples=60, deadline=None)
@given(label_matrices, st.sampled_from(["abstain", "lowest"]), st.booleans())
def test_majority_vote_matches_brute_force(data, tie_break, weighted) -> None:
    L, _ = data
    weights = np.arange(1, L.shape[1] + 1, dtype=float) if weighted else None
    got = majority_vote(L, cardinality=3, weights=weights, tie_break=tie_break)
    want = [_brute_vote(r, 3, weights, tie_break) for r in L]
    np.testing.assert_array_equal(got, want)
    proba = _majority_vote_proba(L, cardinality=3, weights=weights)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    voted = got != -1
    np.testing.assert_array_equal(proba[voted].argmax(axis=1), got[voted])


def test_majority_vote_ties_and_abstains() -> None:
    L = np.array([[1, 0], [-1, -1], [1, 1], [0, -1]])
    np.testing.assert_array_equal(majority_vote(L, cardinality=2), [-1, -1, 1, 0])
    np.testing.assert_array_equal(
        majority_vote(L, cardinality=2, tie_break="lowest"), [0, -1, 1, 0]
    )
    tied = np.tile([[0, 1, 2]], (2000, 1))
    draws = majority_vote(tied, cardinality=3, tie_break="random", seed=1)
    assert set(draws.tolist()) == {0, 1, 2}
    assert np.abs(np.bincount(draws) / 2000 - 1 / 3).max() < 0.05
    np.testing.assert_array_equal(
        draws, majority_vote(tied, cardinality=3, tie_break="random", seed=1)
    )
    np.testing.assert_allclose(_majority_vote_proba(L, cardinality=2)[1], [0.5, 0.5])
    np.testing.assert_array_equal(majority_vote(L, cardinality=2, weights=[0, 1]), [0, -1, 1, -1])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cardinality": 1}, ValueError, "cardinality"),
        ({"cardinality": 2, "tie_break": "first"}, ValueError, "tie_break"),
        ({"cardinality": 2, "weights": [1.0]}, ValueError, "weights has 1"),
        ({"cardinality": 2, "weights": [1.0, -1.0]}, ValueError, ">= 0"),
        ({"cardinality": 2, "weights": [1.0, np.nan]}, ValueError, "NaN"),
    ],
)
def test_majority_vote_bad_inputs(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        majority_vote(np.array([[1, 0]]), **kwargs)


def test_majority_vote_label_beyond_cardinality_is_value_error() -> None:
    with pytest.raises(ValueError, match="label 2"):
        majority_vote(np.array([[2, 0]]), cardinality=2)


def _simulate(n: int, accuracies, coverages, seed: int = 0, k: int = 2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.full((n, len(accuracies)), -1, dtype=np.int8)
    for j, (acc, cov) in enumerate(zip(accuracies, coverages, strict=True)):
        votes = rng.random(n) < cov
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, k, n)) % k
        L[votes, j] = np.where(right, y, wrong)[votes]
    return L, y


def test_dawid_skene_recovers_accuracies() -> None:
    acc = [0.95, 0.9, 0.8, 0.7, 0.6]
    L, y = _simulate(20_000, acc, [0.5, 0.4, 0.6, 0.5, 0.7], k=3)
    model = DawidSkeneLabelModel(3).fit(L)
    np.testing.assert_allclose(model.lf_accuracies_, acc, atol=0.03)
    assert model.converged_ and 1 <= model.n_iter_ <= 100
    assert model.confusion_.shape == (5, 3, 4)
    np.testing.assert_allclose(model.confusion_.sum(axis=2), 1.0)
    pred = model.predict(L)
    voted = pred != -1
    np.testing.assert_array_equal(voted, (L != -1).any(axis=1))
    mv = majority_vote(L, cardinality=3, tie_break="random")
    mv_voted = mv != -1
    assert (pred[voted] == y[voted]).mean() >= (mv[mv_voted] == y[mv_voted]).mean() - 0.005
    proba = model.predict_proba(L)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_dawid_skene_one_lf_and_one_sided_rules() -> None:
    L, _ = _simulate(500, [0.9], [0.6])
    model = DawidSkeneLabelModel(2).fit(L)
    pred = model.predict(L)
    np.testing.assert_array_equal(pred, L[:, 0])
    # A rule that only ever says 1 is informative because abstaining is modelled.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    only_spam = np.where((y == 1) & (rng.random(2000) < 0.8), 1, -1)
    noisy = [np.where(rng.random(2000) < 0.8, y, 1 - y) for _ in range(2)]
    model = DawidSkeneLabelModel(2).fit(np.stack([only_spam, *noisy], axis=1))
    assert model.confusion_[0, 1, 2] > 0.7 and model.confusion_[0, 0, 2] < 0.05


def test_dawid_skene_better_than_random_constraint() -> None:
    # Dependent rules: "short" fires exactly when no keyword does, a trap for the clustering.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 3000)
    kw1 = np.where((y == 1) & (rng.random(3000) < 0.6), 1, -1)
    kw2 = np.where((y == 1) & (rng.random(3000) < 0.5), 1, -1)
    ham = np.where((y == 0) & (rng.random(3000) < 0.3) | (rng.random(3000) < 0.05), 0, -1)
    short = np.where((kw1 == -1) & (kw2 == -1) & (rng.random(3000) < 0.5), 0, -1)
    L = np.stack([kw1, kw2, ham, short], axis=1)
    model = DawidSkeneLabelModel(2).fit(L)
    conf = model.confusion_
    for lab in (0, 1):
        assert (conf[:, lab, lab + 1] >= conf[:, 1 - lab, lab + 1] - 1e-12).all()
    np.testing.assert_allclose(conf.sum(axis=2), 1.0)
    free = DawidSkeneLabelModel(2, better_than_random=False).fit(L)
    np.testing.assert_allclose(free.confusion_.sum(axis=2), 1.0)


def test_dawid_skene_pattern_compression_both_paths() -> None:
    rng = np.random.default_rng(0)
    for m in (3, 50):  # 3**50 does not fit an int64 code: the np.unique(axis=0) path
        L = rng.integers(-1, 2, (200, m))
        L[:100] = L[0]
        U, counts, inverse = DawidSkeneLabelModel(2)._patterns(L)
        np.testing.assert_array_equal(U[inverse], L)
        assert counts.sum() == 200


def test_dawid_skene_errors_and_fixed_balance() -> None:
    model = DawidSkeneLabelModel(2)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(np.array([[1]]))
    model.fit(np.array([[1, 0], [0, 0], [1, 1]]))
    with pytest.raises(ValueError, match="3 columns but the model was fitted on 2"):
        model.predict(np.array([[1, 0, 1]]))
    with pytest.raises(ValueError, match="label 2"):
        model.predict(np.array([[2, 0]]))
    with pytest.raises(ValueError, match="tie_break"):
        model.predict(np.array([[1, 0]]), tie_break="lowest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="class_balance"):
        DawidSkeneLabelModel(2, class_balance=[0.2, 0.2])
    with pytest.raises(ValueError, match="n_iter"):
        DawidSkeneLabelModel(2, n_iter=0)
    with pytest.raises(ValueError, match="smoothing"):
        DawidSkeneLabelModel(2, smoothing=0)
    fixed = DawidSkeneLabelModel(2, class_balance=[0.3, 0.7]).fit(np.array([[1, 0], [0, 0]]))
    np.testing.assert_allclose(fixed.class_balance_, [0.3, 0.7])


# ------------------------------------------------------------- label model: dependent rules
def test_dawid_skene_new_options_are_checked() -> None:
    for bad in ("yes", 3, [(0,)], [(0, 1, 2)], [(True, 0)], [(0.5, 1)]):
        with pytest.raises(ValueError, match="dependencies") as info:
            DawidSkeneLabelModel(2, dependencies=bad)
        assert repr(bad) in str(info.value)
    for name, value in (("dependency_alpha", 0), ("dependency_alpha", 1.5), ("balance_prior", -1)):
        with pytest.raises(ValueError, match=name) as info:
            DawidSkeneLabelModel(2, **{name: value})
        assert repr(value) in str(info.value)
    L = np.array([[1, 1, -1], [0, -1, 0], [1, 1, 1], [0, 0, -1]])
    with pytest.raises(ValueError, match="with itself"):
        DawidSkeneLabelModel(2, dependencies=[(1, 1)]).fit(L)
    with pytest.raises(ValueError, match="two parents"):
        DawidSkeneLabelModel(2, dependencies=[(1, 0), (1, 2)]).fit(L)
    with pytest.raises(ValueError, match="cycle"):
        DawidSkeneLabelModel(2, dependencies=[(1, 0), (0, 1)]).fit(L)
    with pytest.raises(ValueError, match="dependencies entry must be"):
        DawidSkeneLabelModel(2, dependencies=[(1, 3)]).fit(L)
    with pytest.raises(ValueError, match="'b', which is not a column"):
        DawidSkeneLabelModel(2, dependencies=[("b", "a")]).fit(L)
    named = pd.DataFrame(L, columns=["a", "b", "c"])
    by_name = DawidSkeneLabelModel(2, dependencies=[("b", "a")]).fit(named)
    by_index = DawidSkeneLabelModel(2, dependencies=[(1, 0)]).fit(L)
    assert by_name.dependencies_ == by_index.dependencies_ == [(1, 0)]
    np.testing.assert_allclose(by_name.predict_proba(L), by_index.predict_proba(L))


def _nested_rules(n: int = 4000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Two one-sided spam rules, the second fires wherever the first does, and two ham rules."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    narrow = np.where((y == 1) & (rng.random(n) < 0.4), 1, -1)  # "check out"
    wide = np.where((narrow == 1) | ((rng.random(n) < 0.1) & (y == 1)), 1, -1)  # "check"
    other = np.where((y == 1) & (rng.random(n) < 0.3), 1, -1)
    ham = [np.where((y == 0) & (rng.random(n) < p), 0, -1) for p in (0.4, 0.3)]
    return np.stack([narrow, wide, other, *ham], axis=1), y


def test_dawid_skene_models_a_nested_rule_once() -> None:
    L, y = _nested_rules()
    model = DawidSkeneLabelModel(2).fit(L)
    assert (0, 1) in model.dependencies_  # the narrow rule is conditioned on the wide one
    cond = model.conditional_confusion_  # P(narrow votes | y, wide abstains) is about 0
    assert cond[0, :, 0, 2].max() < 0.01
    np.testing.assert_allclose(cond.sum(axis=3), 1.0)
    np.testing.assert_allclose(model.confusion_.sum(axis=2), 1.0)
    assert abs(model.class_balance_[1] - y.mean()) < 0.03
    again = DawidSkeneLabelModel(2).fit(L)  # deterministic: the same model twice
    np.testing.assert_array_equal(again.conditional_confusion_, model.conditional_confusion_)
    table = lf_dependencies(L, cardinality=2, lf_names=["narrow", "wide", "other", "h1", "h2"])
    first = table.iloc[0]
    assert (first["function"], first["depends on"], bool(first["nested"])) == (
        "narrow",
        "wide",
        True,
    )
    assert (table["G"] > table["threshold"]).all() and first["agreement"] == 1.0


def test_dawid_skene_independent_rules_get_no_dependency() -> None:
    for seed in range(3):
        L, _ = _simulate(20_000, [0.9, 0.85, 0.8, 0.7, 0.6], [0.5, 0.4, 0.6, 0.5, 0.7], seed, k=3)
        assert DawidSkeneLabelModel(3).fit(L).dependencies_ == []


# The week-3 lab's rules (labs/w3_data_labeling.ipynb) on its training comments, plus "check",
# a keyword that every "check out" comment also contains.
LAB_SPAM_WORDS = ("free", "subs", "gift", "follow", "http", "check out")


@pytest.fixture(scope="module")
def lab_rules(data_available: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if not data_available:
        pytest.skip("the data mirror is not available (set MLPROD_DATA_DIR)")
    from sklearn.model_selection import train_test_split

    from utils.data import load_youtube_spam

    df = load_youtube_spam()
    train, _ = train_test_split(df, test_size=0.2, random_state=42, stratify=df.CLASS)
    text = train.CONTENT.str.lower()
    words = [(w, SPAM) for w in LAB_SPAM_WORDS] + [("view", NOT_SPAM), ("song", NOT_SPAM)]
    columns = [np.where(text.str.contains(w, regex=False), lab, -1) for w, lab in words]
    columns.append(np.where(train.CONTENT.str.len() < 30, NOT_SPAM, -1))
    columns.append(np.where(text.str.contains("check", regex=False), SPAM, -1))
    names = [w for w, _ in words] + ["length < 30", "check"]
    return np.stack(columns, axis=1), train.CLASS.to_numpy(), names


def test_lab_rules_with_a_nested_rule_no_collapse(lab_rules) -> None:
    L, y, names = lab_rules
    mv = np.mean(majority_vote(L, cardinality=2) == y)  # abstains count as wrong
    naive = DawidSkeneLabelModel(2, dependencies="none", balance_prior=0).fit(L)
    assert np.mean(naive.predict(L) == y) < mv - 0.1  # the collapse of the issue
    assert naive.class_balance_[1] < 0.3 < 0.5 < y.mean()
    for tol in (1e-4, 1e-8):  # the fix does not rest on stopping early
        model = DawidSkeneLabelModel(2, tol=tol, n_iter=1000).fit(L)
        assert np.mean(model.predict(L) == y) >= mv
        assert abs(model.class_balance_[1] - y.mean()) < 0.05
    pair = (names.index("check out"), names.index("check"))
    assert pair in model.dependencies_


def test_lab_rules_without_the_nested_rule(lab_rules) -> None:
    L, y, _ = lab_rules
    L = L[:, :-1]
    mv = np.mean(majority_vote(L, cardinality=2) == y)
    model = DawidSkeneLabelModel(2).fit(L)
    acc = np.mean(model.predict(L) == y)
    # Snorkel's LabelModel scores 0.714 here (tests/test_anchor_snorkel.py checks it).
    assert acc >= mv + 0.02 and abs(acc - 0.714) < 0.01
    naive = DawidSkeneLabelModel(2, dependencies="none", balance_prior=0).fit(L)
    assert np.mean(naive.predict(L) == y) < acc - 0.02  # without the fix: about majority vote
