"""utils.setup: seeds, plotting style, argument checks; and the package's lazy imports."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pytest

import utils


def test_same_seed_same_random_numbers() -> None:
    utils.setup(seed=3)
    first = (random.random(), np.random.rand(3).tolist())  # noqa: NPY002 -- the global generator is what setup seeds
    utils.setup(seed=3)
    assert (random.random(), np.random.rand(3).tolist()) == first  # noqa: NPY002
    utils.setup(seed=4)
    assert np.random.rand(3).tolist() != first[1]  # noqa: NPY002


def test_setup_sets_the_book_style_and_quiets_tensorflow() -> None:
    utils.setup()
    assert mpl.rcParams["axes.spines.top"] is False
    import os

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert os.environ["TQDM_DISABLE"] == "1"


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_setup_rejects_a_bad_seed(seed: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        utils.setup(seed=seed)  # type: ignore[arg-type]


def test_importing_utils_is_cheap_and_never_imports_tensorflow() -> None:
    code = "import sys, utils; utils.setup(); print('tensorflow' in sys.modules, 'fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_keras_setup_gives_identical_weights_twice() -> None:
    code = (
        "import utils; utils.setup(keras=True); import keras;"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]);"
        "print(float(m.layers[0].kernel.numpy().sum()))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and runs[0]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        utils.nope  # noqa: B018


def test_setup_pins_math_library_threads() -> None:
    from threadpoolctl import threadpool_info

    utils.setup(threads=1)
    assert all(pool["num_threads"] == 1 for pool in threadpool_info())


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_setup_rejects_a_bad_thread_count(threads: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        utils.setup(threads=threads)  # type: ignore[arg-type]


def test_importing_utils_loads_no_numerical_library() -> None:
    # The portable-numerics variables only work if they are set before NumPy loads its BLAS.
    code = "import sys, utils; print(sorted({'numpy', 'scipy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_portable_numerics_caps_every_library_at_avx2(monkeypatch: pytest.MonkeyPatch) -> None:
    from utils import _setup

    monkeypatch.setattr(_setup.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(_setup, "_has_avx2", lambda: True)
    assert _setup.portable_numerics_env() == {
        "OPENBLAS_CORETYPE": "Haswell",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
    }
    monkeypatch.setattr(_setup, "_has_avx2", lambda: False)  # forcing AVX2 kernels would crash
    assert _setup.portable_numerics_env() == {}
    monkeypatch.setattr(_setup.platform, "machine", lambda: "aarch64")
    assert _setup.portable_numerics_env() == {}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [("fpu sse4_1 avx avx2 fma bmi2", True), ("fpu sse4_1 avx", False), ("fpu avx2", False)],
)
def test_avx2_is_read_from_the_processor_flags(tmp_path, flags: str, expected: bool) -> None:
    from utils import _setup

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert _setup._has_avx2(str(cpuinfo)) is expected
    assert _setup._has_avx2(str(tmp_path / "missing")) is True  # not Linux: assume a modern CPU


def test_importing_utils_sets_the_variables_in_a_plain_process() -> None:
    # What a learner's JupyterLab kernel does: nothing set beforehand, `import utils` first.
    from utils._setup import PORTABLE_NUMERICS, portable_numerics_env

    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMERICS}
    code = (
        "import os, utils, numpy; from threadpoolctl import threadpool_info;"
        "print([os.environ.get(k) for k in utils._setup.PORTABLE_NUMERICS]);"
        "print(sorted({p.get('architecture') for p in threadpool_info()"
        " if p['internal_api'] == 'openblas'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    wanted = portable_numerics_env()
    assert out[0] == repr([wanted.get(k) for k in PORTABLE_NUMERICS])
    if wanted:
        assert out[1] == "['Haswell']"


def test_setup_warns_when_numpy_loaded_first() -> None:
    from utils._setup import PORTABLE_NUMERICS, portable_numerics_env

    if not portable_numerics_env():
        pytest.skip("kernels are pinned on x86-64 processors with AVX2 only")
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMERICS}
    env["OPENBLAS_CORETYPE"] = "Sandybridge"  # as if NumPy had loaded with other kernels
    code = (
        "import numpy, os; os.environ['OPENBLAS_CORETYPE'] = 'Haswell'; import utils; utils.setup()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "NumPy was loaded before `import utils`" in out.stderr


def test_tests_run_with_the_portable_numerics() -> None:
    # conftest.py imports utils, which sets them for this process and every kernel it starts.
    from utils._setup import portable_numerics_env

    for name, value in portable_numerics_env().items():
        assert os.environ.get(name) == value


def test_numpy_uses_the_pinned_blas_kernels() -> None:
    from threadpoolctl import threadpool_info

    from utils._setup import portable_numerics_env

    if not portable_numerics_env():
        pytest.skip("kernels are pinned on x86-64 only")
    archs = {p.get("architecture") for p in threadpool_info() if p["internal_api"] == "openblas"}
    assert archs == {"Haswell"}
