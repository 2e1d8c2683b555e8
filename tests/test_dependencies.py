"""What the package declares matches what it imports (CONTRIBUTING.md, "Dependencies").

``pyproject.toml`` is what ``pip install .`` reads: every third-party module that ``utils``
imports must come from a distribution declared there (the core list or an extra), and every
declared distribution must be imported by ``utils`` or be needed at run time for a stated reason.
``requirements.txt`` (what the lock is compiled from) must not carry a package that nothing
uses: each entry is a dependency of the package, imported by the tests, tools or benchmarks, or
a tool that the book's commands run.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Declared in pyproject.toml without an import in utils, and why.
RUNTIME_ONLY = {
    "python-multipart": "FastAPI needs it to parse the upload forms of /predict/image",
    "tensorflow-cpu": "the Keras backend (keras imports it, utils._setup configures it)",
    "tensorflow": "the Keras backend on ARM64 (keras imports it)",
    "fastapi-offline": "Swagger UI files served by /docs (read with importlib.resources)",
    "pyarrow": "the bench extra: benchmarks/labeling.py builds Arrow-backed string columns",
    "cleanlab": "the bench extra: the label-issue benchmark and tests/test_anchor_cleanlab.py",
    "evidently": "the bench extra: the drift benchmark and tests/test_anchor_evidently.py",
    "fairlearn": "the bench extra: the sliced-metrics benchmark and tests/test_anchor_fairlearn.py",
    "litserve": "the bench extra: a baseline server of benchmarks/serving.py",
    "snorkel": "the bench extra: the labeling benchmark and tests/test_anchor_snorkel.py",
}

#: Entries of requirements.txt that are commands or plugins rather than imports, and why.
TOOLS = {
    "jupyter-book": "builds the site (tools/build_book.py)",
    "sphinx-exercise": "the {exercise} and {solution} directives of the book",
    "myst-nb": "executes and renders the notebooks; glue",
    "jupyterlab": "the learner's front end",
    "jupyterlab-myst": "renders MyST markup in JupyterLab",
    "ipykernel": "the notebooks' kernel",
    "nbclient": "runs notebooks (tools/run_notebooks.py through myst-nb and nbval)",
    "nbval": "pytest --nbval",
    "pytest": "the tests",
    "pytest-xdist": "runs whole test files side by side (-n auto --dist loadfile, README)",
    "ruff": "lint and format",
    "mypy": "type checks of utils",
    "pandas-stubs": "types of pandas for mypy",
    "types-pyyaml": "types of PyYAML for mypy",
    "starlette": "pinned with FastAPI; utils imports it for the server's middleware",
    "uvicorn": "runs the server",
    "jsonschema": "tests/test_quiz_data.py checks the generated bank schema with it (importorskip)",
}


def _requirement_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    return m.group(0).lower().replace("_", "-") if m else None


def _declared() -> dict[str, str]:
    """Distribution name -> where pyproject.toml declares it ("core" or the extra's name)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    for req in project["dependencies"]:
        out[_requirement_name(req)] = "core"
    for extra, reqs in project.get("optional-dependencies", {}).items():
        for req in reqs:
            out.setdefault(_requirement_name(req), extra)
    return out


def _imports(paths: Iterable[Path]) -> set[str]:
    """Top-level names of the modules these files import (standard library and utils left out)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"utils", "_timing"}}


def _distributions(modules: Iterable[str]) -> dict[str, set[str]]:
    """Module -> the (normalised) names of the installed distributions that provide it."""
    provided = md.packages_distributions()
    return {m: {d.lower().replace("_", "-") for d in provided.get(m, [])} for m in modules}


def test_every_module_utils_imports_is_declared() -> None:
    declared = _declared()
    found = _distributions(_imports((ROOT / "utils").rglob("*.py")))
    missing = {m: sorted(d) for m, d in found.items() if not d & declared.keys()}
    assert not missing, f"utils imports modules whose distribution pyproject.toml lacks: {missing}"


def test_every_declared_distribution_is_used() -> None:
    used = set().union(*_distributions(_imports((ROOT / "utils").rglob("*.py"))).values())
    unused = sorted(d for d in _declared() if d not in used and d not in RUNTIME_ONLY)
    assert not unused, (
        f"pyproject.toml declares {unused} but utils never imports them; "
        "remove them, or say in RUNTIME_ONLY why they are needed"
    )


def test_every_requirement_is_used() -> None:
    declared = _declared()
    code = [p for d in ("utils", "tests", "tools", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    used = set().union(*_distributions(_imports(code)).values())
    names = [
        n for n in map(_requirement_name, (ROOT / "requirements.txt").read_text().splitlines()) if n
    ]
    idle = sorted(n for n in names if n not in declared and n not in used and n not in TOOLS)
    assert not idle, (
        f"requirements.txt lists {idle}, which nothing imports and no tool needs; "
        "remove them (the lock follows) or say in TOOLS why they are there"
    )
