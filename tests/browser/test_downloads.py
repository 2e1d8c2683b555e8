"""What the site's download button gives a learner (_ext/downloads.py).

A notebook downloaded on its own, run where `utils` is not installed, stops at its first cell
with one sentence saying how to get it; the page built from glued values offers no raw markdown
that would read as markup.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser  # reads the built site


def _first_code_cell(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize(
    "page", ["week1/01_lifecycle", "labs/w1_deploy_a_model", "project/05_deployment"]
)
def test_a_downloaded_notebook_says_how_to_get_utils(
    built_site: Path, page: str, tmp_path: Path
) -> None:
    first = _first_code_cell(built_site / "_sources" / f"{page}.ipynb")
    # Where utils is missing: -I and -S keep the repository and every site-packages off the path.
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", first.split("\n\n")[0]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: This notebook needs `utils`"), run.stderr
    assert "pip install -e ." in last and "ModuleNotFoundError" not in run.stderr.split("During")[0]
    # where utils is installed, the same cell goes on as before
    ok = subprocess.run([sys.executable, "-c", first.split("\n\n")[0]], capture_output=True)
    assert ok.returncode == 0, ok.stderr


def test_a_page_built_from_glue_offers_no_raw_source(built_site: Path) -> None:
    html = (built_site / "project" / "07_results.html").read_text(encoding="utf-8")
    assert "_sources/project/07_results.md" not in html
    assert "window.print()" in html  # the PDF print, which shows the values, stays
    notebook_page = (built_site / "project" / "05_deployment.html").read_text(encoding="utf-8")
    assert "_sources/project/05_deployment.ipynb" in notebook_page
