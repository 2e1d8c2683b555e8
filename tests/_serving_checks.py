"""Checks shared by the serving tests of numeric and text models."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_withholds_exactly(
    body: dict[str, Any], confidence: np.ndarray, threshold: float
) -> None:
    """The answer withholds exactly the predictions less confident than ``threshold``, and says so."""
    held = np.array([p["withheld"] for p in body["predictions"]])
    np.testing.assert_array_equal(held, confidence < threshold)
    assert body["n_withheld"] == int((confidence < threshold).sum()) > 0
    first = body["predictions"][int(np.argmax(held))]
    assert first["label"] is None and first["class_index"] is None
    assert "below min_confidence" in first["reason"]
    assert "withheld" in body["notes"][0]
