"""The book's real data sets, found locally or downloaded once, and always verified.

Introduced in the chapter "Start here: the data sets". Two data sets are used throughout:

- **Fashion-MNIST** (Xiao, Rasul and Vollgraf, 2017; MIT licence): 70,000 greyscale 28x28 images
  of clothing in 10 classes.
- **YouTube Spam Collection** (Alberto, Lochter and Almeida, 2015; CC BY 4.0): 1,956 comments
  from five music videos, labelled spam (1) or not spam (0).

Where the files are looked for, in order:

1. the folder named by the environment variable ``MLPROD_DATA_DIR`` (CI points it at a mirror);
2. the user's cache, ``$MLPROD_CACHE_DIR`` or ``~/.cache/mlprod/data``;
3. known system locations (Debian's ``dataset-fashion-mnist`` package);
4. a download from the canonical source into the cache, unless ``MLPROD_OFFLINE=1``.

Each data set lives in a sub-folder of its own (``fashion-mnist/``, ``youtube-spam/``). Every file
is checked against its SHA-256 before it is read; a wrong or truncated file is refused with a
message that says which file, what was expected and how to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DataIntegrityError",
    "DataNotFoundError",
    "clear_cache",
    "data_locations",
    "downsample",
    "fetch",
    "load_fashion_mnist",
    "load_youtube_spam",
]

#: Class names of Fashion-MNIST, indexed by label.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class DataNotFoundError(FileNotFoundError):
    """No copy of a data file could be found or downloaded."""


class DataIntegrityError(ValueError):
    """A data file exists but its content is not the published one."""


@dataclass(frozen=True)
class _DataSet:
    folder: str
    files: dict[str, str]  # file name -> sha256
    urls: tuple[str, ...]  # sources tried in order; "{name}" is the file name
    archive: bool = False  # True: the url is a zip holding all the files
    system_dirs: tuple[str, ...] = ()


_DATASETS: dict[str, _DataSet] = {
    "fashion-mnist": _DataSet(
        folder="fashion-mnist",
        files={
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        urls=(
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/{name}",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/{name}",
        ),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    "youtube-spam": _DataSet(
        folder="youtube-spam",
        files={
            "Youtube01-Psy.csv": "19797e6c77690e3c8809cfd2853ae7341390636367ba66cf5d4f4083f0b88535",
            "Youtube02-KatyPerry.csv": "902c614f8ef24f987d6f614d7e6111aa5160b89a0646b68e007bd6044a3d123b",
            "Youtube03-LMFAO.csv": "702ef589860a1831956f527760a3d9737ef8a07ab36c7de35b92b8898b8c3928",
            "Youtube04-Eminem.csv": "92f54eb6b22fdf3b7ae85e1f500e5aa7442edd025e504b988a97078756187e76",
            "Youtube05-Shakira.csv": "1d8ab47b71e8037c51183b2fc62f0591a48a4b54f3a4f5d9d3043113b274e98e",
        },
        urls=("https://archive.ics.uci.edu/static/public/380/youtube+spam+collection.zip",),
        archive=True,
    ),
}

_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_dir() -> Path:
    if os.environ.get("MLPROD_CACHE_DIR"):
        return Path(os.environ["MLPROD_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlprod" / "data"


def data_locations(dataset: str) -> list[Path]:
    """Folders searched for ``dataset``, in the order they are tried."""
    spec = _spec(dataset)
    places: list[Path] = []
    if os.environ.get("MLPROD_DATA_DIR"):
        places.append(Path(os.environ["MLPROD_DATA_DIR"]).expanduser() / spec.folder)
    places.append(_cache_dir() / spec.folder)
    places.extend(Path(d) for d in spec.system_dirs)
    return places


def _spec(dataset: str) -> _DataSet:
    try:
        return _DATASETS[dataset]
    except KeyError:
        raise ValueError(f"unknown data set {dataset!r}; known: {sorted(_DATASETS)}") from None


def _verify(path: Path, expected: str) -> Path:
    actual = _sha256(path)
    if actual != expected:
        raise DataIntegrityError(
            f"{path} is not the published file: its SHA-256 is {actual}, expected {expected} "
            f"(size {path.stat().st_size:,} bytes; a truncated or edited copy?). "
            f"Delete it and run again to download a fresh copy, or replace it with the original."
        )
    return path


def fetch(dataset: str, name: str) -> Path:
    """Return the verified local path of one file of ``dataset``, downloading it if needed.

    Raises:
        DataIntegrityError: a copy exists but its checksum is wrong.
        DataNotFoundError: no copy exists and none could be downloaded.
    """
    spec = _spec(dataset)
    if name not in spec.files:
        raise ValueError(f"{name!r} is not a file of {dataset!r}; files: {sorted(spec.files)}")
    for folder in data_locations(dataset):
        candidate = folder / name
        if candidate.is_file():
            return _verify(candidate, spec.files[name])
    return _download(spec, name)


def _download(spec: _DataSet, name: str) -> Path:
    target_dir = _cache_dir() / spec.folder
    where = "\n".join(f"  - {p}" for p in data_locations(spec.folder))
    how = (
        f"Put the file {name} into one of these folders:\n{where}\n"
        f"or set MLPROD_DATA_DIR to a folder that has a '{spec.folder}/' sub-folder with it."
    )
    if os.environ.get("MLPROD_OFFLINE", "").strip() not in ("", "0"):
        raise DataNotFoundError(
            f"{name} of {spec.folder!r} was not found and MLPROD_OFFLINE is set.\n{how}"
        )
    errors: list[str] = []
    for template in spec.urls:
        url = template.format(name=name)
        try:
            payload = _http_get(url)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        try:
            if spec.archive:
                _extract_archive(payload, spec, target_dir)
            else:
                _write_verified(payload, target_dir / name, spec.files[name])
        except DataIntegrityError as exc:
            errors.append(f"{url}: {exc}")
            continue
        return _verify(target_dir / name, spec.files[name])
    raise DataNotFoundError(
        f"{name} of {spec.folder!r} was not found locally and could not be downloaded:\n"
        + "\n".join(f"  {e}" for e in errors)
        + f"\n{how}"
    )


def _http_get(url: str, timeout: float = 60.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "mlprod-utils"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
        return body


def _write_verified(payload: bytes, path: Path, expected: str) -> None:
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise DataIntegrityError(
            f"the download of {path.name} has SHA-256 {actual}, expected {expected}; not saved"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
        tmp.write(payload)
    Path(tmp.name).replace(path)  # atomic: a reader never sees half a file


def _extract_archive(payload: bytes, spec: _DataSet, target_dir: Path) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile as exc:
        raise DataIntegrityError(f"the download is not a zip archive ({exc})") from None
    members = {Path(m).name: m for m in archive.namelist() if not m.startswith("__MACOSX")}
    missing = sorted(set(spec.files) - set(members))
    if missing:
        raise DataIntegrityError(f"the archive lacks {missing}")
    for fname, expected in spec.files.items():
        _write_verified(archive.read(members[fname]), target_dir / fname, expected)


# --------------------------------------------------------------------------------------------
# Fashion-MNIST


def _read_idx(path: Path, expected_magic: int) -> npt.NDArray[np.uint8]:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataIntegrityError(
            f"{path} is not an IDX file (magic {magic}, expected {expected_magic})"
        )
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_fashion_mnist(
    classes: Sequence[int | str] | None = None,
) -> tuple[
    tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
    tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
]:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, like Keras does.

    Images are ``uint8`` arrays of shape ``(n, 28, 28)``; labels are ``int64``.

    Args:
        classes: keep only these classes (names from :data:`FASHION_MNIST_CLASSES` or label
            numbers). Labels are then renumbered ``0 .. len(classes) - 1`` in the order given,
            so ``classes=["T-shirt/top", "Shirt"]`` gives T-shirts label 0 and shirts label 1.
    """
    x_train = _read_idx(fetch("fashion-mnist", "train-images-idx3-ubyte.gz"), 2051)
    y_train = _read_idx(fetch("fashion-mnist", "train-labels-idx1-ubyte.gz"), 2049).astype(np.int64)
    x_test = _read_idx(fetch("fashion-mnist", "t10k-images-idx3-ubyte.gz"), 2051)
    y_test = _read_idx(fetch("fashion-mnist", "t10k-labels-idx1-ubyte.gz"), 2049).astype(np.int64)
    if classes is None:
        return (x_train, y_train), (x_test, y_test)
    wanted = [_class_index(c) for c in classes]
    if not wanted:
        raise ValueError("classes is empty; pass None for all ten classes")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"classes has duplicates: {list(classes)}")
    lookup = np.full(10, -1, dtype=np.int64)
    lookup[wanted] = np.arange(len(wanted))
    keep_train, keep_test = lookup[y_train] >= 0, lookup[y_test] >= 0
    return (
        (x_train[keep_train], lookup[y_train[keep_train]]),
        (x_test[keep_test], lookup[y_test[keep_test]]),
    )


def _class_index(c: int | str) -> int:
    if isinstance(c, str):
        if c not in FASHION_MNIST_CLASSES:
            raise ValueError(
                f"unknown Fashion-MNIST class {c!r}; known: {list(FASHION_MNIST_CLASSES)}"
            )
        return FASHION_MNIST_CLASSES.index(c)
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= int(c) < 10:
        return int(c)
    raise ValueError(f"unknown Fashion-MNIST class {c!r}; use a name or a label in 0..9")


def downsample(
    images: npt.ArrayLike, factor: int = 2, *, flatten: bool = True
) -> npt.NDArray[np.float64]:
    """Average ``factor`` x ``factor`` pixel blocks and scale the result to [0, 1].

    Introduced in week2/01_modeling_overview.ipynb. With the default ``factor=2`` a batch of
    Fashion-MNIST images, ``uint8`` of shape ``(n, 28, 28)``, becomes ``(n, 196)`` features
    (or ``(n, 14, 14)`` with ``flatten=False``), a quarter of the pixels, which makes small
    models train four times faster while keeping the shapes recognisable.
    """
    arr = np.asarray(images)
    if arr.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got {arr.shape}")
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    n, height, width = arr.shape
    if height % factor or width % factor:
        raise ValueError(
            f"images of {height}x{width} pixels cannot be cut into {factor}x{factor} blocks"
        )
    small: npt.NDArray[np.float64] = (
        arr.reshape(n, height // factor, factor, width // factor, factor).mean(axis=(2, 4)) / 255
    )
    return small.reshape(n, -1) if flatten else small


# --------------------------------------------------------------------------------------------
# YouTube Spam Collection


def load_youtube_spam() -> pd.DataFrame:
    """Load the five YouTube comment files into one DataFrame, in sorted file order.

    Columns: ``COMMENT_ID, AUTHOR, DATE, CONTENT, CLASS`` as published (``CLASS`` 1 = spam,
    0 = not spam), plus ``VIDEO``, the file it came from (for example ``"Youtube01-Psy"``).
    Reading the files in sorted order makes the row order, and every number computed from it,
    the same on every machine (the course's lab read them in directory order).
    """
    spec = _spec("youtube-spam")
    frames = []
    for name in sorted(spec.files):
        frame = pd.read_csv(
            fetch("youtube-spam", name),
            dtype={"COMMENT_ID": str, "AUTHOR": str, "DATE": str, "CONTENT": str},
        )
        expected = ["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"]
        if list(frame.columns) != expected:
            raise DataIntegrityError(
                f"{name} has columns {list(frame.columns)}, expected {expected}"
            )
        frame["VIDEO"] = Path(name).stem
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["CLASS"] = out["CLASS"].astype(np.int64)
    return out


def clear_cache() -> None:
    """Delete the downloaded copies in the user's cache (never ``MLPROD_DATA_DIR``)."""
    shutil.rmtree(_cache_dir(), ignore_errors=True)
