"""Tests for utils.tracking: the JSON-lines experiment tracker of week 2 (W2.15)."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.tracking import ExperimentTracker, Run, _git_commit, fingerprint_data, source_hash

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ticking_clock(start: datetime = T0):
    state = {"t": start}

    def clock() -> datetime:
        now = state["t"]
        state["t"] = now + timedelta(minutes=1)
        return now

    return clock


def three_runs(path: Path) -> ExperimentTracker:
    tr = ExperimentTracker(path, clock=ticking_clock())
    x = np.arange(12.0).reshape(4, 3)
    tr.log_run(
        name="a",
        params={"C": 1.0, "penalty": "l2"},
        metrics={"acc": 0.8, "loss": 0.5},
        data=x,
        code_version="abc",
    )
    tr.log_run(
        name="b",
        params={"C": 10.0, "penalty": "l2"},
        metrics={"acc": 0.9, "loss": 0.4},
        data=x,
        code_version="abc",
    )
    tr.log_run(
        name="c",
        params={"C": 10.0, "penalty": "l2"},
        metrics={"acc": 0.85, "loss": 0.3},
        data=x[:3],
        code_version="abc",
    )
    return tr


# ---- fingerprints and code versions
def test_fingerprint_is_content_based():
    a = np.arange(10, dtype=np.int64)
    assert fingerprint_data(a) == fingerprint_data(a.copy())
    assert fingerprint_data(a) != fingerprint_data(a[::-1].copy())  # order matters
    assert fingerprint_data(a) != fingerprint_data(a.astype(np.int32))  # dtype matters
    assert fingerprint_data(a) != fingerprint_data(a.reshape(2, 5))  # shape matters
    b = a.copy()
    b[3] = 99
    assert fingerprint_data(a) != fingerprint_data(b)
    assert len(fingerprint_data(a)) == 16


def test_fingerprint_several_objects_are_not_concatenation():
    a, b = np.arange(4), np.arange(4, 8)
    assert fingerprint_data(a, b) != fingerprint_data(np.arange(8))
    assert fingerprint_data(a, b) != fingerprint_data(b, a)


def test_fingerprint_frame_sees_values_labels_and_columns():
    df = pd.DataFrame({"x": [1.0, 2.0], "label": ["spam", "ham"]})
    assert fingerprint_data(df) == fingerprint_data(df.copy())
    flipped = df.assign(label=["ham", "ham"])
    assert fingerprint_data(df) != fingerprint_data(flipped)
    assert fingerprint_data(df) != fingerprint_data(df.rename(columns={"x": "z"}))
    assert fingerprint_data(df["label"]) != fingerprint_data(flipped["label"])


def test_fingerprint_file_and_bytes(tmp_path):
    f = tmp_path / "d.csv"
    f.write_bytes(b"a,b\n1,2\n")
    assert fingerprint_data(f) == fingerprint_data(tmp_path / "d.csv")
    assert fingerprint_data(f) != fingerprint_data(b"a,b\n1,3\n")
    with pytest.raises(ValueError, match="not a file"):
        fingerprint_data(tmp_path / "missing.csv")


def test_fingerprint_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        fingerprint_data()
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        fingerprint_data("data.csv")
    with pytest.raises(TypeError, match="dtype object"):
        fingerprint_data(np.array([{"a": 1}], dtype=object))


def test_source_hash_functions_and_text():
    def train(c):
        return c * 2

    def train2(c):
        return c * 3

    assert source_hash(train) == source_hash(train)
    assert source_hash(train) != source_hash(train2)
    assert source_hash("x = 1") != source_hash("x = 2")
    with pytest.raises(TypeError, match=r"sources\[0\]"):
        source_hash(42)
    with pytest.raises(ValueError, match="at least one"):
        source_hash()


def test_git_commit_outside_and_inside_a_repo(tmp_path):
    assert _git_commit(tmp_path) is None
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
    }
    try:
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
        (repo / "train.py").write_text("print(1)\n")
        subprocess.run(["git", "add", "train.py"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "x"], cwd=repo, check=True, env=env)
        full = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    assert _git_commit(repo) == full[:12]
    assert _git_commit(repo, short=False) == full
    (repo / "train.py").write_text("print(2)\n")
    assert _git_commit(repo) == full[:12] + "+dirty"


# ---- logging and reading back
def test_log_and_read_back_round_trip(tmp_path):
    tr = three_runs(tmp_path / "sub" / "runs.jsonl")
    frame = tr.runs()
    assert list(frame["name"]) == ["a", "b", "c"]
    assert list(frame.columns[:5]) == [
        "run_id",
        "name",
        "timestamp",
        "code_version",
        "data_fingerprint",
    ]
    assert list(frame["params.C"]) == [1.0, 10.0, 10.0]
    assert list(frame["metrics.acc"]) == [0.8, 0.9, 0.85]
    assert frame["timestamp"].iloc[1] == "2026-01-01T00:01:00+00:00"
    assert frame["run_id"].is_unique
    # the file is plain JSON lines
    lines = (tmp_path / "sub" / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0])["params"] == {"C": 1.0, "penalty": "l2"}


def test_runs_are_deterministic_with_an_injected_clock(tmp_path):
    a = three_runs(tmp_path / "a.jsonl").runs()
    b = three_runs(tmp_path / "b.jsonl").runs()
    pd.testing.assert_frame_equal(a, b)


def test_data_fingerprint_distinguishes_runs(tmp_path):
    frame = three_runs(tmp_path / "r.jsonl").runs()
    fp = frame["data_fingerprint"].tolist()
    assert fp[0] == fp[1] != fp[2]
    assert fp[0] == fingerprint_data(np.arange(12.0).reshape(4, 3))


def test_tuple_data_is_fingerprinted_together(tmp_path):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    x, y = np.ones((3, 2)), np.array([0, 1, 0])
    run = tr.log_run(metrics={"acc": 1.0}, data=(x, y), code_version="v")
    assert run.data_fingerprint == fingerprint_data(x, y)
    assert run.name == "run-1"


def test_a_second_tracker_on_the_same_file_sees_the_history(tmp_path):
    three_runs(tmp_path / "r.jsonl")
    again = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock(T0 + timedelta(days=1)))
    again.log_run(metrics={"acc": 0.95}, data_fingerprint="f", code_version="v2")
    frame = again.runs()
    assert len(frame) == 4 and frame["name"].iloc[-1] == "run-4"
    assert math.isnan(frame["params.C"].iloc[-1])  # a parameter the run did not log


def test_nan_metric_survives_the_round_trip(tmp_path):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    tr.log_run(
        metrics={"precision": float("nan"), "acc": 0.5}, data_fingerprint="f", code_version="v"
    )
    assert "NaN" not in (tmp_path / "r.jsonl").read_text()  # strict JSON: null
    assert math.isnan(tr.runs()["metrics.precision"].iloc[0])


def test_numpy_scalars_in_params_are_stored_as_json(tmp_path):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    run = tr.log_run(
        params={"C": np.float32(0.5), "k": np.int64(3), "flag": np.bool_(True), "layers": (64, 32)},
        metrics={"acc": np.float64(0.75)},
        data_fingerprint="f",
        code_version="v",
    )
    back = tr.get(run.run_id)
    assert back.params == {"C": 0.5, "k": 3, "flag": True, "layers": [64, 32]}
    assert back.metrics == {"acc": 0.75}
    assert isinstance(back, Run)


def test_empty_tracker(tmp_path):
    tr = ExperimentTracker(tmp_path / "none.jsonl")
    assert tr.runs().empty
    assert not (tmp_path / "none.jsonl").exists()  # nothing written until a run is logged
    with pytest.raises(ValueError, match="no runs"):
        tr.best("acc")
    with pytest.raises(ValueError, match="no runs"):
        tr.compare()


# ---- compare and best
def test_compare_shows_only_what_changed(tmp_path):
    tr = three_runs(tmp_path / "r.jsonl")
    table = tr.compare()
    assert list(table.index) == ["a", "b", "c"]
    # code version and penalty are the same everywhere: hidden; C and the data differ: shown
    assert list(table.columns) == ["data_fingerprint", "params.C", "metrics.acc", "metrics.loss"]
    sub = tr.compare(["a", "b"], metrics=["acc"])
    assert list(sub.columns) == ["params.C", "metrics.acc"]
    full = tr.compare(["a", "b"], only_differences=False)
    assert "params.penalty" in full.columns and "code_version" in full.columns


def test_compare_bad_input(tmp_path):
    tr = three_runs(tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="unknown metric"):
        tr.compare(metrics=["f1"])
    with pytest.raises(KeyError, match="zzz"):
        tr.compare(["zzz"])
    with pytest.raises(TypeError, match="not a str"):
        tr.compare("a")


def test_best_max_min_and_nan_skipped(tmp_path):
    tr = three_runs(tmp_path / "r.jsonl")
    assert tr.best("acc").name == "b"
    assert tr.best("loss", mode="min").name == "c"
    tr.log_run(name="d", metrics={"acc": float("nan")}, data_fingerprint="f", code_version="v")
    assert tr.best("acc").name == "b"
    with pytest.raises(ValueError, match="no run has a defined value"):
        tr.best("f1")
    with pytest.raises(ValueError, match="mode"):
        tr.best("acc", mode="biggest")


def test_best_ties_go_to_the_first_run(tmp_path):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    for name in ("first", "second"):
        tr.log_run(name=name, metrics={"acc": 0.5}, data_fingerprint="f", code_version="v")
    assert tr.best("acc").name == "first"
    assert tr.best("acc", mode="min").name == "first"


def test_get_by_name_and_ambiguous_names(tmp_path):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    r1 = tr.log_run(name="x", metrics={"acc": 0.5}, data_fingerprint="f", code_version="v")
    assert tr.get("x") == tr.get(r1.run_id)
    tr.log_run(name="x", metrics={"acc": 0.6}, data_fingerprint="f", code_version="v")
    with pytest.raises(ValueError, match="2 runs are named"):
        tr.get("x")


# ---- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metrics": {}}, ValueError, "metrics is empty"),
        ({"metrics": {"acc": "high"}}, TypeError, r"metrics\['acc'\] must be a number"),
        ({"metrics": {"acc": True}}, TypeError, "must be a number"),
        ({"metrics": {"acc": float("inf")}}, ValueError, "infinite"),
        ({"metrics": {"acc": 1.0}, "params": {"lr": float("nan")}}, ValueError, "finite"),
        ({"metrics": {"acc": 1.0}, "params": {"model": object()}}, TypeError, r"params\['model'\]"),
        ({"metrics": {"acc": 1.0}, "params": {1: 2}}, ValueError, "keys must be non-empty"),
        ({"metrics": {"acc": 1.0}, "code_version": None}, ValueError, "code_version is required"),
        ({"metrics": {"acc": 1.0}, "data_fingerprint": None}, ValueError, "exactly one"),
        ({"metrics": {"acc": 1.0}, "data": np.ones(2)}, ValueError, "exactly one"),
        ({"metrics": {"acc": 1.0}, "name": ""}, ValueError, "name must be"),
        ({"metrics": {"acc": 1.0}, "timestamp": "yesterday"}, ValueError, "ISO 8601"),
        ({"metrics": {"acc": 1.0}, "timestamp": datetime(2026, 1, 1)}, ValueError, "timezone"),
    ],
)
def test_log_run_bad_input(tmp_path, kwargs, error, match):
    tr = ExperimentTracker(tmp_path / "r.jsonl", clock=ticking_clock())
    base = {"data_fingerprint": "f", "code_version": "v"}
    base.update(kwargs)
    with pytest.raises(error, match=match):
        tr.log_run(**base)
    assert not (tmp_path / "r.jsonl").exists()  # a refused run writes nothing


def test_corrupt_file_names_the_line(tmp_path):
    path = tmp_path / "r.jsonl"
    three_runs(path)
    with path.open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(ValueError, match="line 4"):
        ExperimentTracker(path).runs()
    path.write_text('{"run_id": "x"}\n')
    with pytest.raises(ValueError, match="missing field"):
        ExperimentTracker(path).runs()


def test_path_that_is_a_directory(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        ExperimentTracker(tmp_path)


# ---- properties
@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=8))
def test_best_matches_max_and_min_of_logged_values(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("h") / "r.jsonl"
    tr = ExperimentTracker(path, clock=ticking_clock())
    for v in values:
        tr.log_run(metrics={"m": v}, data_fingerprint="f", code_version="v")
    assert tr.best("m").metrics["m"] == max(values)
    assert tr.best("m", mode="min").metrics["m"] == min(values)
    assert tr.best("m").name == f"run-{values.index(max(values)) + 1}"
    assert tr.runs()["metrics.m"].tolist() == values


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-100, 100), min_size=1, max_size=20), st.integers(0, 19))
def test_changing_any_value_changes_the_fingerprint(values, i):
    a = np.array(values, dtype=np.int64)
    b = a.copy()
    b[i % len(b)] += 1
    assert fingerprint_data(a) != fingerprint_data(b)
