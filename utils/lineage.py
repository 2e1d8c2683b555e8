"""Data provenance and lineage: content hashes and a log of every step applied to the data.

Introduced in week3/03_obtaining_data_and_pipelines.ipynb (syllabus item W3.10).

Two ideas, each small enough to read in one sitting:

- a **content hash** names a data set by what it contains, not by where it is stored: the same
  rows, columns and values give the same hash on every machine, and any change (one label
  fixed, one row dropped, a column re-ordered) gives a different one;
- a **lineage log** records each step of a pipeline as one line of JSON (its name, its
  parameters, the hashes of what went in and of what came out, and when it ran), so that the
  question "which model saw which data?" becomes a walk through the log.

Example::

    log = LineageLog()
    raw = log.source("youtube-spam CSV files", load_youtube_spam())
    clean = dedupe(raw_df)
    log.record("dedupe", inputs=[raw], output=clean, params={"subset": "CONTENT"})
    log.ancestry(model_hash)       # every step (and source) a model depends on
    log.descendants(raw)           # every artefact, including models, built from the raw data
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils._validation import check_bool

__all__ = ["LineageLog", "Step", "content_hash", "file_hash"]

_HASH_LEN = 64  # hex digits of SHA-256
_MIN_PREFIX = 6


# --------------------------------------------------------------------------------------------
# Content hashes


def file_hash(path: str | PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 (hex) of a file's bytes, read in chunks.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb: raw files are the roots of a
    lineage graph, named by their hash so that a silently replaced file is noticed.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path {str(p)!r} is not a file")
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(data: Any, *, index: bool = True) -> str:
    """Return a deterministic SHA-256 (hex) of a data set's content.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb (W3.10).

    Accepted inputs and what is hashed:

    - ``pd.DataFrame``: the shape, the column names in order, each column's dtype and values
      (numbers as little-endian bytes, text through pandas' fixed-key ``hash_array``, plus a
      missing-value mask so that ``None`` and the string ``"None"`` differ), and the index
      unless ``index=False``;
    - ``pd.Series``: as a one-column frame, its name included;
    - ``np.ndarray`` or anything ``np.asarray`` turns into a numeric, boolean or text array:
      the dtype, the shape and the values in C order, so memory layout (C or Fortran order,
      a non-contiguous view) and byte order do not change the hash;
    - ``bytes``: the bytes themselves (for example a serialised model).

    The hash depends on row order: a shuffled copy is a different data set for a model that
    reads it in order. Sort first (``df.sort_values(...)``) if order should not matter.

    Raises:
        TypeError: ``data`` is of a kind that cannot be hashed faithfully (a ``str`` is refused
            because it is ambiguous: pass ``s.encode()`` for text, or use :func:`file_hash`
            for a path), or an object column holds unhashable values such as lists.
    """
    check_bool("index", index)
    digest = hashlib.sha256()
    if isinstance(data, (bytes, bytearray, memoryview)):
        digest.update(b"bytes\0")
        digest.update(bytes(data))
    elif isinstance(data, pd.DataFrame):
        _update_frame(digest, data, index=index)
    elif isinstance(data, pd.Series):
        digest.update(b"series\0")
        _update_frame(digest, data.to_frame(name=data.name), index=index)
    elif isinstance(data, str):
        raise TypeError(
            "data is a str, which is ambiguous: pass text as bytes (s.encode()), a path to "
            "file_hash(), or the data itself as a DataFrame, Series or array"
        )
    else:
        try:
            arr = np.asarray(data)
        except Exception as exc:
            raise TypeError(f"data of type {type(data).__name__} cannot be hashed: {exc}") from None
        if arr.dtype.kind == "O" and not _is_text_array(arr):
            raise TypeError(
                f"data of type {type(data).__name__} became an object array; pass a DataFrame "
                "or a numeric, boolean or text array"
            )
        digest.update(b"ndarray\0")
        _update_array(digest, arr, what="data")
    return digest.hexdigest()


def _is_text_array(arr: np.ndarray) -> bool:
    return all(isinstance(v, str) for v in arr.ravel())


def _update_array(digest: Any, arr: np.ndarray, *, what: str) -> None:
    """Feed dtype, shape and values of a plain array into ``digest``."""
    if arr.dtype.kind in "biufcmM":
        canon = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{canon.dtype.str}|{arr.shape}\0".encode())
        digest.update(canon.tobytes())
    elif arr.dtype.kind in "US" or arr.dtype.kind == "O":
        flat = np.ascontiguousarray(arr).ravel().astype(object)
        digest.update(f"text|{arr.shape}\0".encode())
        _update_objects(digest, flat, what=what)
    else:
        raise TypeError(f"{what} has dtype {arr.dtype}, which cannot be hashed")


def _update_objects(digest: Any, values: np.ndarray, *, what: str) -> None:
    """Hash an object array: missing-value mask, each value's type, then its text.

    Text goes through pandas' fixed-key ``hash_array`` (vectorised, the same on every machine).
    Numbers and other scalars are hashed as their ``repr`` with their type name beside it, so
    the integer 1 and the text "1" differ even inside one mixed column.
    """
    mask = np.asarray(pd.isna(values), dtype=bool)
    types = np.empty(values.size, dtype=object)
    text = np.empty(values.size, dtype=object)
    for i, v in enumerate(values):
        if mask[i]:
            types[i], text[i] = "null", ""
        elif isinstance(v, str):
            types[i], text[i] = "str", v
        elif isinstance(
            v, (bytes, bool, int, float, complex, np.generic, date, time, timedelta, Decimal)
        ):  # dates, times and pandas Timestamps hash by their repr
            types[i], text[i] = type(v).__name__, repr(v)
        else:
            raise TypeError(
                f"{what} holds a value of type {type(v).__name__} at position {i}, "
                "which cannot be hashed faithfully"
            )
    digest.update(np.packbits(mask).tobytes())
    digest.update(pd.util.hash_array(types, categorize=True).astype("<u8").tobytes())
    digest.update(pd.util.hash_array(text, categorize=False).astype("<u8").tobytes())


def _update_frame(digest: Any, df: pd.DataFrame, *, index: bool) -> None:
    digest.update(f"frame|{df.shape}\0".encode())
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        name = df.columns[i]
        digest.update(f"{type(name).__name__}:{name}|{col.dtype}\0".encode())
        _update_column(digest, col, what=f"column {name!r}")
    if index:
        digest.update(f"index|{df.index.nlevels}|{list(df.index.names)}\0".encode())
        for level in range(df.index.nlevels):
            values = df.index.get_level_values(level)
            _update_column(digest, pd.Series(values), what=f"index level {level}")


def _update_column(digest: Any, col: pd.Series, *, what: str) -> None:
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        digest.update(b"categorical\0")
        _update_objects(digest, col.astype(object).to_numpy(), what=what)
    elif isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        _update_array(digest, col.to_numpy(), what=what)
    else:  # object, string, nullable extension types: hash as Python objects
        # pandas-stubs lack the na_value=None overload that pandas accepts
        objects = col.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
        _update_objects(digest, objects, what=what)


# --------------------------------------------------------------------------------------------
# The lineage log


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded step: what ran, with which parameters, on what, producing what, and when.

    ``inputs`` and ``output`` are artefact identifiers, usually content hashes. A source (raw
    data entering the system) is a step with no inputs.
    """

    name: str
    inputs: tuple[str, ...]
    output: str
    params: Mapping[str, Any] = field(default_factory=dict)
    timestamp: str = ""

    def to_json(self) -> str:
        """One line of JSON with sorted keys (the on-disk format of :class:`LineageLog`)."""
        return json.dumps(
            {
                "name": self.name,
                "inputs": list(self.inputs),
                "output": self.output,
                "params": dict(self.params),
                "timestamp": self.timestamp,
            },
            sort_keys=True,
            ensure_ascii=False,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, line: str) -> Step:
        """Parse one line written by :meth:`to_json`."""
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("a lineage line must be a JSON object")
        missing = {"name", "inputs", "output", "params", "timestamp"} - obj.keys()
        if missing:
            raise ValueError(f"a lineage line lacks the field(s) {sorted(missing)}")
        return cls(
            name=obj["name"],
            inputs=tuple(obj["inputs"]),
            output=obj["output"],
            params=obj["params"],
            timestamp=obj["timestamp"],
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, PathLike)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _normalise_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``params`` as it will read back from JSON (tuples become lists, numpy -> Python)."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of names to values, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError(f"params keys must be strings, got {key!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"params[{key!r}] is {value}, which JSON cannot store")
        try:
            json.dumps(value, default=_json_default, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"params[{key!r}] cannot be stored as JSON: {exc}") from None
    stored: dict[str, Any] = json.loads(
        json.dumps(dict(params), default=_json_default, allow_nan=False)
    )
    return stored


class LineageLog:
    """An append-only record of pipeline steps, saved as JSON lines and queried as a graph.

    Introduced in week3/03_obtaining_data_and_pipelines.ipynb (W3.10).

    Args:
        clock: returns the time a step ran (a timezone-aware ``datetime``); inject a fixed
            clock in tests and in notebooks whose stored outputs must not change. Defaults to
            the current UTC time.

    Artefacts are identified by strings: content hashes from :func:`content_hash` or
    :func:`file_hash`, or any stable name (``"model:v1"``). Methods that take an artefact
    also accept the data itself (hashed on the spot) or a unique hash prefix of at least six
    characters, the way ``git`` accepts short commit ids.
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(
                f"clock must be a function returning a datetime, or None, got "
                f"{type(clock).__name__}"
            )
        self._clock = clock if clock is not None else _utc_now
        self._steps: list[Step] = []

    # -- recording -----------------------------------------------------------------------
    def record(
        self,
        name: str,
        *,
        inputs: Sequence[Any],
        output: Any,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Record one step and return the output's identifier.

        Args:
            name: what the step does, for example ``"drop duplicate comments"``.
            inputs: the artefacts the step read: identifiers (``str``) or data to hash.
            output: the artefact it produced: an identifier or data to hash.
            params: the settings that, with the inputs, determine the output (seeds included);
                JSON-serialisable values only, checked now rather than at save time.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
            raise TypeError("inputs must be a list of artefacts (identifiers or data)")
        input_ids = tuple(self._identify(x, f"inputs[{i}]") for i, x in enumerate(inputs))
        output_id = self._identify(output, "output")
        if output_id in input_ids:
            raise ValueError(f"step {name!r} lists its output {output_id[:12]} among its inputs")
        stamp = self._clock()
        if not isinstance(stamp, datetime) or stamp.tzinfo is None:
            raise ValueError("clock must return a timezone-aware datetime")
        step = Step(
            name=name,
            inputs=input_ids,
            output=output_id,
            params=_normalise_params(params),
            timestamp=stamp.astimezone(UTC).isoformat(),
        )
        self._steps.append(step)
        return output_id

    def source(self, name: str, data: Any, *, params: Mapping[str, Any] | None = None) -> str:
        """Record raw data entering the system (a step with no inputs); return its identifier.

        ``params`` is the place for where it came from: a URL, a file name, a licence, a
        collection date, who labelled it.
        """
        return self.record(name, inputs=[], output=data, params=params)

    @staticmethod
    def _identify(artefact: Any, what: str) -> str:
        if isinstance(artefact, str):
            if not artefact.strip():
                raise ValueError(f"{what} is an empty identifier")
            return artefact
        try:
            return content_hash(artefact)
        except TypeError as exc:
            raise TypeError(f"{what}: {exc}") from None

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> None:
        """Write the log as JSON lines, one step a line, in the order they were recorded."""
        text = "".join(step.to_json() + "\n" for step in self._steps)
        Path(path).write_text(text, encoding="utf-8")

    @classmethod
    def load(
        cls, path: str | PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> LineageLog:
        """Read a log written by :meth:`save`; new steps can then be appended to it."""
        log = cls(clock=clock)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                log._steps.append(Step.from_json(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"line {number} of the lineage file is not a step: {exc}"
                ) from None
        return log

    # -- queries -------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Step, ...]:
        """All steps, oldest first."""
        return tuple(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LineageLog) and self._steps == other._steps

    __hash__ = None  # type: ignore[assignment]  # mutable

    def artefacts(self) -> set[str]:
        """Every identifier that appears in the log, as an input or an output."""
        ids = {s.output for s in self._steps}
        for s in self._steps:
            ids.update(s.inputs)
        return ids

    def resolve(self, artefact: Any) -> str:
        """Return the full identifier of ``artefact`` (data, identifier or unique prefix)."""
        key = self._identify(artefact, "artefact")
        known = self.artefacts()
        if key in known:
            return key
        if len(key) >= _MIN_PREFIX:
            matches = sorted(a for a in known if a.startswith(key))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ValueError(f"artefact prefix {key!r} is ambiguous: it matches {len(matches)}")
        shown = key[:12] + ("..." if len(key) > 12 else "")
        raise KeyError(f"artefact {shown} does not appear in the lineage log")

    def ancestry(self, artefact: Any) -> pd.DataFrame:
        """Every step the artefact depends on, oldest first (the answer to "what did it see?").

        Returns a DataFrame with columns ``step`` (position in the log), ``name``, ``inputs``,
        ``output``, ``params`` and ``timestamp``. Steps with no inputs are the sources.
        """
        target = self.resolve(artefact)
        producers: dict[str, list[int]] = {}
        for i, s in enumerate(self._steps):
            producers.setdefault(s.output, []).append(i)
        seen_steps: set[int] = set()
        frontier = [target]
        seen_ids = {target}
        while frontier:
            current = frontier.pop()
            for i in producers.get(current, []):
                if i in seen_steps:
                    continue
                seen_steps.add(i)
                for parent in self._steps[i].inputs:
                    if parent not in seen_ids:
                        seen_ids.add(parent)
                        frontier.append(parent)
        return self._frame(sorted(seen_steps))

    def sources(self, artefact: Any) -> pd.DataFrame:
        """The raw data an artefact ultimately came from: the source steps of its ancestry."""
        anc = self.ancestry(artefact)
        return anc[anc["inputs"].map(len) == 0].reset_index(drop=True)

    def descendants(self, artefact: Any) -> pd.DataFrame:
        """Every step built, directly or not, from the artefact (the answer to "who used it?").

        Use it when data turns out to be wrong or must be deleted: the outputs listed are the
        data sets and models to rebuild. Same columns as :meth:`ancestry`.
        """
        origin = self.resolve(artefact)
        reached = {origin}
        selected: list[int] = []
        # Steps are recorded after their inputs exist, so one pass in log order suffices;
        # a loaded log edited by hand may break that order, so repeat until nothing changes.
        changed = True
        while changed:
            changed = False
            for i, s in enumerate(self._steps):
                if i not in selected and reached.intersection(s.inputs):
                    selected.append(i)
                    if s.output not in reached:
                        reached.add(s.output)
                    changed = True
        return self._frame(sorted(selected))

    def to_frame(self) -> pd.DataFrame:
        """The whole log as a DataFrame (same columns as :meth:`ancestry`)."""
        return self._frame(list(range(len(self._steps))))

    def _frame(self, positions: list[int]) -> pd.DataFrame:
        rows = [
            {
                "step": i,
                "name": self._steps[i].name,
                "inputs": self._steps[i].inputs,
                "output": self._steps[i].output,
                "params": dict(self._steps[i].params),
                "timestamp": self._steps[i].timestamp,
            }
            for i in positions
        ]
        return pd.DataFrame(
            rows, columns=["step", "name", "inputs", "output", "params", "timestamp"]
        )
