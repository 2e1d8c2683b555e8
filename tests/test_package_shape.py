"""The package stays one a newcomer can hold in their head (CONTRIBUTING.md, "Map of `utils`").

Every module is listed in the map of CONTRIBUTING.md and every file the map names exists; no
module is longer than 500 lines and no function longer than 80 (tests excluded), so that each
module holds one idea and each function reads on one screen.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UTILS = ROOT / "utils"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 80


def _map_text() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    start = text.index("## Map of `utils`")
    return text[start : text.index("\n## ", start + 1)]


def _modules() -> list[Path]:
    return sorted(p for p in UTILS.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_map_lists_every_module_and_only_real_ones() -> None:
    listed = set(re.findall(r"`([A-Za-z_0-9]+\.py)`", _map_text()))
    folders = set(re.findall(r"`([A-Za-z_0-9]+)/`", _map_text()))
    names = {p.name for p in _modules()}
    missing = sorted(
        {
            p.relative_to(UTILS).as_posix()
            for p in _modules()
            if p.name not in listed and p.name != "__init__.py"
        }
    )
    assert not missing, f"CONTRIBUTING.md's map of utils does not list {missing}"
    assert not listed - names, f"the map names files that do not exist: {sorted(listed - names)}"
    packages = {p.parent.name for p in _modules() if p.name == "__init__.py" and p.parent != UTILS}
    assert packages <= folders, f"the map does not list the packages {sorted(packages - folders)}"


def test_modules_and_functions_are_short() -> None:
    long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            long.append(f"{rel}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name}(): {n} lines")
    assert not long, "split these (modules at most 500 lines, functions at most 80): " + "; ".join(
        long
    )
