"""The book's structure: notebooks committed executed, the coverage page current, the TOC whole."""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_SYLLABUS = ROOT.parent / "shared" / "reference" / "syllabus.md"


sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402
import check_notebooks  # noqa: E402  (tools/ is a folder of scripts, not a package)
import syllabus_page  # noqa: E402
from book import toc_documents  # noqa: E402


@pytest.mark.parametrize(
    "path", check_notebooks.book_notebooks(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_notebook_is_committed_executed_in_order_without_errors(path: Path) -> None:
    assert check_notebooks.problems(path) == []


def test_every_notebook_and_page_is_in_the_table_of_contents() -> None:
    listed = set(toc_documents())
    for path in check_notebooks.book_notebooks():
        assert path.relative_to(ROOT).with_suffix("").as_posix() in listed, (
            f"{path} is not in _toc.yml"
        )
    for entry in listed:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".md", ".ipynb")), entry


@pytest.fixture
def syllabus_source() -> Path:
    if not SHARED_SYLLABUS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_SYLLABUS} is missing under CI")
        pytest.skip("the course syllabus (../shared/reference/syllabus.md) is not available")
    return SHARED_SYLLABUS


def test_coverage_page_lists_every_syllabus_id_and_is_current(syllabus_source: Path) -> None:
    rows = syllabus_page.read_syllabus(syllabus_source)
    page = (ROOT / "syllabus.md").read_text()
    for _, item_id, _ in rows:
        assert re.search(rf"^\| {re.escape(item_id)} \|", page, re.M), f"{item_id} missing"
    expected = syllabus_page.render(rows, syllabus_page.find_labels())
    assert page == expected, "syllabus.md is out of date: run python tools/syllabus_page.py"


def test_every_syllabus_label_sits_above_a_heading() -> None:
    for path in check_notebooks.book_notebooks():
        for _kind, text in syllabus_page._cells(path):
            for match in re.finditer(r"^\((syl-[a-z0-9-]+)\)=[ \t]*\n(.?)", text, re.M):
                assert match.group(2) == "#", (
                    f"{path}: label {match.group(1)} is not followed by a heading"
                )


def test_every_citation_key_is_in_the_bibliography() -> None:
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M))
    cited: set[str] = set()
    pages = [ROOT / f"{entry}.md" for entry in toc_documents() if (ROOT / f"{entry}.md").exists()]
    for path in [*check_notebooks.book_notebooks(), *pages]:
        for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", path.read_text()):
            cited.update(k.strip() for k in group.split(","))
    assert cited - keys == set()


def test_the_site_is_stale_when_a_source_changed_after_the_last_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser tests rebuild the site then, instead of testing an old build.
    stamp = tmp_path / ".mlprod-built"
    monkeypatch.setattr(book, "BUILD_STAMP", stamp)
    toc = ROOT / "_toc.yml"
    assert toc in book.stale_sources()  # never built: everything is stale
    newest = max(p.stat().st_mtime for p in book.stale_sources())
    stamp.touch()
    os.utime(stamp, (newest + 1, newest + 1))
    assert book.stale_sources() == []
    os.utime(stamp, (toc.stat().st_mtime - 1, toc.stat().st_mtime - 1))
    assert toc in book.stale_sources()
    assert not any("_build" in p.parts for p in book.stale_sources())


def test_typed_numbers_finds_decimals_and_percentages_in_prose_only() -> None:
    assert check_notebooks.typed_numbers("accuracy 0.85 on 20 % of the data, 12% more, 0.02.") == [
        "0.85",
        "20 %",
        "12%",
        "0.02",
    ]
    allowed = (
        "{glue:text}`w_acc` and {quoted}`0.85` (the course's lab), `x = 0.5`, $p = 0.5$, "
        '$$\\alpha = 0.05$$, [a link](v/0.5.html), <img width="0.5">, Python 3 and v1.2.3, '
        "```python\nx = 0.5\n```"
    )
    assert check_notebooks.typed_numbers(allowed) == []
    assert check_notebooks.typed_numbers(":class: dropdown\n(w1-drift)=\n# Title") == []
    assert check_notebooks.typed_numbers(
        ":::{admonition} Solution\n:class: dropdown\nIt is 0.78.\n:::"
    ) == ["0.78"]  # an option line hides only itself


def test_exercise_rules_catch_a_visible_or_missing_solution(tmp_path) -> None:
    note = tmp_path / "week9" / "01_note.ipynb"
    note.parent.mkdir()
    md = {"cell_type": "markdown", "metadata": {}, "source": ""}
    ok = [
        dict(
            md,
            source=f":::{{exercise}}\n:label: x{i}\nQ\n:::\n\n::::{{solution}} x{i}\n:class: dropdown\nA\n::::",
        )
        for i in range(3)
    ]
    stub = {
        "cell_type": "code",
        "metadata": {"exercise": {"id": "x0", "role": "stub"}},
        "source": "",
    }
    assert (
        check_notebooks.exercise_problems(note, [dict(md, source="## Exercises"), *ok, stub]) == []
    )
    open_solution = dict(md, source=":::{exercise}\n:label: y\nQ\n:::\n\n::::{solution} y\nA\n::::")
    shown = {
        "cell_type": "code",
        "metadata": {"tags": ["hide-input"]},
        "source": "print(1)",
        "id": "c",
    }
    found = check_notebooks.exercise_problems(
        note, [dict(md, source="## Exercises"), open_solution, shown]
    )
    assert any("not hidden" in f for f in found) and any("shows a solution" in f for f in found)
    assert any("needs at least 3 exercises and 1 coding" in f for f in found)
    assert check_notebooks.exercise_problems(
        note, [dict(md, source=":::{admonition} Solution\n:::")]
    )


# --- Plumbing out of sight: a cell that only glues values for the prose is removed from the site ---

_REMOVED = {"remove-cell", "remove-input"}


def _glues_quietly(node: ast.AST) -> bool:
    """``glue(..., display=False)`` as a statement, or a for loop whose body is only such calls."""
    if isinstance(node, ast.For):
        return all(_glues_quietly(child) for child in node.body) and not node.orelse
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    func = node.value.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    quiet = any(
        k.arg == "display" and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in node.value.keywords
    )
    return name == "glue" and quiet


def plumbing_only(source: str) -> bool:
    """True for code that only imports and glues values with ``display=False`` (at least one glue).

    Such a cell shows the reader nothing but bookkeeping: the values appear where the prose
    quotes them. A cell that also computes something, or only imports, is not plumbing.
    """
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return any(_glues_quietly(node) for node in body) and all(
        _glues_quietly(node) or isinstance(node, (ast.Import, ast.ImportFrom)) for node in body
    )


def test_plumbing_only_recognises_glue_and_import_cells() -> None:
    assert plumbing_only('from myst_nb import glue\nglue("k", f"{x:.1%}", display=False)')
    assert plumbing_only("for name, value in pairs:\n    glue(name, value, display=False)")
    assert not plumbing_only('x = 1\nglue("k", f"{x}", display=False)')  # computes something
    assert not plumbing_only('glue("k", fig)')  # displays its value
    assert not plumbing_only("import numpy as np")  # imports alone tell what a page uses
    assert not plumbing_only("")


@pytest.mark.parametrize(
    "path", check_notebooks.book_notebooks(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_cell_that_only_glues_values_is_shown_on_the_site(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    shown = [
        cell.get("id")
        for cell in cells
        if cell["cell_type"] == "code"
        and plumbing_only("".join(cell["source"]))
        and not _REMOVED & set(cell.get("metadata", {}).get("tags", []))
    ]
    assert shown == [], f"{path}: tag these plumbing cells remove-cell: {shown}"


def test_each_lab_sits_in_its_week_and_the_reading_order_starts_with_the_data() -> None:
    documents = toc_documents()
    ends = ["week2/index", "week3/index", "project/index"]
    for week, (lab, end) in enumerate(
        zip(
            ["w1_deploy_a_model", "w2_journey_through_data", "w3_data_labeling"], ends, strict=True
        ),
        start=1,
    ):
        assert (
            documents.index(f"week{week}/index")
            < documents.index(f"labs/{lab}")
            < documents.index(end)
        )
    intro = (ROOT / "intro.md").read_text()
    reading = intro[intro.index("**Read it online.**") :]
    assert re.search(r"\{doc\}`([^`]+)`", reading).group(1) == "start/data"


def test_the_front_page_gives_the_readme_setup_command_and_no_made_up_address() -> None:
    """One way to set up: the front page shows the README's quick start, word for word; and no
    repository address appears while the book has none (a dead clone command or button)."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("<!-- quickstart-setup -->") :]
    setup = block.split("```bash\n", 1)[1].split("```", 1)[0].strip()
    intro = (ROOT / "intro.md").read_text()
    assert setup in intro, "intro.md's setup command differs from README.md's quick start"
    config = (ROOT / "_config.yml").read_text()
    assert "github.com" not in intro + config


# --- Light pages: what a page loads (_ext/light_pages.py, tools/build_book.py) ---

sys.path.insert(0, str(ROOT / "_ext"))
import build_book  # noqa: E402
import light_pages  # noqa: E402


def test_light_pages_keeps_the_icon_rules_the_site_uses_and_the_glyphs_it_draws() -> None:
    css = (
        ".fa-solid{font-weight:900}"
        '.fa-magnifying-glass:before,.fa-search:before{content:"\\f002"}'
        '.fa-bell:before{content:"\\f0f3"}'
        '.fa-0:before{content:"0"}'
        ':root{--pst-icon-lightbulb:"\uf0eb"}.onthispage:after{content:"\\f107"}'
    )
    used = light_pages.icon_names(['<i class="fa-solid fa-search"></i>', 'icon("fa-0")'])
    trimmed, codepoints = light_pages.trim_icon_rules(css, used)
    assert ".fa-magnifying-glass:before,.fa-search:before" in trimmed  # kept with its alias
    assert ".fa-bell" not in trimmed and ".fa-solid{font-weight:900}" in trimmed
    assert codepoints == {0xF002, ord("0"), 0xF0EB, 0xF107}


def test_light_pages_finds_math_and_still_fits_the_installed_theme() -> None:
    assert light_pages.has_math(
        '<p>F1 is <span class="math notranslate nohighlight">\\(x\\)</span>'
    )
    assert light_pages.has_math('<div class="math notranslate nohighlight">\\[x\\]</div>')
    assert not light_pages.has_math('<section class="tex2jax_ignore mathjax_ignore">')
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    for name in ("static/webpack-macros.html", "layout.html"):
        path = theme / name
        edited, missed = light_pages.edit_template(str(path), path.read_text())
        assert missed == [], f"the theme's {name} changed; update _ext/light_pages.py"
        assert "fontawesome.js" not in edited
    assert (
        light_pages.LIGHT_CSS
        in light_pages.edit_template(
            str(theme / "static/webpack-macros.html"),
            (theme / "static/webpack-macros.html").read_text(),
        )[0]
    )


def test_page_weights_count_the_files_a_page_references(tmp_path: Path) -> None:
    static = tmp_path / "_static"
    (static / "fonts").mkdir(parents=True)
    (static / "fonts" / "icons.woff").write_bytes(b"f" * 300)
    (static / "fonts" / "unused.ttf").write_bytes(b"t" * 5000)
    (static / "site.css").write_text(
        "@font-face{font-family:I;src:url(fonts/icons.woff) format('woff'),"
        "url(fonts/unused.ttf)}" + " " * 100
    )
    (static / "app.js").write_bytes(b"j" * 1000)
    (static / "embed-amd.js").write_bytes(b"w" * 9000)
    (tmp_path / "plot.png").write_bytes(b"p" * 2000)
    page = (
        '<link rel="stylesheet" href="_static/site.css?v=1" />'
        '<link rel="preload" as="script" href="_static/app.js?v=1" />'
        '<script src="_static/app.js?v=1"></script><img src="plot.png" alt="a plot"/>'
        '<link rel="next" href="other.html" /><script src="https://cdn.example/x.js"></script>'
    )
    (tmp_path / "page.html").write_text(page)
    (tmp_path / "widgets.html").write_text('<script src="_static/embed-amd.js"></script>')
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=page.html" />')
    css = len((static / "site.css").read_bytes())
    weights = {w.page: w for w in build_book.page_weights(tmp_path)}
    assert set(weights) == {"page.html", "widgets.html"}  # the redirect is not a page
    assert weights["page.html"].bytes == len(page) + css + 300 + 1000 + 2000
    assert not weights["page.html"].widgets and weights["widgets.html"].widgets
    report = build_book.weight_report(tmp_path)
    assert "without widgets (1 pages): 0.00-0.00 MB, heaviest page.html" in report
    assert "with widgets (1 pages)" in report and "heaviest widgets.html" in report
