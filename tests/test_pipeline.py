"""Tests for utils.pipeline: comment normalisation and pipelines that replay on load (W3.09)."""

from __future__ import annotations

import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from utils.lineage import content_hash
from utils.pipeline import (
    ReplayMismatchError,
    load_pipeline,
    normalise_comments,
    save_pipeline,
)

TEXTS = [
    "Check out my channel http://spam.example.com/x",
    "Love this song",
    "subscribe to me",
    "great video \ufeff",
    "visit kidsmediausa  . com now",
    "www.free-money.net win",
    "nice beat",
    "who is watching in 2015?",
]
LABELS = [1, 0, 1, 0, 1, 1, 0, 0]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Check http://a.b/c?d=1 NOW", "check urltoken now"),
        ("go to www.site.org/page", "go to urltoken"),
        ("kidsmediausa  . com", "urltoken"),
        ("murdev.com rocks", "urltoken rocks"),
        ("Hi\ufeff  THERE\u200b ", "hi there"),
        ("I like 3.5 and e.g. this", "i like 3.5 and e.g. this"),
        ("", ""),
    ],
)
def test_normalise_comments_known_answers(raw, clean):
    assert normalise_comments([raw]).tolist() == [clean]


def test_normalise_comments_shape_and_errors():
    out = normalise_comments(np.array(TEXTS, dtype=object))
    assert out.shape == (len(TEXTS),) and out.dtype == object
    assert normalise_comments([]).shape == (0,)
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        normalise_comments(["ok", None])
    with pytest.raises(ValueError, match="texts must be 1-D"):
        normalise_comments([["a"], ["b"]])


def make_text_pipeline():
    return make_pipeline(
        FunctionTransformer(normalise_comments),
        TfidfVectorizer(),
        LogisticRegression(random_state=0),
    ).fit(TEXTS, LABELS)


def test_save_and_load_replays_identically(tmp_path):
    pipe = make_text_pipeline()
    path = tmp_path / "spam.joblib"
    digest = save_pipeline(pipe, path, probe=TEXTS[:5])
    assert digest == content_hash(pipe.predict_proba(TEXTS[:5]))
    again = load_pipeline(path)
    assert content_hash(again.predict_proba(TEXTS)) == content_hash(pipe.predict_proba(TEXTS))


def test_reload_in_a_fresh_process_gives_the_same_outputs(tmp_path):
    # The point of keeping pre-processing in a module: the pickle finds it from any process.
    pipe = make_text_pipeline()
    path = tmp_path / "spam.joblib"
    save_pipeline(pipe, path, probe=TEXTS)
    code = (
        "import sys; from utils.pipeline import load_pipeline; from utils.lineage import "
        "content_hash; p = load_pipeline(sys.argv[1]); "
        f"print(content_hash(p.predict_proba({TEXTS!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == content_hash(pipe.predict_proba(TEXTS))


def test_a_changed_pipeline_is_refused(tmp_path):
    pipe = make_text_pipeline()
    path = tmp_path / "spam.joblib"
    save_pipeline(pipe, path, probe=TEXTS)
    saved = joblib.load(path)
    saved["model"][-1].coef_ = saved["model"][-1].coef_ * 1.001  # a silent change
    joblib.dump(saved, path)
    with pytest.raises(ReplayMismatchError, match="largest difference"):
        load_pipeline(path)
    assert load_pipeline(path, atol=0.05) is not None  # a tolerance accepts small changes


def test_tolerance_still_catches_large_changes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, (x[:, 0] > 0).astype(int))
    path = tmp_path / "m.joblib"
    save_pipeline(model, path, probe=x[:10])
    saved = joblib.load(path)
    saved["model"][-1].coef_ = -saved["model"][-1].coef_
    joblib.dump(saved, path)
    with pytest.raises(ReplayMismatchError):
        load_pipeline(path, atol=1e-6)


def test_transform_only_pipelines_and_bad_inputs(tmp_path):
    scaler = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    path = tmp_path / "s.joblib"
    save_pipeline(scaler, path, probe=np.ones((2, 2)))
    assert isinstance(load_pipeline(path), StandardScaler)
    with pytest.raises(ValueError, match="probe is empty"):
        save_pipeline(scaler, path, probe=[])
    with pytest.raises(TypeError, match="has none of"):
        save_pipeline(object(), path, probe=[1])
    with pytest.raises(ValueError, match="atol"):
        load_pipeline(path, atol=-1)
    joblib.dump({"model": scaler}, tmp_path / "other.joblib")
    with pytest.raises(ValueError, match="not written by"):
        load_pipeline(tmp_path / "other.joblib")
