"""Tests for utils.spam_filter, the final project's data, rules, features and model."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from utils.labeling.lf import ABSTAIN
from utils.lineage import content_hash
from utils.pipeline import normalise_comments
from utils.spam_filter import data, features, model, rules
from utils.tracking import ExperimentTracker

SPAMMY = [
    "Check out my channel http://spam.example.com",
    "subscribe to me please!!",
    "earn money from home at www.cash.net",
    "follow me on instagram",
    "check my covers",
]
HAMMY = [
    "love this song",
    "who is watching in 2015?",
    "best video ever",
    "so beautiful",
    "this song never gets old",
]


# ----------------------------------------------------------------------------- features
@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("I love this song so much", True),
        ("waka waka", True),  # too short to tell: counted as English
        ("Eminem et Rihana trop belle chanson", False),
        ("Это лучшая песня", False),  # Cyrillic letters
        ("الإعلانات", False),
        ("", True),
    ],
)
def test_is_english(text: str, english: bool) -> None:
    assert features.is_english(text) is english


def test_is_english_refuses_non_strings() -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        features.is_english(3)  # type: ignore[arg-type]


def test_comment_features_measure_each_comment() -> None:
    f = features.comment_features(pd.Series(["WOW!! http://a.com", "nice song"], index=[7, 9]))
    assert list(f.index) == [7, 9]
    assert f.loc[7, "n_chars"] == 18 and f.loc[9, "n_words"] == 2
    assert f.loc[7, "n_exclamations"] == 2
    assert f["has_link"].tolist() == [True, False]
    assert f.loc[9, "upper_share"] == 0.0
    assert f.loc[7, "upper_share"] == pytest.approx(3 / 11)  # W, O, W of the 11 letters
    assert f["english"].dtype == bool


def test_comment_features_name_the_first_non_string() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is float"):
        features.comment_features(["ok", np.nan])
    with pytest.raises(ValueError, match="texts is empty"):
        features.comment_features([])


def test_comment_tags_are_boolean_and_overlap() -> None:
    frame = pd.DataFrame(
        {
            "CONTENT": ["hi", "x" * 200 + " http://a.com", "Это песня вот так"],
            "VIDEO": ["Youtube01-Psy", "Youtube02-KatyPerry", "Youtube01-Psy"],
        }
    )
    tags = features.comment_tags(frame)
    assert (tags.dtypes == "bool").all()
    assert tags["video: Psy"].tolist() == [True, False, True]
    assert tags["short (< 30 chars)"].tolist() == [True, False, True]
    assert tags["long (> 150 chars)"].tolist() == [False, True, False]
    assert tags["contains a link"].tolist() == [False, True, False]
    assert (tags["no link"] == ~tags["contains a link"]).all()
    assert tags["not English"].tolist() == [False, False, True]


def test_comment_tags_need_content_and_video() -> None:
    with pytest.raises(ValueError, match=r"no column\(s\) \[.VIDEO.\]"):
        features.comment_tags(pd.DataFrame({"CONTENT": ["a"]}))


# ----------------------------------------------------------------------------- rules
def test_every_rule_votes_its_label_or_abstains() -> None:
    frame = pd.DataFrame({"CONTENT": SPAMMY + HAMMY})
    for lf in rules.labeling_functions():
        votes = lf(frame)
        allowed = {ABSTAIN, rules.SPAM if lf.name.startswith("spam") else rules.NOT_SPAM}
        assert set(np.unique(votes)) <= allowed, lf.name


def test_rule_names_are_unique_and_match_the_table() -> None:
    names = [lf.name for lf in rules.labeling_functions()]
    assert len(names) == len(set(names)) == len(rules.RULES) + 1


def test_keyword_rule_matches_the_normalised_text() -> None:
    rule = rules._keyword_rule("spam: web address", r"urltoken", rules.SPAM)
    votes = rule(pd.DataFrame({"CONTENT": ["go to kidsmedia . com", "no link here"]}))
    assert votes.tolist() == [rules.SPAM, ABSTAIN]
    for label in (2, True, None, 1.5):
        with pytest.raises(ValueError, match="label must be SPAM"):
            rules._keyword_rule("bad", "x", label)  # type: ignore[arg-type]
    for pattern in ("(", "[a", "*x", 3, None):
        with pytest.raises((ValueError, TypeError), match="pattern"):
            rules._keyword_rule("bad", pattern, rules.SPAM)  # type: ignore[arg-type]


def test_weak_labels_vote_spam_and_not_spam() -> None:
    frame = pd.DataFrame({"CONTENT": SPAMMY + HAMMY}, index=range(100, 110))
    weak = rules.weak_labels(frame)
    assert weak.name == "weak_label" and list(weak.index) == list(frame.index)
    assert (weak.iloc[:5] == rules.SPAM).all()
    assert (weak.iloc[5:] != rules.SPAM).all()


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def project(data_available: bool) -> data.ProjectData:
    if not data_available:
        pytest.skip("the data mirror is not available (set MLPROD_DATA_DIR)")
    return data.project_data()


def test_splits_partition_the_deduplicated_development_comments(project: data.ProjectData) -> None:
    parts = [project.train, project.dev, project.test]
    index = pd.Index(np.concatenate([p.index for p in parts]))
    assert index.is_unique
    assert set(pd.concat(parts)["VIDEO"]) == set(data.DEVELOPMENT_VIDEOS)
    texts = normalise_comments(pd.concat(parts)["CONTENT"])
    assert len(set(texts)) == len(texts)  # no repeated comment across or within splits
    sizes = np.array([len(p) for p in parts]) / len(index)
    assert np.allclose(sizes, data.SPLIT_SIZES, atol=0.01)


def test_production_is_every_comment_of_the_held_out_videos_oldest_first(
    project: data.ProjectData,
) -> None:
    prod = project.production
    assert set(prod["VIDEO"]) == set(data.PRODUCTION_VIDEOS)
    assert len(prod) == int(project.comments["VIDEO"].isin(data.PRODUCTION_VIDEOS).sum())
    assert prod["DATE"].is_monotonic_increasing


def test_the_split_is_the_same_every_time(project: data.ProjectData) -> None:
    again = data.project_data()
    for name in ("train", "dev", "test", "production"):
        assert content_hash(getattr(again, name)) == content_hash(getattr(project, name))
    assert again.lineage == project.lineage


def test_lineage_traces_every_split_to_the_source(project: data.ProjectData) -> None:
    for part in (project.train, project.dev, project.test):
        sources = project.lineage.sources(part)
        assert sources["name"].tolist() == ["YouTube Spam Collection, 5 CSV files"]
    stamps = set(project.lineage.to_frame()["timestamp"])
    assert stamps == {data.BOOK_CLOCK_TIME.isoformat()}


def test_gold_labels_cover_dev_and_test_and_are_majorities(project: data.ProjectData) -> None:
    for part in (project.dev, project.test):
        gold = data.gold_labels(part)
        assert list(gold.index) == list(part.index)
        votes = gold[["A", "B", "published"]].sum(axis=1)
        assert ((gold["gold"] == 1) == (votes >= 2)).all()
        assert set(np.unique(gold.to_numpy())) <= {0, 1}


def test_gold_labels_refuse_comments_nobody_annotated(project: data.ProjectData) -> None:
    with pytest.raises(ValueError, match="have no gold annotation"):
        data.gold_labels(project.train.head(3))


def test_annotations_hold_two_labels_per_comment_and_no_text() -> None:
    long = data.load_annotations()
    assert list(long.columns) == ["COMMENT_ID", "annotator", "label"]
    assert set(long["annotator"]) == {"A", "B"}
    assert long.groupby("COMMENT_ID").size().eq(2).all()


def test_split_by_video_refuses_an_unknown_video() -> None:
    frame = pd.DataFrame({"VIDEO": ["Youtube01-Psy", "Youtube09-New"], "CONTENT": ["a", "b"]})
    with pytest.raises(ValueError, match="Youtube09-New"):
        data.split_by_video(frame)


def test_deduplicate_keeps_the_first_copy() -> None:
    frame = pd.DataFrame(
        {"CONTENT": ["Check http://a.com", "check   http://b.org", "hi"]}, index=[5, 6, 7]
    )
    assert list(data.deduplicate(frame).index) == [5, 7]


# ----------------------------------------------------------------------------- model
def test_make_model_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="analyzer"):
        model.make_model(analyzer="bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="C must be a positive number"):
        model.make_model(C=0)


def test_tune_picks_the_best_dev_score_and_logs_every_run(tmp_path) -> None:
    texts, labels = SPAMMY + HAMMY, [1] * 5 + [0] * 5
    clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731
    tracker = ExperimentTracker(tmp_path / "runs.jsonl", clock=clock)
    result = model.tune(texts, labels, texts, labels, tracker=tracker, run_prefix="t")
    assert len(result.table) == len(model.PARAM_GRID) == len(tracker.runs())
    best = result.table["dev_f1"].max()
    first_best = int(np.argmax(result.table["dev_f1"].to_numpy()))
    assert result.params == model.PARAM_GRID[first_best]
    assert model.evaluate(result.model, texts, labels)["f1"] == pytest.approx(best)
    assert tracker.runs()["name"].str.startswith("t: ").all()


def test_tune_refuses_one_class_and_an_empty_grid() -> None:
    with pytest.raises(ValueError, match="single class"):
        model.tune(["a", "b"], [1, 1], ["a"], [1])
    with pytest.raises(ValueError, match="grid is empty"):
        model.tune(["a", "b"], [1, 0], ["a"], [1], grid=[])


def test_human_level_scores_the_human_label_where_the_passes_agree() -> None:
    gold = pd.DataFrame(
        {"A": [1, 1, 0, 0], "B": [1, 1, 0, 1], "published": [1, 0, 0, 1]}, index=[3, 4, 5, 6]
    )
    gold["gold"] = (gold.sum(axis=1) >= 2).astype(int)
    tags = pd.DataFrame(
        {"first two": [True, True, False, False], "none": [False] * 4}, index=gold.index
    )
    hl = data.human_level(gold, tags)
    assert list(hl.index) == ["all", "first two", "none"]
    # the passes agree on items 3, 4, 5; the human label matches them on 3 and 5, not on 4
    assert hl.loc["all", "human"] == pytest.approx(2 / 3) and hl.loc["all", "support"] == 3
    assert hl.loc["all", "passes_agree"] == pytest.approx(3 / 4) and hl.loc["all", "comments"] == 4
    assert hl.loc["first two", "human"] == pytest.approx(0.5)
    assert hl.loc["none", "support"] == 0 and np.isnan(hl.loc["none", "human"])
    with pytest.raises(ValueError, match="same index"):
        data.human_level(gold, tags.set_axis([0, 1, 2, 9]))


def test_human_level_needs_the_labeller_columns() -> None:
    with pytest.raises(ValueError, match="labeller column"):
        data.human_level(pd.DataFrame({"A": [1]}))


def test_production_days_number_comments_in_arrival_order() -> None:
    frame = pd.DataFrame({"CONTENT": list("abcdefg")}, index=[9, 3, 5, 1, 2, 8, 7])
    days = data.production_days(frame, size=3)
    assert days.tolist() == [1, 1, 1, 2, 2, 2, 3] and list(days.index) == list(frame.index)
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        data.production_days(frame, size=0)


def test_review_threshold_withholds_the_share_asked_for() -> None:
    texts, labels = SPAMMY + HAMMY, [1] * 5 + [0] * 5
    fitted = model.make_model(C=1.0).fit(texts, labels)
    threshold = model.review_threshold(fitted, texts, 0.3)
    confidence = fitted.predict_proba(texts).max(axis=1)
    assert np.mean(confidence < threshold) <= 0.3 < np.mean(confidence <= threshold) + 0.1
    with pytest.raises(ValueError, match="share must be a number in"):
        model.review_threshold(fitted, texts, 1.0)


def test_training_sets_reach_the_source_in_the_lineage(project: data.ProjectData) -> None:
    from utils.spam_filter import versions

    fresh = data.project_data()
    ids = versions.record_training_sets(fresh)
    assert set(ids) == set(versions.VERSIONS)
    for version, artefact in ids.items():
        names = fresh.lineage.ancestry(artefact)["name"].tolist()
        assert names[0] == "YouTube Spam Collection, 5 CSV files" and "split: train" in names
        assert len(versions.training_set(fresh, version)) > 0
    v1, v2 = (versions.training_set(fresh, v) for v in ("v1", "v2"))
    assert set(v1.index) < set(v2.index) == set(fresh.train.index)
    assert set(v2["label_source"]) == {"rules", "annotation"} and set(v2["label"]) == {0, 1}
    with pytest.raises(ValueError, match="version must be one of"):
        versions.training_set(fresh, "v9")  # type: ignore[arg-type]


def test_decision_metrics_count_false_positives_among_legitimate_comments() -> None:
    m = model.decision_metrics([0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 1, 0])
    assert m["fpr"] == pytest.approx(0.25) and m["recall"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(4 / 6) and m["precision"] == pytest.approx(0.5)
    assert np.isnan(model.decision_metrics([1, 1], [1, 0])["fpr"])  # no legitimate comment


def test_two_keywords_flags_links_and_check_out_only() -> None:
    frame = pd.DataFrame(
        {"CONTENT": ["visit kidsmedia . com", "Check out my covers", "checkout time", "love it"]},
        index=[4, 5, 6, 7],
    )
    flags = rules.two_keywords(frame)
    assert flags.tolist() == [1, 1, 0, 0] and list(flags.index) == [4, 5, 6, 7]


def test_filter_app_serves_text_with_the_filter_s_names() -> None:
    from fastapi.testclient import TestClient

    fitted = model.make_model(C=1.0).fit(SPAMMY + HAMMY, [1] * 5 + [0] * 5)
    with TestClient(model.filter_app(fitted, "7")) as client:
        meta = client.get("/metadata").json()
        assert (meta["model_name"], meta["model_version"], meta["input_type"]) == (
            "spam-filter",
            "7",
            "text",
        )
        assert meta["class_names"] == list(model.CLASS_NAMES)
        assert (
            client.post("/predict", json={"inputs": SPAMMY[0]}).json()["predictions"][0]["label"]
            == "spam"
        )


def test_band_metrics_score_only_the_decisions_taken_alone() -> None:
    y = np.array([1, 0, 1, 0])
    proba = np.array([[0.1, 0.9], [0.45, 0.55], [0.8, 0.2], [0.95, 0.05]])
    band = model.band_metrics(y, proba, 0.7)  # the second comment goes to a moderator
    assert band["review_share"] == pytest.approx(0.25)
    assert band["recall"] == pytest.approx(0.5) and band["fpr"] == pytest.approx(0.0)
    everyone = model.band_metrics(y, proba, 0)
    assert everyone["review_share"] == 0 and everyone["fpr"] == pytest.approx(0.5)
    assert everyone == model.decision_metrics(y, proba.argmax(axis=1)) | {"review_share": 0.0}
    with pytest.raises(ValueError, match="threshold must be a number in"):
        model.band_metrics(y, proba, 1.5)
    with pytest.raises(ValueError, match="proba must have shape"):
        model.band_metrics(y, proba[:, 1], 0.5)
    with pytest.raises(ValueError, match="sends every comment to review"):
        model.band_metrics(y, proba, 0.99)
