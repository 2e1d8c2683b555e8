"""The layout of utils.deployment.serving: what each module may import, and one of each thing.

Loading a model must not need the web stack: ``utils.deployment.serving.predictors`` (and the
deployment patterns, which share its ``Predictor`` protocol) are imported here in a process where
FastAPI, Starlette, pydantic and uvicorn cannot be imported. The old import paths of the
one-module ``serving.py`` keep working, and the repository has one ``Predictor`` protocol and one
``free_port``.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

import utils.deployment.serving as serving
from utils.deployment import patterns
from utils.deployment.serving import predictors

ROOT = Path(__file__).resolve().parent.parent

#: The web stack: none of it may be imported to load a model.
WEB_STACK = ("fastapi", "starlette", "pydantic", "pydantic_core", "uvicorn")

#: The public names of serving.py before it became a package (its ``__all__``).
OLD_NAMES = [
    "InputError",
    "KerasPredictor",
    "Predictor",
    "ServerHandle",
    "SklearnPredictor",
    "as_predictor",
    "create_app",
    "decode_image",
    "free_port",
    "load_model",
    "serve_in_background",
    "validate_inputs",
    "validate_texts",
]

WITHOUT_WEB_STACK = f"""
import importlib.abc
import sys

BLOCKED = {WEB_STACK!r}


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is made unimportable by this test")
        return None


sys.meta_path.insert(0, Refuse())
try:
    import fastapi  # noqa: F401
except ImportError:
    pass
else:
    sys.exit("the web stack could still be imported: the test would prove nothing")

from utils.deployment.serving.predictors import Predictor, load_model

model = load_model(sys.argv[1])
p = model.predict_proba([[0.0, 1.0], [1.0, 0.0]])
assert isinstance(model, Predictor) and p.shape == (2, 2), p
import utils.deployment.patterns  # shares the Predictor protocol

loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
assert not loaded, loaded
print("loaded without the web stack:", type(model).__name__)
"""


def test_a_model_loads_without_the_web_stack(tmp_path: Path) -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    path = tmp_path / "tiny.joblib"
    joblib.dump(LogisticRegression().fit(X, [0, 1, 0, 1]), path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", WITHOUT_WEB_STACK, str(path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "loaded without the web stack: SklearnPredictor" in r.stdout


def test_the_old_import_paths_still_work() -> None:
    import utils.deployment

    assert sorted(serving.__all__) == sorted(OLD_NAMES)
    for name in OLD_NAMES:
        obj = getattr(serving, name)
        assert getattr(utils.deployment, name) is obj, name
        assert name in dir(serving)
    assert serving.load_model is predictors.load_model


def test_one_predictor_protocol() -> None:
    assert patterns.Predictor is predictors.Predictor is serving.Predictor
    defined = _definitions(ast.ClassDef, "Predictor")
    assert defined == ["utils/deployment/serving/predictors.py"], defined


def test_one_free_port() -> None:
    """Tests, tools and benchmarks import the one in utils instead of writing their own."""
    defined = _definitions(ast.FunctionDef, re.compile(r"_?(get_|find_)?free_port"))
    assert defined == ["utils/deployment/serving/background.py"], defined


def test_each_module_names_pages_that_exist() -> None:
    """Every module of the package says which pages use it, and those pages exist."""
    for path in sorted((ROOT / "utils" / "deployment" / "serving").glob("*.py")):
        module = importlib.import_module(
            f"utils.deployment.serving.{path.stem}"
            if path.stem != "__init__"
            else "utils.deployment.serving"
        )
        pages = re.findall(r"\b(?:week\d|labs|project)/\w+\.ipynb", module.__doc__ or "")
        assert pages, f"{path.name}'s docstring names no page"
        missing = [p for p in pages if not (ROOT / p).is_file()]
        assert not missing, f"{path.name} names pages that do not exist: {missing}"


def _definitions(kind: type[ast.AST], name: str | re.Pattern[str]) -> list[str]:
    """Files of utils, tests, tools and benchmarks (and conftest files) that define ``name``."""
    files = [
        p
        for folder in ("utils", "tests", "tools", "benchmarks")
        for p in (ROOT / folder).rglob("*.py")
    ] + [ROOT / "conftest.py"]
    found = []
    for path in sorted(set(files)):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            node_name = getattr(node, "name", None)
            if not isinstance(node, kind) or node_name is None:
                continue
            if node_name == name if isinstance(name, str) else name.fullmatch(node_name):
                found.append(path.relative_to(ROOT).as_posix())
    return found
