"""Notebook cells whose numbers may differ in the last digits between computers.

nbval compares a cell's fresh outputs with the stored ones character by character. That is the
rule for almost every cell of the book. A few cells print results of training a neural network,
and those cannot be bit-identical on every processor (see "Reproducible notebooks" in
CONTRIBUTING.md): TensorFlow's matrix kernels block their sums by the processor's cache sizes,
and ARM computers run other kernels altogether.

Such a cell carries the tag ``nbval-tolerance`` and states its tolerance in its metadata, one
for numbers printed with decimals (accuracies, shares, probabilities) and one for whole numbers
(counts, epochs)::

    "metadata": {"tags": ["nbval-tolerance"], "tolerance": {"decimals": 0.03, "integers": 3}}

It is then compared in two parts, and fails if either differs:

- the text with every number taken out must be the same (runs of white space count as one, so
  that a table whose columns widen by a digit still matches);
- every number must be within its tolerance of the stored one, ``|fresh - stored| <= tol``.
  Numbers are read in the order they are printed. A kind left out has a tolerance of 0.

A cell whose digits depend only on NumPy's BLAS kernels (a logistic regression, say) is the same
to the last digit on every x86-64 processor once ``import utils`` has capped them, and differs
only on other processors (ARM). It adds ``"exact_on_x86_64": true`` to its tolerance: where the
caps are in effect it is compared exactly, as an untagged cell; elsewhere within the tolerance.

A tagged cell without a tolerance, or a tolerance with other keys, fails with a message that
says so. Figures are never compared (nbval skips images), so a plot of such a cell needs nothing.
Loaded by the root ``conftest.py``; tested by ``tests/test_nbval_tolerance.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

TAG = "nbval-tolerance"
_KEYS = ("decimals", "integers")
_FLAG = "exact_on_x86_64"

# A number as printed: optional sign, digits with optional thousands commas, optional decimals
# and exponent. "2,392" is one number; "T-shirt" and "w2" hold none or a plain integer.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\d])")
_SPACE = re.compile(r"\s+")


class ToleranceError(ValueError):
    """A cell's stated tolerance is missing or malformed."""


def tolerance_of(metadata: Mapping[str, Any]) -> dict[str, float]:
    """``{"decimals": tol, "integers": tol}`` from a tagged cell's metadata.

    Raises :class:`ToleranceError` when the tolerance is not stated or not valid.
    """
    spec = metadata.get("tolerance")
    if (
        not isinstance(spec, Mapping)
        or not set(spec) & set(_KEYS)
        or set(spec) - {*_KEYS, _FLAG}
        or not isinstance(spec.get(_FLAG, False), bool)
    ):
        raise ToleranceError(
            f"a cell tagged {TAG!r} must state its tolerance in its metadata as "
            f'"tolerance": {{"decimals": ..., "integers": ...}} (either or both, and optionally '
            f'"{_FLAG}": true); got {spec!r}'
        )
    tolerance = {key: spec.get(key, 0.0) for key in _KEYS}
    for key, value in tolerance.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ToleranceError(f"tolerance {key!r} must be a number >= 0, got {value!r}")
    return {key: float(value) for key, value in tolerance.items()}


def exact_here(metadata: Mapping[str, Any]) -> bool:
    """True when a tagged cell asks to be exact on x86-64 and the kernel caps are in effect."""
    if not metadata.get("tolerance", {}).get(_FLAG, False):
        return False
    from utils._setup import portable_numerics_env

    wanted = portable_numerics_env()
    return bool(wanted) and all(os.environ.get(k) == v for k, v in wanted.items())


def skeleton(text: str) -> str:
    """The text with every number replaced by ``#`` and runs of white space by one space."""
    return _SPACE.sub(" ", NUMBER.sub("#", text)).strip()


def numbers(text: str) -> list[str]:
    """The numbers printed in ``text``, in order, as printed."""
    return [m.group() for m in NUMBER.finditer(text)]


def _kind(number: str) -> str:
    return "decimals" if any(c in number for c in ".eE") else "integers"


def compare_text(stored: str, fresh: str, tolerance: Mapping[str, float]) -> str | None:
    """``None`` when ``fresh`` matches ``stored`` within the tolerance, else what differs."""
    if skeleton(stored) != skeleton(fresh):
        return (
            f"the text around the numbers differs:\n  stored: {skeleton(stored)[:400]}\n"
            f"  fresh:  {skeleton(fresh)[:400]}"
        )
    for index, (a, b) in enumerate(zip(numbers(stored), numbers(fresh), strict=True), start=1):
        allowed = tolerance[_kind(a)]
        off = abs(float(b.replace(",", "")) - float(a.replace(",", "")))
        if off > allowed + 1e-9:
            return (
                f"number {index} is {b} where the stored output has {a}: off by {off:.3g}, "
                f"more than the tolerance of {allowed:g} for {_kind(a)}"
            )
    return None


def _flatten(outputs: Iterable[Mapping[str, Any]], skip: Iterable[str]) -> dict[str, list[str]]:
    """Output texts by key (stream name or MIME type), as nbval flattens them for comparison."""
    skip = set(skip)
    found: dict[str, list[str]] = {}
    for output in outputs:
        for key, value in output.items():
            if key in skip:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in skip:
                        found.setdefault(mime, []).append(
                            data if isinstance(data, str) else repr(data)
                        )
            else:
                found.setdefault(key, []).append(value if isinstance(value, str) else repr(value))
    return found


def compare_outputs(
    fresh: Iterable[Mapping[str, Any]],
    stored: Iterable[Mapping[str, Any]],
    tolerance: Mapping[str, float],
    skip: Iterable[str] = (),
) -> str | None:
    """Compare a cell's outputs (already sanitized) key by key; ``None`` when they match."""
    new, old = _flatten(fresh, skip), _flatten(stored, skip)
    if set(new) != set(old):
        return f"the cell printed outputs of kinds {sorted(new)} where the stored ones are {sorted(old)}"
    for key in old:
        if len(new[key]) != len(old[key]):
            return f"{len(new[key])} outputs of kind {key!r} where {len(old[key])} are stored"
        for a, b in zip(old[key], new[key], strict=True):
            problem = compare_text(a, b, tolerance)
            if problem:
                return f"{key}: {problem}"
    return None


def install() -> None:
    """Teach nbval's cell items the tag: its other cells keep the exact comparison."""
    from nbval import plugin

    exact = plugin.IPyNbCell.compare_outputs
    if getattr(exact, "_tolerant", False):
        return

    def compare(self: Any, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
        if TAG not in self.cell.metadata.get("tags", []):
            return exact(self, test, ref, skip_compare)
        self.comparison_traceback = []
        try:
            tolerance = tolerance_of(self.cell.metadata)  # checked on every machine
        except ToleranceError as err:
            self.comparison_traceback.append(str(err))
            return False
        if exact_here(self.cell.metadata):
            return exact(self, test, ref, skip_compare)
        skip = skip_compare or self.parent.skip_compare
        sanitize = self.sanitize_outputs
        problem = compare_outputs(
            sanitize(plugin.transform_streams_for_comparison(test)),
            sanitize(plugin.transform_streams_for_comparison(ref)),
            tolerance,
            skip,
        )
        if problem is None:
            return True
        self.comparison_traceback.append(f"cell tagged {TAG!r}: {problem}")
        return False

    compare._tolerant = True  # type: ignore[attr-defined]
    plugin.IPyNbCell.compare_outputs = compare


def pytest_configure(config: Any) -> None:
    """pytest hook: install the comparison when this module is loaded as a plugin."""
    install()
