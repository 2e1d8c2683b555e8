"""Serving engines beyond the default one: the same app on Ray Serve, over several replicas.

The default engine of ``python -m utils.deployment serve`` is one uvicorn process
(:mod:`utils.deployment.serving`). Ray Serve is the second one, for when one process, or one
machine, is not enough; it is an optional extra (``pip install -e .[scale]``). Introduced in
week1/05_scaling_out.ipynb ("When one machine is not enough"):

- :mod:`utils.deployment.engines.ray_serve`: :func:`serve_on_ray` and :class:`RayServer`, the
  app of :func:`~utils.deployment.serving.create_app` in front of N replicas of the model, with
  Ray's dynamic batching.
- :mod:`utils.deployment.engines.ray_instance`: :func:`start_ray` and :func:`stop_ray`, one
  local Ray instance, ended with every process it started.
- :mod:`utils.deployment.engines.ray_patterns`: shadow, canary and blue/green with each arm a
  Ray Serve deployment, routed by the very objects of :mod:`utils.deployment.patterns`.

Nothing here imports Ray until a server starts, so ``import utils.deployment`` and the default
engine never need it; :func:`require_ray` names the install line when it is missing.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING

from utils._lazy import lazy_getattr

if TYPE_CHECKING:
    from utils.deployment.engines.ray_instance import start_ray, stop_ray
    from utils.deployment.engines.ray_serve import RayServer, serve_on_ray

__all__ = [
    "INSTALL_LINE",
    "RayServer",
    "ray_available",
    "require_ray",
    "serve_on_ray",
    "skip_rest_without_ray",
    "start_ray",
    "stop_ray",
]

#: The command that installs Ray Serve, the extra this package's second engine needs.
INSTALL_LINE = "pip install -e .[scale]"


def ray_available() -> bool:
    """True when Ray Serve can be imported (without importing it)."""
    if "ray" in sys.modules:
        return sys.modules["ray"] is not None
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def require_ray() -> None:
    """Raise an ImportError naming the install line unless Ray Serve can be imported."""
    if not ray_available():
        raise ImportError(
            f"the Ray Serve engine needs ray[serve], which is not installed; "
            f"install it with: {INSTALL_LINE}"
        )
    try:
        import ray.serve  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"the Ray Serve engine needs ray[serve] ({exc}); install it with: {INSTALL_LINE}"
        ) from exc


def skip_rest_without_ray() -> bool:
    """For a page's first cell: True when Ray is installed; otherwise say how to install it.

    Without Ray the install line is printed and, in a Jupyter kernel, every later cell of the
    page is turned into a no-op, so that "Run all" ends cleanly instead of failing at the first
    cell that needs Ray (restart the kernel after installing it). Used by
    week1/05_scaling_out.ipynb.
    """
    if ray_available():
        return True
    print(
        f"Ray Serve is not installed, so the rest of this page is skipped.\n"
        f"Install it with `{INSTALL_LINE}`, then restart the kernel."
    )
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is not None:
        shell.input_transformers_cleanup.append(lambda lines: ["pass\n"])
    return False


__getattr__ = lazy_getattr(__name__, ("ray_instance", "ray_serve", "ray_patterns"))


def __dir__() -> list[str]:
    """The public names too, before their modules are imported."""
    return sorted({*globals(), *__all__})
