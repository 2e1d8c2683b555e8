"""Settings for every test, notebooks included: no network but loopback, data from the mirror.

This file sits at the repository's root so that it applies to whatever pytest collects, also
``pytest --nbval week1/`` alone. The network guard is loaded into every notebook kernel that
nbval starts through an IPython profile (``tests/ipython``), so notebooks are held to the same
rule as unit tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import runpy
import tempfile
from pathlib import Path
from typing import IO

import pytest

import utils  # noqa: F401 -- sets the portable-numerics variables before any numerical library loads

pytest_plugins = [
    "tests.nbval_tolerance"
]  # cells tagged nbval-tolerance: numbers within a tolerance

ROOT = Path(__file__).resolve().parent
_IPYTHON_DIR = ROOT / "tests" / "ipython"

os.environ["IPYTHONDIR"] = str(_IPYTHON_DIR)  # inherited by the kernels nbval starts
os.environ.setdefault("MLPROD_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["MLPROD_PROGRESS"] = "off"  # nbval does not replay clear_output (see utils/progress.py)
_shared = ROOT.parent / "shared" / "data"
if "MLPROD_DATA_DIR" not in os.environ and _shared.is_dir():
    os.environ["MLPROD_DATA_DIR"] = str(_shared)

runpy.run_path(str(_IPYTHON_DIR / "profile_default" / "startup" / "00-netguard.py"))


#: Notebooks that run only with an optional extra installed: path -> (module, install command).
#: Without it their cells would print the install line instead of the stored results, so nbval
#: skips them, with the reason. CI installs the extras (requirements-extras.lock).
NEEDS_EXTRA = {
    "week1/05_scaling_out.ipynb": ("ray", "pip install -e .[scale]"),
}


#: Files that start a Ray instance. Under ``pytest -n 2 --dist loadfile`` two files can run side by
#: side; these two take turns (a lock held from a file's first test to its last), so two Ray
#: instances never start at once on a two-core machine.
RAY_FILES = {"tests/test_ray_engine.py", "week1/05_scaling_out.ipynb"}
_RAY_LOCK = (
    Path(tempfile.gettempdir())
    / f"mlprod-ray-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}.lock"
)
_ray_lock: list[IO[str]] = []  # the open lock file while this process holds it


def _relative(item: pytest.Item | None) -> str | None:
    if item is None:
        return None
    try:
        return Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _relative(item) in RAY_FILES and not _ray_lock:
        handle = open(_RAY_LOCK, "w")  # noqa: SIM115 -- held across tests, closed in teardown
        fcntl.flock(handle, fcntl.LOCK_EX)
        _ray_lock.append(handle)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _ray_lock and _relative(nextitem) != _relative(item):
        _ray_lock.pop().close()  # closing the file releases the lock


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the notebooks whose optional extra is not installed, with the reason."""
    for item in items:
        relative = _relative(item)
        if relative is None:
            continue
        if relative in NEEDS_EXTRA:
            module, command = NEEDS_EXTRA[relative]
            if importlib.util.find_spec(module) is None:
                reason = f"{relative} needs {module}, which is not installed ({command})"
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config: pytest.Config) -> str:
    return f"MLPROD_DATA_DIR={os.environ.get('MLPROD_DATA_DIR', '(unset)')}"


@pytest.fixture(scope="session")
def data_available() -> bool:
    """True when the real data sets can be read; under CI their absence fails the test."""
    try:
        from utils.data import fetch

        fetch("youtube-spam", "Youtube01-Psy.csv")
        return True
    except FileNotFoundError:
        if os.environ.get("CI"):
            raise
        return False
