"""Checks of the coding exercises of labs/w1_deploy_a_model.ipynb, registered with ``exercise``.

Two exercises on the server the learner writes before ``create_app``: decoding an uploaded file
into the model's 28x28 input (``w1lab-decode``), and a FastAPI app that refuses bad requests
with 4xx answers instead of crashing (``w1lab-app``). Every check makes its own images with
Pillow and NumPy (seeded) and needs no Keras: the app check passes a fake model.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np

from utils.exercises import Wrong, exercise, returned

_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Shirt", "Sneaker"]


def _encode(image: Any, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def _picture(size: int, seed: int) -> np.ndarray:
    """A smooth greyscale picture (a blob on a gradient), so any resampling filter agrees."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    cy, cx = rng.uniform(0.3, 0.7, 2)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.05)
    return np.asarray(np.clip(40 + 60 * xx + 150 * blob, 0, 255), dtype=np.uint8)


def _images() -> list[tuple[str, bytes, np.ndarray, bool]]:
    """``(description, file bytes, expected 28x28 array, exact?)`` for several sizes and modes."""
    from PIL import Image

    cases = []
    grey = Image.fromarray(_picture(28, 1))
    cases.append(("a 28x28 greyscale PNG", _encode(grey), np.asarray(grey), True))
    jpeg = _encode(Image.fromarray(_picture(28, 2)), "JPEG")
    cases.append(("a 28x28 greyscale JPEG", jpeg, np.asarray(Image.open(io.BytesIO(jpeg))), True))
    base = _picture(28, 3)
    rgb = Image.fromarray(np.stack([base, np.roll(base, 5, axis=1), 255 - base], axis=-1))
    cases.append(("a 28x28 colour (RGB) PNG", _encode(rgb), np.asarray(rgb.convert("L")), False))
    big = Image.fromarray(_picture(112, 4))
    cases.append(
        (
            "a 112x112 greyscale PNG",
            _encode(big),
            np.asarray(big.resize((28, 28), Image.Resampling.BILINEAR)),
            False,
        )
    )
    wide = Image.fromarray(_picture(60, 5)).convert("RGBA")
    cases.append(
        (
            "a 60x60 PNG with transparency (RGBA)",
            _encode(wide),
            np.asarray(wide.convert("L").resize((28, 28), Image.Resampling.BILINEAR)),
            False,
        )
    )
    return cases


def _garbage() -> list[tuple[str, bytes]]:
    return [
        ("the text b'hello'", b"hello"),
        ("an empty file", b""),
        ("a PNG cut off after its first 60 bytes", _cut_png()),
        ("random bytes", np.random.default_rng(7).integers(0, 256, 500, dtype=np.uint8).tobytes()),
    ]


# decode_upload: PNG/JPEG bytes of any size and mode to a 28x28 uint8 array; ValueError with a
# message for bytes that are not a whole image (text, empty, truncated PNG, random bytes).
@exercise(
    "w1lab-decode",
    hint="the section 'Your own server, in thirty lines' on this page: "
    "Image.open on io.BytesIO(data), convert('L'), resize((28, 28)), "
    "and np.asarray.",
)
def _decode(decode_upload: Any) -> str:
    for what, data, want, exact in _images():
        got = returned("decode_upload(data)", decode_upload(data))
        got = np.asarray(got)
        if got.shape != (28, 28):
            hint = (
                " Convert it to greyscale with .convert('L') first."
                if got.shape[-1:] in ((3,), (4,))
                else " Resize it to 28x28 pixels."
            )
            raise Wrong(
                f"for {what}, decode_upload returned shape {got.shape}; the model needs "
                f"(28, 28).{hint}"
            )
        if got.dtype != np.uint8:
            raise Wrong(
                f"for {what}, decode_upload returned dtype {got.dtype}; return uint8 "
                "pixels from 0 to 255, as the file holds them (the model rescales them "
                "itself)."
            )
        gap = float(np.abs(got.astype(float) - want).mean())
        if (exact and gap > 0) or gap > 6:
            raise Wrong(
                f"for {what}, the pixels differ from the image's by {gap:.1f} grey "
                "levels on average. Keep the pixel values as they are, convert colour "
                "with .convert('L') and resize the whole image to 28x28 (no cropping)."
            )
    for what, data in _garbage():
        try:
            decode_upload(data)
        except ValueError as err:
            if not str(err).strip():
                raise Wrong(
                    f"for {what}, decode_upload raised ValueError without a message; "
                    "say what is wrong, the server will send it to the client."
                ) from None
            continue
        except Exception as err:
            raise Wrong(
                f"for {what}, decode_upload raised {type(err).__name__}: {err}. Catch "
                "Pillow's errors (they are OSError and its subclasses) and raise "
                "ValueError with a message instead."
            ) from None
        raise Wrong(
            f"for {what}, decode_upload returned an answer instead of raising "
            "ValueError. Make Pillow read the whole image inside your try block (call "
            "image.load() or convert it there)."
        )
    return (
        "decode_upload reads PNG and JPEG files of any size and mode, and refuses bytes that "
        "are not an image with a ValueError the server can turn into a 4xx answer."
    )


class _FakeModel:
    """A model that needs no Keras: its confidence grows with the image's mean brightness."""

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] not in ((28, 28, 1), (28, 28)):
            raise ValueError(f"the model takes (n, 28, 28, 1), got {X.shape}")
        m = X.reshape(len(X), -1).mean(axis=1) / 255
        top = (m * 10).astype(int) % 5
        p = np.full((len(X), 5), 0.0)
        p[np.arange(len(X)), top] = 0.2 + 0.7 * m
        rest = (1 - p.sum(axis=1)) / 4
        return np.where(p > 0, p, rest[:, None])


def _png(level: int) -> bytes:
    from PIL import Image

    return _encode(Image.fromarray(np.full((28, 28), level, dtype=np.uint8)))


def _cut_png() -> bytes:
    """The first 60 bytes of a PNG whose pixel data is longer than that."""
    from PIL import Image

    return _encode(Image.fromarray(_picture(28, 6)))[:60]


def _fake_answer(level: int, min_confidence: float) -> dict[str, Any]:
    p = _FakeModel().predict_proba(np.full((1, 28, 28, 1), level))[0]
    confidence = float(p.max())
    withheld = confidence < min_confidence
    return {
        "label": None if withheld else _CLASSES[int(p.argmax())],
        "confidence": confidence,
        "withheld": withheld,
    }


# make_app(model, class_names): the learner's FastAPI app. Good uploads answer 200 with the fake
# model's label/confidence/withheld; min_confidence outside [0, 1], a text file, an empty file
# and a truncated PNG get a 4xx (not 500, not 200) and never reach the model.
@exercise(
    "w1lab-app",
    hint="the section 'What your server lacks' on this page: declare "
    "min_confidence with Query(ge=0, le=1), check the upload's content "
    "type and turn a decoding error into HTTPException(422).",
)
def _app(make_app: Any) -> str:
    from fastapi.testclient import TestClient

    model = _FakeModel()
    app = returned("make_app(model, class_names)", make_app(model, list(_CLASSES)))
    if not callable(app):
        raise Wrong(f"make_app should return a FastAPI app, got {type(app).__name__}.")
    with TestClient(app, raise_server_exceptions=False) as client:
        post: Callable[..., Any] = client.post
        at_edge = _fake_answer(200, 0.0)["confidence"]  # exactly the threshold: not withheld
        for level, threshold in ((30, 0.0), (200, 0.5), (120, 0.9), (250, 1.0), (200, at_edge)):
            r = post(
                "/predict",
                files={"file": ("x.png", _png(level), "image/png")},
                params={"min_confidence": threshold},
            )
            if r.status_code != 200:
                raise Wrong(
                    f"a good 28x28 PNG with min_confidence={threshold} got status "
                    f"{r.status_code} ({r.text[:120]}); it should get 200."
                )
            got, want = r.json(), _fake_answer(level, threshold)
            if not isinstance(got, dict) or set(want) - set(got):
                raise Wrong(
                    f"the answer should be JSON with the keys {sorted(want)}, got {str(got)[:120]}."
                )
            if (
                got["label"] != want["label"]
                or got["withheld"] != want["withheld"]
                or not np.isclose(float(got["confidence"]), want["confidence"], atol=1e-4)
            ):
                raise Wrong(
                    f"for an image of grey level {level} and min_confidence={threshold}, "
                    f"the model's top class is {_fake_answer(level, 0)['label']!r} with "
                    f"confidence {want['confidence']:.3f}, so the answer should be "
                    f"{want}; got {got}. A prediction is withheld (label null) when its "
                    "confidence is below min_confidence."
                )
        calls = model.calls
        bad: dict[str, dict[str, Any]] = {
            "min_confidence=-1": dict(params={"min_confidence": -1}),
            "min_confidence=1.5": dict(params={"min_confidence": 1.5}),
            "min_confidence=abc": dict(params={"min_confidence": "abc"}),
            "a text file": dict(files={"file": ("notes.txt", b"hello", "text/plain")}),
            "an empty file": dict(files={"file": ("x.png", b"", "image/png")}),
            "a PNG cut off after 60 bytes": dict(
                files={"file": ("x.png", _cut_png(), "image/png")}
            ),
        }
        for what, kwargs in bad.items():
            kwargs.setdefault("files", {"file": ("x.png", _png(100), "image/png")})
            r = post("/predict", **kwargs)
            if not 400 <= r.status_code < 500:
                why = "the server crashed" if r.status_code >= 500 else "the server accepted it"
                raise Wrong(
                    f"a request with {what} got status {r.status_code}: {why}. It should "
                    "get a 4xx answer (422 or 415) that says what is wrong."
                )
        if model.calls != calls:
            raise Wrong(
                "a bad request reached the model: check the query parameter and decode "
                "the file before calling model.predict_proba."
            )
        if client.get("/health").status_code != 200:
            raise Wrong("GET /health should answer 200.")
    return (
        "make_app answers good uploads and refuses every bad request with a 4xx before it "
        "reaches the model, as create_app does."
    )
