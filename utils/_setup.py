"""One call that makes every notebook of the book reproducible and quiet.

Introduced in the chapter "Start here: the data sets" and called at the top of every notebook.
"""

from __future__ import annotations

import logging
import os
import platform
import random
import sys
import warnings

#: The seed every notebook uses unless it says otherwise.
DEFAULT_SEED = 0

#: Environment variables that make floating-point results the same on every x86-64 processor.
#: Each numerical library picks its fastest kernels for the processor it runs on, and kernels
#: for different instruction sets add numbers in different orders: a logistic regression that
#: prints 0.770 on a laptop printed 0.772 on a server with AVX-512. Capping every library at the
#: AVX2 instruction set, which all x86-64 processors of the last ten years have, gives the same
#: digits everywhere for NumPy, SciPy and scikit-learn. They must be set before the libraries
#: load, so ``import utils`` sets them (:func:`apply_portable_numerics`): a notebook whose first
#: line is ``import utils`` gets them in JupyterLab, in the tests and in ``tools/run_notebooks.py``
#: alike. TensorFlow's training is portable only within a tolerance, whatever the caps: see
#: "Reproducible notebooks" in CONTRIBUTING.md.
PORTABLE_NUMERICS: dict[str, str] = {
    "OPENBLAS_CORETYPE": "Haswell",  # NumPy's and SciPy's OpenBLAS: AVX2 kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN, whose sgemm TensorFlow uses for matrix products on CPU
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",  # code that XLA compiles for Keras models
}

# Warnings that say nothing to a learner and would make stored outputs differ between machines.
_NOISY_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r".*oneDNN custom operations.*", UserWarning),
    (r".*Protobuf gencode version.*", UserWarning),
    (r".*np\.find_common_type is deprecated.*", DeprecationWarning),
    (r".*Jupyter is migrating its paths.*", DeprecationWarning),
    (r".*`build_fn` will be renamed.*", DeprecationWarning),
    (r".*Do not pass an `input_shape`/`input_dim` argument to a layer.*", UserWarning),
    (r".*Your `PyDataset` class should call.*", UserWarning),
    (r".*pkg_resources is deprecated.*", UserWarning),
)


def _has_avx2(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """False only when the processor is known to lack AVX2 or FMA (then no cap is safe)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as file:
            flags = next(
                (line.split(":", 1)[1].split() for line in file if line.startswith("flags")), None
            )
    except OSError:
        return True  # not Linux: the flags cannot be read; every x86-64 Mac since 2013 has AVX2
    return flags is None or {"avx2", "fma"} <= set(flags)


def portable_numerics_env() -> dict[str, str]:
    """The variables of :data:`PORTABLE_NUMERICS` for this machine.

    None off x86-64 (ARM computers run other kernels, and the tolerance-checked cells cover
    them), and none on an x86-64 processor without AVX2, where forcing OpenBLAS's AVX2 kernels
    would crash. Used by :func:`apply_portable_numerics`.
    """
    if platform.machine().lower() not in ("x86_64", "amd64") or not _has_avx2():
        return {}
    return dict(PORTABLE_NUMERICS)


def apply_portable_numerics() -> dict[str, str]:
    """Set the variables of :func:`portable_numerics_env` unless already set; return them.

    Called by ``import utils`` (which imports no numerical library), so that they are in place
    before NumPy loads OpenBLAS and before TensorFlow loads oneDNN, in any kernel. A variable the
    user set already is left alone. Introduced in the contributing guide (reproducible notebooks).
    """
    wanted = portable_numerics_env()
    for name, value in wanted.items():
        os.environ.setdefault(name, value)
    return wanted


def _check_blas_kernels() -> None:
    """Warn when NumPy loaded before ``import utils`` and so runs other BLAS kernels."""
    wanted = portable_numerics_env().get("OPENBLAS_CORETYPE")
    if wanted is None or os.environ.get("OPENBLAS_CORETYPE") != wanted:
        return  # no cap on this machine, or the user chose another core on purpose
    from threadpoolctl import threadpool_info

    archs = {
        str(p.get("architecture")) for p in threadpool_info() if p.get("internal_api") == "openblas"
    }
    if archs and archs != {wanted}:
        warnings.warn(
            f"NumPy was loaded before `import utils` and runs OpenBLAS kernels for {sorted(archs)}, "
            f"not {wanted}: printed digits may differ from the book's. Restart the kernel and run "
            "the notebook from its first cell.",
            RuntimeWarning,
            stacklevel=3,
        )


def setup(
    seed: int = DEFAULT_SEED,
    *,
    keras: bool = False,
    progress: bool = False,
    threads: int | None = 1,
) -> None:
    """Fix seeds, quiet logs and set a consistent plotting style.

    Call it once, at the top of a notebook, before importing TensorFlow or Keras.

    Args:
        seed: seed for :mod:`random`, NumPy's global generator and (with ``keras=True``) Keras
            and TensorFlow.
        keras: also import Keras, seed it, turn on TensorFlow's deterministic ops and run
            TensorFlow on one thread per op pool, so that a re-run gives the same numbers.
            Notebooks that never train a network leave it off and never pay for the import.
        progress: keep progress bars (Keras ``fit`` bars, tqdm). Off by default because their
            timings would make stored outputs differ from run to run.
        threads: threads for NumPy's and scikit-learn's math libraries (BLAS, OpenMP). One
            thread adds numbers in the same order on every run, so printed digits do not drift,
            and keeps small fits fast on a busy laptop, where several threads fight over cores
            (one small fit took 25 times longer with two threads on a loaded 2-core machine).
            ``None`` leaves the libraries' own default.
    """
    import numpy as np

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    apply_portable_numerics()  # done by `import utils` already; TensorFlow has not loaded yet
    _check_blas_kernels()
    # TensorFlow reads these when it is first imported, so they must be set before.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses (servers) started later
    if not progress:
        os.environ["TQDM_DISABLE"] = "1"
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a positive int or None, got {threads!r}")
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)  # the libraries loaded already (NumPy's OpenBLAS)
        # and those loaded later: scikit-learn's OpenMP reads this when it first loads
        os.environ["OMP_NUM_THREADS"] = str(threads)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds code that still uses the global generator
    _quiet_warnings()
    _set_plot_style()
    if keras or "keras" in sys.modules:
        _setup_keras(seed, progress=progress)


def _quiet_warnings() -> None:
    for pattern, category in _NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    for name in ("tensorflow", "absl", "h5py", "matplotlib.font_manager"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _set_plot_style() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.autolayout": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "image.cmap": "gray_r",
            "svg.hashsalt": "mlprod",
        }
    )


def _setup_keras(seed: int, *, progress: bool) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow was already initialised; thread counts can no longer change
    if not progress:
        keras.utils.disable_interactive_logging()
    tf.get_logger().setLevel(logging.ERROR)
