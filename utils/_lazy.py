"""Lazy attribute lookup for the package roots (``utils.deployment``, ``utils.labeling``).

A name such as ``utils.deployment.create_app`` is imported from the sub-module whose ``__all__``
lists it, on first use. ``import utils.deployment`` therefore costs nothing, and monitoring code
never imports FastAPI.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


def lazy_getattr(package: str, submodules: Sequence[str]) -> Callable[[str], Any]:
    """Return a module-level ``__getattr__`` resolving names from ``submodules`` of ``package``."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        for sub in submodules:
            try:
                module = importlib.import_module(f"{package}.{sub}")
            except ModuleNotFoundError as exc:
                if exc.name == f"{package}.{sub}":
                    continue  # that part of the package is not installed
                raise
            if name in getattr(module, "__all__", ()):
                return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
