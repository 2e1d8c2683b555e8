"""Checks of the week-1 notes' coding exercises (week1/*.ipynb), registered with ``exercise``."""

from __future__ import annotations

from typing import Any

import numpy as np

from utils.exercises import Wrong, exercise, returned

_RATE, _FRAME = 8000, 160


def _speech_signal(scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A two-second test signal with speech between 0.7 s and 1.4 s, and its loud frames.

    The loud frames are those whose speech energy alone is at least ten times the noise's: the
    fade-in and fade-out of the burst are too quiet to count either way.
    """
    t = np.arange(2 * _RATE) / _RATE
    rng = np.random.default_rng(seed)
    speech = (t > 0.7) & (t < 1.4)
    tone = speech * 0.4 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * (t - 0.7) / 0.7)
    signal = scale * (0.02 * rng.normal(size=t.size) + tone)
    n = t.size // _FRAME * _FRAME
    energy = (tone[:n].reshape(-1, _FRAME) ** 2).mean(axis=1)
    return signal, energy > 10 * 0.02**2


@exercise("w1lc-vad", hint="the VAD of the section 'Deployment' on this page: energy per frame "
                           "against a threshold that moves with the recording's level.")
def _vad(vad: Any) -> str:
    for scale in (1.0, 0.25, 3.0):
        signal, truth = _speech_signal(scale, seed=7)
        got = np.asarray(returned("vad(signal, frame)", vad(signal, _FRAME)))
        if got.shape != truth.shape:
            raise Wrong(f"vad should return one value per frame of {_FRAME} samples "
                        f"({truth.size} for this signal), got shape {got.shape}.")
        if got.dtype != bool:
            raise Wrong(f"vad should return booleans (True for speech), got dtype {got.dtype}.")
        silent = ~truth & (np.convolve(truth, np.ones(5), "same") == 0)  # far from any speech
        missed, extra = int((truth & ~got).sum()), int((silent & got).sum())
        if missed + extra > 0:
            why = (" A fixed energy threshold breaks when the microphone is quieter or louder."
                   if scale != 1 else " Compare the energy of a speech frame with the silence's.")
            raise Wrong(f"at volume x{scale:g}, vad marks {extra} silent frames as speech and "
                        f"misses {missed} speech frames (of {truth.size}).{why}")
    return "vad finds the speech at every volume, because its threshold follows the recording."
