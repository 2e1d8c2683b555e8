"""The one results format of the benchmark scripts, read by the book's benchmarks page.

Every ``benchmarks/NAME.py`` writes ``benchmarks/results/NAME.json`` with :func:`write_results`:

- ``machine``: what it ran on (:func:`machine_info`), so a reader can tell whose numbers they see;
- ``curves``: one entry per plot: a workload measured at several sizes (or loads) for ours and
  every baseline, each series a list of ``x`` values and ``y`` values of the same length. The
  benchmarks page draws each curve log-log;
- ``targets``: one row per target of the benchmark: what was compared with what, the target, the
  measured figure and whether it was met, all from measurements in that run;
- ``missing``: the anchor libraries that were not installed (their rows are absent, not faked);
- ``checks``: agreement checks run on the same inputs (answers, verdicts, flags), each a name, a
  boolean ``ok`` and a short ``detail``.

:func:`print_targets` prints the targets table the way every script ends.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info(packages: Iterable[str] = ()) -> dict[str, Any]:
    """The processor, core count, Python and the versions of ``packages`` (None if missing)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "packages": versions,
    }


def curve(
    workload: str, x_label: str, y_label: str, series: dict[str, tuple[list[float], list[float]]]
) -> dict[str, Any]:
    """One plot: ``series`` maps an implementation's name to its ``(x, y)`` lists."""
    out: dict[str, Any] = {"workload": workload, "x_label": x_label, "y_label": y_label}
    out["series"] = {}
    for name, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"curve {workload!r}: series {name!r} has {len(xs)} x and {len(ys)} y")
        out["series"][name] = {"x": [float(x) for x in xs], "y": [float(y) for y in ys]}
    return out


def target(workload: str, against: str, goal: str, measured: str, met: bool) -> dict[str, Any]:
    """One row of the targets table, e.g. ``target("LF summary 1M x 10", "Snorkel", ">= 20x",
    "31.2x", True)``."""
    return {
        "workload": workload,
        "against": against,
        "target": goal,
        "measured": measured,
        "met": bool(met),
    }


def write_results(
    name: str,
    *,
    command: str,
    machine: dict[str, Any],
    curves: list[dict[str, Any]],
    targets: list[dict[str, Any]],
    missing: list[str],
    checks: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``results/NAME.json`` in the shared format and return its path."""
    data = {
        "benchmark": name,
        "command": command,
        "machine": machine,
        "curves": curves,
        "targets": targets,
        "missing": sorted(missing),
        "checks": checks,
        **(extra or {}),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def print_targets(targets: list[dict[str, Any]], missing: list[str]) -> None:
    """Print each target as met or not met, then the anchors that were not installed."""
    print("\nTargets (from this run):")
    for row in targets:
        verdict = "met" if row["met"] else "NOT MET"
        print(
            f"  [{verdict:7}] {row['workload']} vs {row['against']}: "
            f"target {row['target']}, measured {row['measured']}"
        )
    for name in sorted(missing):
        print(f"  [skipped] {name} is not installed (pip install -e .[bench]); its rows are absent")
