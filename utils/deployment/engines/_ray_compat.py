"""A fix for Ray Serve 2.55 under protobuf 7, run in every process of the Ray instance.

Ray Serve up to 2.55.1 reads ``FieldDescriptor.label`` when it decodes a deployment's
configuration (``ray.serve._private.config._proto_to_dict``); protobuf 7 removed that attribute,
so every deployment fails with ``AttributeError: ... has no attribute 'label'`` (reported as
ray-project/ray#64710, fixed upstream by ray-project/ray#64362, which asks ``is_repeated``
instead). :func:`fix_serve_for_protobuf7` installs that fix when it is needed, as Serve's module
is imported, and does nothing otherwise; :func:`~utils.deployment.engines.ray_instance.start_ray` runs it in the driver and, as
Ray's worker set-up hook, in every worker (the Serve controller, its proxy, the replicas). Used by
the Ray engine of week1/05_scaling_out.ipynb; delete it once Ray ships the fix, or once protobuf
is kept below 7.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any

__all__ = ["fix_serve_for_protobuf7"]


def _is_repeated(field: Any) -> bool:
    """Whether a protobuf field is repeated, in protobuf 7 and before (ray-project/ray#64362)."""
    is_repeated = getattr(field, "is_repeated", None)
    if is_repeated is not None:
        return bool(is_repeated() if callable(is_repeated) else is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _proto_to_dict(proto: Any) -> dict[str, Any]:
    """Ray's ``_proto_to_dict`` (ray/serve/_private/config.py), with ``_is_repeated``."""
    data: dict[str, Any] = {}
    for field, value in proto.ListFields():
        if _is_repeated(field):
            if field.type == field.TYPE_MESSAGE:
                data[field.name] = [_proto_to_dict(v) for v in value]
            else:
                data[field.name] = list(value)
        elif field.type == field.TYPE_MESSAGE:
            data[field.name] = _proto_to_dict(value)
        else:
            data[field.name] = value
    for field in proto.DESCRIPTOR.fields:
        if (
            field.name not in data
            and field.type != field.TYPE_MESSAGE
            and not field.containing_oneof
        ):
            data[field.name] = field.default_value
    return data


#: The module of Ray Serve that decodes deployment configurations.
_CONFIG = "ray.serve._private.config"


def _patch(config: Any) -> None:
    """Install the fix in Ray Serve's config module, unless protobuf still has ``label``."""
    if not hasattr(getattr(config, "FieldDescriptor"), "label"):  # noqa: B009 (protobuf 7)
        config._proto_to_dict = _proto_to_dict


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches Ray Serve's config module as it is imported: a worker that never imports Serve
    pays nothing (importing Serve costs seconds, and Ray starts workers ahead of need)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != _CONFIG:
            return None
        sys.meta_path.remove(self)  # the other finders find the module itself
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        _patch(module)


def fix_serve_for_protobuf7() -> None:
    """Make Ray Serve decode its configurations under protobuf 7 (a no-op when not needed):
    at once if Serve is imported already, else as soon as it is."""
    if _CONFIG in sys.modules:
        _patch(sys.modules[_CONFIG])
    elif not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
