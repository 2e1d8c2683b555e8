"""utils.data: finding, verifying, downloading and parsing the book's data sets, with no network.

Downloads are tested against a real HTTP server on 127.0.0.1 that serves copies of the files, so
the whole path (request, checksum, atomic write, cache hit) runs exactly as on a learner's machine.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from utils import data

YOUTUBE = sorted(data._DATASETS["youtube-spam"].files)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MLPROD_DATA_DIR, an empty cache, no system folders, downloads allowed."""
    monkeypatch.delenv("MLPROD_DATA_DIR", raising=False)
    monkeypatch.delenv("MLPROD_OFFLINE", raising=False)
    monkeypatch.setenv("MLPROD_CACHE_DIR", str(tmp_path / "cache"))
    for name, spec in data._DATASETS.items():
        monkeypatch.setitem(
            data._DATASETS,
            name,
            data._DataSet(spec.folder, spec.files, spec.urls, spec.archive, system_dirs=()),
        )
    return tmp_path


@pytest.fixture
def mirror(data_available: bool) -> Path:
    """The real data mirror (request it before ``isolated``, which hides it)."""
    if not data_available:
        pytest.skip("the data mirror is not available (set MLPROD_DATA_DIR)")
    import os

    return Path(os.environ["MLPROD_DATA_DIR"])


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on 127.0.0.1; yields (base URL, folder it serves)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _use_urls(monkeypatch: pytest.MonkeyPatch, dataset: str, urls: tuple[str, ...]) -> None:
    spec = data._DATASETS[dataset]
    monkeypatch.setitem(
        data._DATASETS,
        dataset,
        data._DataSet(spec.folder, spec.files, urls, spec.archive, system_dirs=()),
    )


# ---------------------------------------------------------------------------- real data


def test_fashion_mnist_has_the_published_shapes_and_balance(mirror: Path) -> None:
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60_000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10_000, 28, 28)
    assert np.bincount(y_train).tolist() == [6_000] * 10
    assert np.bincount(y_test).tolist() == [1_000] * 10
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]  # the published first labels


def test_fashion_mnist_class_subset_is_renumbered_in_the_given_order(mirror: Path) -> None:
    (x, y), (_, yt) = data.load_fashion_mnist(classes=["Shirt", 0])
    (x_all, y_all), _ = data.load_fashion_mnist()
    assert x.shape == (12_000, 28, 28) and np.bincount(yt).tolist() == [1_000, 1_000]
    np.testing.assert_array_equal(x[y == 0], x_all[y_all == 6])  # "Shirt" became label 0
    np.testing.assert_array_equal(x[y == 1], x_all[y_all == 0])


@pytest.mark.parametrize("bad", [["Hat"], [10], [-1], [True], [], ["Shirt", "Shirt"]])
def test_fashion_mnist_rejects_unknown_or_repeated_classes(mirror: Path, bad: list) -> None:
    with pytest.raises(ValueError, match=r"class|empty|duplicates"):
        data.load_fashion_mnist(classes=bad)


def test_youtube_spam_is_read_in_sorted_file_order(mirror: Path) -> None:
    frame = data.load_youtube_spam()
    assert frame.shape == (1_956, 6)
    assert list(frame.columns) == ["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS", "VIDEO"]
    assert int(frame["CLASS"].sum()) == 1_005
    assert frame["VIDEO"].drop_duplicates().tolist() == [Path(n).stem for n in YOUTUBE]
    assert frame.index.tolist() == list(range(1_956))


# ---------------------------------------------------------------------------- verification


def test_a_corrupted_file_is_refused_with_name_hash_and_fix(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = isolated / "mirror" / "youtube-spam"
    folder.mkdir(parents=True)
    (folder / "Youtube01-Psy.csv").write_text("COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n")
    monkeypatch.setenv("MLPROD_DATA_DIR", str(isolated / "mirror"))
    with pytest.raises(data.DataIntegrityError) as info:
        data.fetch("youtube-spam", "Youtube01-Psy.csv")
    message = str(info.value)
    assert "Youtube01-Psy.csv" in message
    assert data._DATASETS["youtube-spam"].files["Youtube01-Psy.csv"] in message
    assert "Delete it" in message


def test_a_truncated_copy_of_the_real_file_is_refused(
    mirror: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = (mirror / "fashion-mnist" / "train-labels-idx1-ubyte.gz").read_bytes()
    folder = isolated / "copy" / "fashion-mnist"
    folder.mkdir(parents=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(original[: len(original) // 2])
    monkeypatch.setenv("MLPROD_DATA_DIR", str(isolated / "copy"))
    with pytest.raises(data.DataIntegrityError, match=r"train-labels-idx1-ubyte\.gz"):
        data.fetch("fashion-mnist", "train-labels-idx1-ubyte.gz")


def test_missing_files_offline_say_exactly_where_to_put_them(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPROD_OFFLINE", "1")
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(isolated / "cache" / "fashion-mnist") in message
    assert "MLPROD_DATA_DIR" in message


def test_unknown_data_set_or_file_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        data.fetch("mnist", "x")
    with pytest.raises(ValueError, match="is not a file of"):
        data.fetch("youtube-spam", "Youtube06-Adele.csv")


# ---------------------------------------------------------------------------- downloads


def test_download_verifies_caches_and_is_then_served_from_the_cache(
    mirror: Path, isolated: Path, http_root: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = http_root
    name = "t10k-labels-idx1-ubyte.gz"
    (www / name).write_bytes((mirror / "fashion-mnist" / name).read_bytes())
    _use_urls(monkeypatch, "fashion-mnist", (base + "/missing/{name}", base + "/{name}"))
    path = data.fetch("fashion-mnist", name)
    assert path == isolated / "cache" / "fashion-mnist" / name
    assert not list(path.parent.glob("*.part"))
    (www / name).unlink()  # a second call must not need the server any more
    assert data.fetch("fashion-mnist", name) == path


def test_a_download_with_the_wrong_content_is_not_saved(
    isolated: Path, http_root: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = http_root
    (www / "Youtube01-Psy.csv").write_text("not the data")
    _use_urls(monkeypatch, "fashion-mnist", (base + "/{name}",))
    (www / "t10k-labels-idx1-ubyte.gz").write_bytes(b"an HTML error page")
    with pytest.raises(data.DataNotFoundError, match="SHA-256"):
        data.fetch("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    assert not (isolated / "cache" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_youtube_archive_download_extracts_all_five_files(
    mirror: Path, isolated: Path, http_root: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, www = http_root
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in YOUTUBE:
            archive.writestr(name, (mirror / "youtube-spam" / name).read_bytes())
        archive.writestr("__MACOSX/._Youtube01-Psy.csv", b"resource fork")
    (www / "spam.zip").write_bytes(buffer.getvalue())
    _use_urls(monkeypatch, "youtube-spam", (base + "/spam.zip",))
    frame = data.load_youtube_spam()
    assert frame.shape == (1_956, 6)
    for name in YOUTUBE:
        cached = isolated / "cache" / "youtube-spam" / name
        assert (
            hashlib.sha256(cached.read_bytes()).hexdigest()
            == data._DATASETS["youtube-spam"].files[name]
        )


def test_a_refused_connection_becomes_a_clear_not_found_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _use_urls(monkeypatch, "fashion-mnist", (f"http://127.0.0.1:{port}/{{name}}",))
    with pytest.raises(data.DataNotFoundError, match="could not be downloaded"):
        data.fetch("fashion-mnist", "t10k-labels-idx1-ubyte.gz")


def test_idx_files_with_a_wrong_magic_number_are_refused(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    assert data._read_idx(path, 2049).tolist() == [1, 2, 3]
    with pytest.raises(data.DataIntegrityError, match="not an IDX file"):
        data._read_idx(path, 2051)


def test_downsample_averages_blocks_and_scales_to_unit_range() -> None:
    images = np.zeros((2, 4, 4), dtype=np.uint8)
    images[0, :2, :2] = 255
    images[1, 2:, 2:] = [[0, 255], [255, 255]]
    out = data.downsample(images)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out, [[1, 0, 0, 0], [0, 0, 0, 0.75]])
    assert data.downsample(images, flatten=False).shape == (2, 2, 2)
    assert data.downsample(images, factor=4).tolist() == [[0.25], [0.1875]]


@pytest.mark.parametrize(
    "images, factor",
    [
        (np.zeros((4, 4)), 2),
        (np.zeros((1, 5, 4)), 2),
        (np.zeros((1, 4, 4)), 0),
        (np.zeros((1, 4, 4)), 1.5),
    ],
)
def test_downsample_rejects_bad_shapes_and_factors(images: np.ndarray, factor: object) -> None:
    with pytest.raises(ValueError, match=r"images|factor|blocks"):
        data.downsample(images, factor)  # type: ignore[arg-type]


def test_clear_cache_deletes_downloads_but_never_the_data_dir(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = isolated / "cache" / "youtube-spam" / "Youtube01-Psy.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text("x")
    mirror_copy = isolated / "mirror" / "youtube-spam" / "Youtube01-Psy.csv"
    mirror_copy.parent.mkdir(parents=True)
    mirror_copy.write_text("x")
    monkeypatch.setenv("MLPROD_DATA_DIR", str(isolated / "mirror"))
    data.clear_cache()
    assert not cached.exists()
    assert mirror_copy.exists()
