"""Tests for utils.lineage: content hashes and the lineage log (W3.10)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.lineage import LineageLog, Step, content_hash, file_hash


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["buy now", "nice song", None, "None"],
            "label": [1, 0, 0, 1],
            "score": [0.5, np.nan, 1.25, -0.0],
        },
        index=[10, 11, 12, 13],
    )


def fixed_clock(start: datetime | None = None, step_s: int = 60):
    t = [start or datetime(2024, 1, 1, tzinfo=UTC)]

    def clock() -> datetime:
        now = t[0]
        t[0] = now + timedelta(seconds=step_s)
        return now

    return clock


# --------------------------------------------------------------------------------------------
# content_hash


def test_hash_is_sha256_hex_and_copies_agree():
    df = small_frame()
    h = content_hash(df)
    assert len(h) == 64 and int(h, 16) >= 0
    assert content_hash(df.copy(deep=True)) == h


def test_hash_pinned_value_does_not_drift():
    # Lineage files store hashes: if this value changes, every stored log breaks.
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    assert content_hash(df) == "0b937ae40bf707a50ca73277116d7ee86b4c8022410300723130255e132d2acd"
    assert content_hash(b"abc") == hashlib.sha256(b"bytes\0abc").hexdigest()


def test_hash_same_in_a_fresh_process_with_another_hash_seed():
    code = (
        "import pandas as pd; from utils.lineage import content_hash; "
        "print(content_hash(pd.DataFrame({'t': ['a', 'b', None], 'y': [1, 0, 1]})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    here = content_hash(pd.DataFrame({"t": ["a", "b", None], "y": [1, 0, 1]}))
    assert out == here


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.assign(label=[1, 0, 0, 0]),  # one label fixed
        lambda d: d.iloc[:3],  # one row dropped
        lambda d: d.iloc[::-1],  # rows re-ordered
        lambda d: d[["label", "text", "score"]],  # columns re-ordered
        lambda d: d.rename(columns={"label": "y"}),  # column renamed
        lambda d: d.assign(label=d["label"].astype(float)),  # dtype changed
        lambda d: d.assign(text=["buy now", "nice song", "None", "None"]),  # None vs "None"
        lambda d: d.set_axis([0, 1, 2, 3]),  # index changed
        lambda d: d.assign(score=[0.5, 0.0, 1.25, -0.0]),  # NaN replaced by 0
        lambda d: d.assign(text=["buy now", "nice song", None, 1]),  # text "None" vs int 1
    ],
)
def test_any_change_changes_the_hash(change):
    df = small_frame()
    assert content_hash(change(df)) != content_hash(df)


def test_index_false_ignores_the_index_only():
    df = small_frame()
    moved = df.set_axis([0, 1, 2, 3])
    assert content_hash(moved, index=False) == content_hash(df, index=False)
    assert content_hash(df.assign(label=0), index=False) != content_hash(df, index=False)


def test_array_hash_ignores_memory_layout_and_byte_order():
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    h = content_hash(a)
    assert content_hash(np.asfortranarray(a)) == h
    assert content_hash(a.astype(">f8")) == h
    assert content_hash(np.arange(48.0).reshape(4, 12)[:, ::2] * 0 + a) == h  # a strided view
    assert content_hash(a.reshape(6, 4)) != h  # shape matters
    assert content_hash(a.astype(np.float32)) != h  # dtype matters


def test_series_and_text_arrays():
    s = pd.Series(["a", "b"], name="t")
    assert content_hash(s) != content_hash(s.rename("u"))
    assert content_hash(["a", "b"]) == content_hash(np.array(["a", "b"], dtype=object))
    assert content_hash(["a", "b"]) != content_hash(["a", "c"])


def test_mixed_object_column_keeps_types_apart():
    a = pd.DataFrame({"m": [1, "1", 2.0]})
    b = pd.DataFrame({"m": ["1", 1, 2.0]})
    assert content_hash(a) != content_hash(b)
    assert content_hash(a) == content_hash(pd.DataFrame({"m": [1, "1", 2.0]}))


def test_timezone_aware_dates_and_nullable_integers():
    df = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=3, tz="UTC"),
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    assert content_hash(df) == content_hash(df.copy())
    later = df.assign(when=df["when"] + pd.Timedelta(seconds=1))
    assert content_hash(later) != content_hash(df)
    other_zone = df.assign(when=df["when"].dt.tz_convert("Europe/Paris"))
    assert content_hash(other_zone) != content_hash(df)  # the dtype (time zone) differs
    assert content_hash(df.assign(n=pd.array([1, 2, 3], dtype="Int64"))) != content_hash(df)


def test_categorical_and_string_dtype_columns():
    df = pd.DataFrame(
        {"c": pd.Categorical(["x", "y", "x"]), "s": pd.array(["p", None, "q"], dtype="string")}
    )
    assert content_hash(df) == content_hash(df.copy())
    assert content_hash(df) != content_hash(df.assign(s=pd.array(["p", None, "r"], dtype="string")))


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("some text", "ambiguous"),
        (np.array([[1], {}], dtype=object), "object array"),
        (pd.DataFrame({"lists": [[1], [2]]}), "column 'lists' holds a value of type list"),
    ],
)
def test_unhashable_inputs_are_refused_with_a_reason(bad, match):
    with pytest.raises(TypeError, match=match):
        content_hash(bad)


def test_index_flag_is_checked():
    with pytest.raises(TypeError, match="index"):
        content_hash(small_frame(), index="no")


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=30),
    position=st.integers(0, 29),
    delta=st.integers(1, 5),
)
def test_property_changing_one_cell_changes_the_hash(values, position, delta):
    df = pd.DataFrame({"x": values, "t": [str(v) for v in values]})
    changed = df.copy()
    changed.iloc[position % len(values), 0] += delta
    assert content_hash(df) == content_hash(df.copy())
    assert content_hash(changed) != content_hash(df)


def test_file_hash_matches_hashlib_and_the_published_checksum(tmp_path):
    p = tmp_path / "f.bin"
    payload = bytes(range(256)) * 5000
    p.write_bytes(payload)
    assert file_hash(p, chunk_size=1000) == hashlib.sha256(payload).hexdigest()
    with pytest.raises(FileNotFoundError, match="not a file"):
        file_hash(tmp_path / "missing.csv")


# --------------------------------------------------------------------------------------------
# LineageLog


def build_log() -> tuple[LineageLog, dict[str, str]]:
    """raw_a, raw_b -> merged -> clean -> (train, test); train -> model_1; a second data set
    raw_c -> model_2 (trained on clean train plus raw_c)."""
    log = LineageLog(clock=fixed_clock())
    ids = {}
    ids["raw_a"] = log.source("file a", pd.DataFrame({"x": [1, 2]}), params={"url": "a.csv"})
    ids["raw_b"] = log.source("file b", pd.DataFrame({"x": [3, 4]}), params={"url": "b.csv"})
    merged = pd.DataFrame({"x": [1, 2, 3, 4]})
    ids["merged"] = log.record("concat", inputs=[ids["raw_a"], ids["raw_b"]], output=merged)
    clean = merged[merged.x > 1]
    ids["clean"] = log.record("drop x<=1", inputs=[merged], output=clean, params={"min": 1})
    ids["train"] = log.record(
        "split train",
        inputs=[clean],
        output=clean.iloc[:2],
        params={"seed": 0, "sizes": (0.67, 0.33)},
    )
    ids["test"] = log.record(
        "split test", inputs=[clean], output=clean.iloc[2:], params={"seed": 0}
    )
    ids["model_1"] = log.record("fit model 1", inputs=[ids["train"]], output="model:1")
    ids["raw_c"] = log.source("file c", np.arange(3))
    ids["model_2"] = log.record(
        "fit model 2",
        inputs=[ids["train"], ids["raw_c"]],
        output="model:2",
        params={"C": np.float64(0.5)},
    )
    return log, ids


def test_ancestry_lists_exactly_the_steps_a_model_depends_on():
    log, ids = build_log()
    anc = log.ancestry("model:1")
    assert list(anc["name"]) == [
        "file a",
        "file b",
        "concat",
        "drop x<=1",
        "split train",
        "fit model 1",
    ]
    assert list(anc.columns) == ["step", "name", "inputs", "output", "params", "timestamp"]
    assert "split test" not in set(anc["name"])  # the test split never reached model 1
    assert set(log.sources("model:2")["output"]) == {ids["raw_a"], ids["raw_b"], ids["raw_c"]}
    assert set(log.sources("model:1")["output"]) == {ids["raw_a"], ids["raw_b"]}


def test_descendants_answer_which_models_saw_a_data_set():
    log, ids = build_log()
    models = {o for o in log.descendants(ids["raw_a"])["output"] if o.startswith("model:")}
    assert models == {"model:1", "model:2"}
    assert set(log.descendants(ids["raw_c"])["output"]) == {"model:2"}
    assert log.descendants(ids["test"]).empty
    assert log.descendants("model:1").empty


def test_artefacts_can_be_given_as_data_or_unique_prefix():
    log, ids = build_log()
    clean = pd.DataFrame({"x": [2, 3, 4]}, index=[1, 2, 3])
    assert log.resolve(clean) == ids["clean"]
    assert log.resolve(ids["clean"][:8]) == ids["clean"]
    with pytest.raises(KeyError, match="does not appear"):
        log.resolve("0" * 64)
    with pytest.raises(KeyError):
        log.resolve(ids["clean"][:4])  # shorter than six characters: never treated as prefix


def test_ambiguous_prefix_is_an_error():
    log = LineageLog(clock=fixed_clock())
    log.source("one", "abcdef01")
    log.source("two", "abcdef02")
    with pytest.raises(ValueError, match="ambiguous"):
        log.resolve("abcdef")


def test_params_and_timestamps_are_recorded_as_they_will_reload():
    log, _ = build_log()
    steps = log.steps
    assert steps[4].params == {"seed": 0, "sizes": [0.67, 0.33]}  # tuple stored as JSON list
    assert steps[-1].params == {"C": 0.5} and type(steps[-1].params["C"]) is float
    assert steps[0].timestamp == "2024-01-01T00:00:00+00:00"
    assert steps[1].timestamp == "2024-01-01T00:01:00+00:00"


def test_save_and_load_round_trip(tmp_path):
    log, ids = build_log()
    path = tmp_path / "lineage.jsonl"
    log.save(path)
    lines = path.read_text().splitlines()
    assert len(lines) == len(log) == 9
    assert json.loads(lines[0])["name"] == "file a"
    again = LineageLog.load(path, clock=fixed_clock(datetime(2025, 1, 1, tzinfo=UTC)))
    assert again == log
    pd.testing.assert_frame_equal(again.ancestry("model:2"), log.ancestry("model:2"))
    again.record("fit model 3", inputs=[ids["test"]], output="model:3")
    assert again.steps[-1].timestamp.startswith("2025-01-01")
    assert again != log


def test_load_names_the_bad_line(tmp_path):
    log, _ = build_log()
    path = tmp_path / "lineage.jsonl"
    log.save(path)
    path.write_text(path.read_text() + '{"name": "broken"}\n')
    with pytest.raises(ValueError, match="line 10"):
        LineageLog.load(path)


def test_step_json_is_one_sorted_line():
    s = Step(name="n", inputs=("a",), output="b", params={"z": 1, "a": 2}, timestamp="t")
    line = s.to_json()
    assert "\n" not in line and Step.from_json(line) == s
    with pytest.raises(ValueError, match="lacks"):
        Step.from_json('{"name": "n"}')


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "", "inputs": [], "output": "x"}, ValueError, "name"),
        ({"name": "s", "inputs": "abc", "output": "x"}, TypeError, "inputs"),
        ({"name": "s", "inputs": ["x"], "output": "x"}, ValueError, "among its inputs"),
        (
            {"name": "s", "inputs": [], "output": "x", "params": {"f": object()}},
            TypeError,
            r"params\['f'\]",
        ),
        (
            {"name": "s", "inputs": [], "output": "x", "params": {"lr": float("nan")}},
            ValueError,
            r"params\['lr'\]",
        ),
        ({"name": "s", "inputs": [], "output": "x", "params": [("a", 1)]}, TypeError, "mapping"),
        ({"name": "s", "inputs": [], "output": ""}, ValueError, "empty identifier"),
        ({"name": "s", "inputs": [{"a": 1}], "output": "x"}, TypeError, r"inputs\[0\]"),
    ],
)
def test_bad_records_are_refused(kwargs, error, match):
    log = LineageLog(clock=fixed_clock())
    with pytest.raises(error, match=match):
        log.record(**kwargs)
    assert len(log) == 0  # nothing half-recorded


def test_naive_clock_is_refused():
    log = LineageLog(clock=lambda: datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        log.source("raw", "x")


def test_default_clock_is_utc_now():
    log = LineageLog()
    before = datetime.now(UTC)
    log.source("raw", "x")
    stamp = datetime.fromisoformat(log.steps[0].timestamp)
    assert stamp.tzinfo is not None and before - timedelta(seconds=5) <= stamp
