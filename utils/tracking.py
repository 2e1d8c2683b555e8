"""A small experiment tracker: every training run appended to a JSON-lines file.

Introduced in week2/05_data_centric.ipynb (syllabus W2.15). A run records what is needed to
reproduce and compare it:

- a **run id** and a **timestamp** (UTC, ISO 8601);
- the **code version**: a git commit id or a content hash of the training
  source (:func:`source_hash`);
- a **data fingerprint**: a content hash of the data the model saw (:func:`fingerprint_data`),
  so that two runs on "the same data set" that in fact saw different rows can be told apart;
- the **hyperparameters** and the **metrics**.

The file is plain text, one JSON object a line, so it can be read by ``pandas.read_json(...,
lines=True)``, diffed and kept next to the code. Teams that track thousands of runs use a
service such as MLflow Tracking or Weights & Biases; the fields here are the ones those tools
record too (``runs()`` names columns ``params.<name>`` and ``metrics.<name>`` as MLflow does).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from utils._validation import check_choice
from utils.lineage import content_hash, file_hash

__all__ = [
    "ExperimentTracker",
    "Run",
    "fingerprint_data",
    "source_hash",
]

#: Number of hexadecimal characters kept from SHA-256 digests (64 bits).
_HASH_CHARS = 16


def _sha(parts: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        # Length-prefix each part so that ("ab", "c") and ("a", "bc") hash differently.
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:_HASH_CHARS]


def _data_parts(obj: Any, name: str) -> list[bytes]:
    """The content hash of one data object, from :mod:`utils.lineage` (one hashing for the book)."""
    if isinstance(obj, os.PathLike):
        path = Path(obj)
        if not path.is_file():
            raise ValueError(f"{name}: {path.name!r} is not a file")
        return [b"file", file_hash(path).encode()]
    if isinstance(obj, str):
        raise TypeError(
            f"{name} is a str; pass a pathlib.Path for a file, or bytes for raw content"
        )
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        raise TypeError(f"{name} has dtype object; pass a DataFrame or Series for mixed data")
    try:
        return [b"data", content_hash(obj).encode()]
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from None


def fingerprint_data(*data: Any) -> str:
    """Return a content hash of one or more data objects (16 hex characters of SHA-256).

    Accepts NumPy arrays (and anything :func:`numpy.asarray` turns into a numeric array),
    pandas DataFrames and Series (values, index, column names and dtypes), ``bytes`` and
    :class:`pathlib.Path` objects (the file's bytes). Pass several objects, for example
    ``fingerprint_data(X_train, y_train)``, to fingerprint them together. The hash depends on
    the order of rows: shuffled data is, for reproducibility, different data. Each object is
    hashed by :func:`utils.lineage.content_hash` (files by :func:`utils.lineage.file_hash`),
    so the tracker and the lineage log agree on what counts as the same data.

    Used by :meth:`ExperimentTracker.log_run` (week2/05_data_centric.ipynb) and by
    :func:`utils.spam_filter.model.tune` (project/03_baseline_and_model.ipynb).
    """
    if not data:
        raise ValueError("fingerprint_data needs at least one data object")
    parts: list[bytes] = []
    for i, obj in enumerate(data):
        parts.extend(_data_parts(obj, f"data[{i}]"))
    return _sha(parts)


def source_hash(*sources: Any) -> str:
    """Return a content hash of source code: strings of code, functions, classes or modules.

    Functions, classes and modules are hashed through :func:`inspect.getsource`; a
    :class:`pathlib.Path` is read as a file. Use it as the code version when the code is not
    in git, or to version just the training function. Introduced in
    week2/05_data_centric.ipynb.
    """
    if not sources:
        raise ValueError("source_hash needs at least one source")
    parts: list[bytes] = []
    for i, src in enumerate(sources):
        if isinstance(src, str):
            parts.append(src.encode())
        elif isinstance(src, os.PathLike):
            parts.append(Path(src).read_bytes())
        elif (
            inspect.isfunction(src)
            or inspect.isclass(src)
            or inspect.ismodule(src)
            or inspect.ismethod(src)
        ):
            try:
                parts.append(inspect.getsource(src).encode())
            except (OSError, TypeError) as exc:
                raise ValueError(
                    f"sources[{i}]: cannot read the source of {src!r}: {exc}"
                ) from None
        else:
            raise TypeError(
                f"sources[{i}] must be a str, Path, function, class or module, got {type(src).__name__}"
            )
    return _sha(parts)


def _git_commit(path: str | os.PathLike[str] = ".", *, short: bool = True) -> str | None:
    """Return the git commit of the repository holding ``path``, or None outside git.

    A ``+dirty`` suffix marks uncommitted changes to tracked files: the commit alone then does
    not describe the code that ran. Private (no page uses it), which version their code with
    :func:`source_hash`.
    """
    cwd = Path(path)
    if not cwd.is_dir():
        cwd = cwd.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head[:12] if short else head
    return commit + ("+dirty" if dirty else "")


def _to_json_value(value: Any, where: str) -> Any:
    """Convert NumPy scalars and tuples to JSON types; refuse what JSON cannot hold."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"{where} is {f}; hyperparameters must be finite")
        return f
    if isinstance(value, (list, tuple)):
        return [_to_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{where} has type {type(value).__name__}; use numbers, strings, bools, "
        "None or lists of them"
    )


def _check_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, got {type(params).__name__}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"params keys must be non-empty strings, got {key!r}")
        out[key] = _to_json_value(value, f"params[{key!r}]")
    return out


def _check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping, got {type(metrics).__name__}")
    if not metrics:
        raise ValueError("metrics is empty: a run without results cannot be compared")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"metrics keys must be non-empty strings, got {key!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"metrics[{key!r}] must be a number, got {type(value).__name__}")
        f = float(value)
        if math.isinf(f):
            raise ValueError(f"metrics[{key!r}] is infinite")
        out[key] = f  # NaN allowed: an undefined metric (e.g. precision with no predictions)
    return out


def _format_time(ts: datetime | str) -> str:
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts)
        except ValueError:
            raise ValueError(f"timestamp {ts!r} is not ISO 8601") from None
    if not isinstance(ts, datetime):
        raise TypeError(f"timestamp must be a datetime or ISO 8601 string, got {type(ts).__name__}")
    if ts.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (e.g. datetime.now(UTC))")
    return ts.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Run:
    """One logged run, as stored in the tracker's file."""

    run_id: str
    name: str
    timestamp: str
    code_version: str
    data_fingerprint: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready dict written to the file (NaN metrics become null)."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "timestamp": self.timestamp,
            "code_version": self.code_version,
            "data_fingerprint": self.data_fingerprint,
            "params": dict(self.params),
            "metrics": {k: (None if math.isnan(v) else v) for k, v in self.metrics.items()},
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Run:
        """Build a run from a dict read from the file."""
        metrics = {k: (math.nan if v is None else float(v)) for k, v in record["metrics"].items()}
        return cls(
            run_id=str(record["run_id"]),
            name=str(record["name"]),
            timestamp=str(record["timestamp"]),
            code_version=str(record["code_version"]),
            data_fingerprint=str(record["data_fingerprint"]),
            params=MappingProxyType(dict(record["params"])),
            metrics=MappingProxyType(metrics),
        )


_RUN_KEYS = ("run_id", "name", "timestamp", "code_version", "data_fingerprint", "params", "metrics")


class ExperimentTracker:
    """Append runs to a JSON-lines file and compare them.

    Args:
        path: the ``.jsonl`` file. It is created (with its folder) on the first logged run;
            an existing file is appended to, so several sessions share one history.
        clock: returns the current time (timezone-aware); inject a fixed clock in tests and
            notebooks so that run ids and timestamps are reproducible.

    Introduced in week2/05_data_centric.ipynb (syllabus W2.15).

    Example::

        tracker = ExperimentTracker("runs.jsonl")
        tracker.log_run(name="baseline", params={"C": 1.0}, metrics={"accuracy": 0.91},
                        data=(X_train, y_train), code_version=source_hash(train))
        tracker.best("accuracy")
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise ValueError(f"path {str(self.path)!r} is a directory; give a .jsonl file")
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"ExperimentTracker({self.path.name!r}, runs={len(self._read())})"

    # ---- writing
    def log_run(
        self,
        *,
        metrics: Mapping[str, float],
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        data_fingerprint: str | None = None,
        code_version: str | None = None,
        name: str | None = None,
        timestamp: datetime | str | None = None,
    ) -> Run:
        """Record one run and return it.

        Args:
            metrics: results, e.g. ``{"accuracy": 0.91}``; NaN is kept (stored as null) for
                an undefined metric, infinity is refused.
            params: hyperparameters (numbers, strings, bools, None or lists of them).
            data: the training data (one object or a tuple, see :func:`fingerprint_data`);
                or give ``data_fingerprint`` directly. One of the two is required.
            code_version: a git commit or :func:`source_hash`; required, because a run whose
                code is unknown cannot be reproduced.
            name: a human-readable label; defaults to ``run-<n>``.
            timestamp: overrides the clock for this run.
        """
        if code_version is None or not str(code_version).strip():
            raise ValueError(
                "code_version is required: pass source_hash(...) or a version "
                "string such as a git commit id"
            )
        if (data is None) == (data_fingerprint is None):
            raise ValueError("give exactly one of data (to fingerprint) or data_fingerprint")
        if data is not None:
            fp = fingerprint_data(*data) if isinstance(data, tuple) else fingerprint_data(data)
        else:
            if not isinstance(data_fingerprint, str) or not data_fingerprint.strip():
                raise ValueError("data_fingerprint must be a non-empty string")
            fp = data_fingerprint
        clean_params = _check_params(params)
        clean_metrics = _check_metrics(metrics)
        previous = self._read()
        n = len(previous)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        run_name = name if name is not None else f"run-{n + 1}"
        ts = _format_time(timestamp if timestamp is not None else self._clock())
        body = {
            "n": n,
            "name": run_name,
            "timestamp": ts,
            "code_version": str(code_version),
            "data_fingerprint": fp,
            "params": clean_params,
            "metrics": {k: (None if math.isnan(v) else v) for k, v in clean_metrics.items()},
        }
        run_id = _sha([json.dumps(body, sort_keys=True).encode()])[:12]
        run = Run(
            run_id=run_id,
            name=run_name,
            timestamp=ts,
            code_version=str(code_version),
            data_fingerprint=fp,
            params=MappingProxyType(clean_params),
            metrics=MappingProxyType(clean_metrics),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(run.to_record(), sort_keys=False, allow_nan=False)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return run

    # ---- reading
    def _read(self) -> list[Run]:
        if not self.path.exists():
            return []
        out: list[Run] = []
        with self.path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"{self.path.name}, line {lineno}: not valid JSON ({exc.msg})"
                    ) from None
                missing = [k for k in _RUN_KEYS if not isinstance(record, dict) or k not in record]
                if missing:
                    raise ValueError(f"{self.path.name}, line {lineno}: missing field(s) {missing}")
                out.append(Run.from_record(record))
        return out

    def get(self, run_id: str) -> Run:
        """Return the run with this id (or name, if no id matches)."""
        runs = self._read()
        for run in runs:
            if run.run_id == run_id:
                return run
        named = [r for r in runs if r.name == run_id]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise ValueError(f"{len(named)} runs are named {run_id!r}; use the run id")
        raise KeyError(f"no run with id or name {run_id!r} in {self.path.name}")

    def runs(self) -> pd.DataFrame:
        """All runs, one row each, in logging order.

        Columns: ``run_id, name, timestamp, code_version, data_fingerprint``, then
        ``params.<name>`` and ``metrics.<name>`` (MLflow's naming). A parameter or metric a
        run did not log is NaN in its row.
        """
        rows = []
        for run in self._read():
            row: dict[str, Any] = {k: getattr(run, k) for k in _RUN_KEYS[:5]}
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=list(_RUN_KEYS[:5]) if not rows else None)
        if rows:
            fixed = list(_RUN_KEYS[:5])
            params = [c for c in frame.columns if c.startswith("params.")]
            metrics = [c for c in frame.columns if c.startswith("metrics.")]
            frame = frame[fixed + params + metrics]
        return frame

    def compare(
        self,
        runs: Sequence[str] | None = None,
        *,
        metrics: Sequence[str] | None = None,
        only_differences: bool = True,
    ) -> pd.DataFrame:
        """Put runs side by side: what changed between them, and what it did to the metrics.

        Args:
            runs: run ids or names to compare (default: all runs).
            metrics: metric names to show (default: all).
            only_differences: keep only the code version, data fingerprint and parameters that
                differ between the chosen runs, so the cause of a change stands out.

        Returns:
            One row per run, indexed by run name, with columns ``code_version``,
            ``data_fingerprint``, the parameters (``params.*``) and the metrics (``metrics.*``).
        """
        frame = self.runs()
        if frame.empty:
            raise ValueError(f"{self.path.name} holds no runs yet")
        if runs is not None:
            if isinstance(runs, str):
                raise TypeError("runs must be a sequence of run ids or names, not a str")
            chosen = [self.get(r).run_id for r in runs]
            if not chosen:
                raise ValueError("runs is empty")
            frame = frame.set_index("run_id").loc[chosen].reset_index()
        metric_cols = [c for c in frame.columns if c.startswith("metrics.")]
        if metrics is not None:
            wanted = [f"metrics.{m}" for m in metrics]
            unknown = [m for m, c in zip(metrics, wanted, strict=True) if c not in frame.columns]
            if unknown:
                raise ValueError(
                    f"unknown metric(s) {unknown}; logged: "
                    f"{[c.removeprefix('metrics.') for c in metric_cols]}"
                )
            metric_cols = wanted
        context = ["code_version", "data_fingerprint"]
        context += [c for c in frame.columns if c.startswith("params.")]
        if only_differences and len(frame) > 1:
            context = [c for c in context if frame[c].astype(str).nunique(dropna=False) > 1]
        out = frame.set_index("name")[context + metric_cols]
        out.index.name = "run"
        return out

    def best(self, metric: str, *, mode: Literal["max", "min"] = "max") -> Run:
        """Return the run with the highest (``mode="max"``) or lowest value of ``metric``.

        Runs that did not log the metric, or logged NaN, are skipped. Ties go to the run
        logged first.
        """
        check_choice("mode", mode, ("max", "min"))
        runs = self._read()
        if not runs:
            raise ValueError(f"{self.path.name} holds no runs yet")
        scored = [
            (r.metrics[metric], i, r)
            for i, r in enumerate(runs)
            if metric in r.metrics and not math.isnan(r.metrics[metric])
        ]
        if not scored:
            known = sorted({m for r in runs for m in r.metrics})
            raise ValueError(f"no run has a defined value of metric {metric!r}; logged: {known}")
        sign = 1.0 if mode == "max" else -1.0
        return max(scored, key=lambda t: (sign * t[0], -t[1]))[2]
