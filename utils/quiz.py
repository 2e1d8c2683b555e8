"""Self-check quizzes: question banks as data, shown as a widget in JupyterLab and as HTML on the site.

Introduced in the quiz pages at the end of every week (``week1/quiz_lifecycle.ipynb`` is the first).
A bank is a YAML file in ``quizzes/banks/`` validated against ``quizzes/schema.json``; each question is
single choice, multiple choice ("select all that apply") or numeric with a tolerance, and every answer
carries feedback that links, with a MyST ``{ref}`` role, to the section of the notes that teaches it.

One call shows a quiz::

    import utils
    utils.quiz.show("w1_qa")

The object it returns carries two views in one ``_repr_mimebundle_``: an ipywidgets quiz checked in the
kernel (JupyterLab shows it) and self-contained static HTML driven by ``quizzes/quiz.js`` and
``quizzes/quiz.css``, both inlined (the static site shows it when ``text/html`` wins the mime priority).
Options are shuffled in an order fixed by a hash of the question id, so the position of the right answer
gives nothing away, yet the output is identical on every run.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import posixpath
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from utils._validation import check_bool

__all__ = [
    "BANKS_DIR",
    "ROOT",
    "UI_TEXT",
    "Bank",
    "LabelTarget",
    "Mistake",
    "Option",
    "Question",
    "Quiz",
    "QuizLinkWarning",
    "Verdict",
    "bank_ids",
    "display_order",
    "evaluate",
    "find_labels",
    "load_bank",
    "parse_number",
    "render_html",
    "show",
    "validate_bank",
]

#: Root of the repository, the folder that holds ``utils/``, ``quizzes/`` and the week folders.
ROOT: Path = Path(__file__).resolve().parent.parent
#: Where the question banks live, one YAML file per quiz.
BANKS_DIR: Path = ROOT / "quizzes" / "banks"
_SCHEMA_PATH = ROOT / "quizzes" / "schema.json"
_JS_PATH = ROOT / "quizzes" / "quiz.js"
_CSS_PATH = ROOT / "quizzes" / "quiz.css"

Kind = Literal["single", "multiple", "numeric"]
Status = Literal["correct", "incorrect", "unanswered", "invalid"]

#: Every text the learner sees around the questions, shared by the widget and quiz.js (read-only).
UI_TEXT: Mapping[str, str] = MappingProxyType({
    "check": "Check",
    "reset": "Try again",
    "correct": "Correct.",
    "incorrect": "Not quite.",
    "unanswered": "Choose an answer first.",
    "invalid": "Enter a number, for example 0.75.",
    "missed": "Some options that apply are not ticked yet.",
    "applies": "applies",
    "not_applies": "does not apply",
    "score": "Score: {correct} / {total} ({checked} of {total} checked)",
    "single": "Choose one answer.",
    "multiple": "Select all that apply.",
    "numeric": "Type a number.",
    "number_label": "Your answer",
})

_REF_RE = re.compile(r"\{ref\}`([^`]+)`")
_REF_PARTS_RE = re.compile(r"^\s*(?:(?P<text>.*?)\s*<(?P<label>[^<>]+)>|(?P<bare>[^<>]+?))\s*$", re.S)
_LABEL_LINE_RE = re.compile(r"^\s*\(([A-Za-z0-9_.:-]+)\)=\s*$")
_HEADING_RE = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$")
_SYLLABUS_LABEL_RE = re.compile(r"^syl-(w\d)-([0-9a-z]+)$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SKIP_DIRS = {"_build", "node_modules", "__pycache__", "site-packages", "build", "dist"}
# A bank is a few dozen kilobytes; these bounds are checked before any parsing or validation.
_MAX_BANK_BYTES = 1 << 20  # size of a bank file
_MAX_BANK_VALUES = 100_000  # values (mappings, lists, strings, numbers) in a bank
_MAX_BANK_CHARS = 1 << 20  # characters of text in a bank


class QuizLinkWarning(UserWarning):
    """A feedback text links to a label that no notebook or page of the book defines yet."""


# --------------------------------------------------------------------------------------------
# The bank as data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option of a choice question."""

    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True, slots=True)
class Mistake:
    """A typical wrong number for a numeric question, with feedback that names the slip."""

    value: float
    feedback: str
    tolerance: float | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """One question; ``options`` for choice questions, ``answer`` and ``tolerance`` for numeric ones."""

    id: str
    kind: Kind
    prompt: str
    options: tuple[Option, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    answer: float | None = None
    tolerance: float | None = None
    unit: str = ""
    feedback_correct: str = ""
    feedback_incorrect: str = ""
    mistakes: tuple[Mistake, ...] = ()

    @property
    def correct_options(self) -> tuple[int, ...]:
        """Indices (in bank order) of the options that are correct."""
        return tuple(i for i, o in enumerate(self.options) if o.correct)


@dataclass(frozen=True, slots=True)
class Bank:
    """A validated question bank: one quiz."""

    id: str
    title: str
    syllabus: str
    page: str
    intro: str
    questions: tuple[Question, ...]

    @property
    def page_dir(self) -> str:
        """The folder (relative to the root) of the page that shows this quiz, e.g. ``week1``."""
        return posixpath.dirname(self.page)

    def refs(self) -> list[str]:
        """Every label a feedback text of the bank links to, in order of first use, no repeats."""
        seen: dict[str, None] = {}
        for text in _all_texts(self):
            for label in _labels_in(text):
                seen.setdefault(label, None)
        return list(seen)


@dataclass(frozen=True, slots=True)
class LabelTarget:
    """Where a MyST label is defined: the document (relative to the root) and its section title."""

    label: str
    path: str
    title: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one answer: a status and the feedback texts (MyST markup) to show."""

    status: Status
    feedback: tuple[str, ...] = ()
    marks: tuple[tuple[int, bool], ...] = ()  # (bank index of a ticked option, whether it applies)
    missed: int = 0

    @property
    def correct(self) -> bool:
        """True when the answer is right."""
        return self.status == "correct"


def _folder(path: Path | str | None, name: str, default: Path) -> Path:
    """``path`` (default ``default``) as a folder that exists, or raise naming the argument."""
    if path is not None and not isinstance(path, str | Path):
        raise TypeError(f"{name} must be a folder (a str or Path), got {type(path).__name__}")
    folder = Path(path) if path is not None else default
    if not folder.is_dir():
        raise ValueError(f"{name} {str(folder)!r} is not a folder")
    return folder


def bank_ids(banks_dir: Path | str | None = None) -> list[str]:
    """Names of the banks in ``banks_dir`` (default ``quizzes/banks``), sorted.

    Raises ``ValueError`` when ``banks_dir`` is not a folder (rather than finding no bank).
    """
    folder = _folder(banks_dir, "banks_dir", BANKS_DIR)
    return sorted(p.stem for p in folder.glob("*.yml"))


@cache
def _no_alias_loader() -> type:
    """PyYAML's safe loader, refusing aliases: a few nested anchors expand a few hundred bytes
    into millions of values (the "billion laughs"), and no bank needs one."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise ValueError(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) "
                                 "are not allowed in a quiz bank; write the value out")
            return super().compose_node(parent, index)

    return NoAliasLoader


def _read_yaml(path: Path) -> Any:
    """Parse a bank file: at most ``_MAX_BANK_BYTES``, no aliases; errors name the file."""
    import yaml

    size = path.stat().st_size
    if size > _MAX_BANK_BYTES:
        raise ValueError(f"{path.name} is {size:,} bytes; a quiz bank may have at most "
                         f"{_MAX_BANK_BYTES:,}")
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_no_alias_loader())  # a SafeLoader, without aliases
    except ValueError as exc:
        raise ValueError(f"{path.name}, {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name} is not valid YAML: {exc}") from None


def _check_size(data: Any, name: str) -> None:
    """Refuse a bank with more values or text than any real bank, before validating it.

    The walk stops at the bound, so a structure whose parts repeat (or contain themselves)
    is refused at once instead of being validated branch by branch.
    """
    stack, values, chars = [data], 0, 0
    while stack and values <= _MAX_BANK_VALUES and chars <= _MAX_BANK_CHARS:
        node = stack.pop()
        values += 1
        if isinstance(node, Mapping | list | tuple):
            if len(node) > _MAX_BANK_VALUES:  # too long already: stop before copying it
                values += len(node)
                break
            stack.extend([*node.keys(), *node.values()] if isinstance(node, Mapping) else node)
        elif isinstance(node, str):
            chars += len(node)
    if values > _MAX_BANK_VALUES or chars > _MAX_BANK_CHARS:
        raise ValueError(f"{name} is too large to be a quiz bank: more than "
                         f"{_MAX_BANK_VALUES:,} values or {_MAX_BANK_CHARS:,} characters")


def _schema_error(data: Any) -> str | None:
    """The first problem the JSON Schema finds, or None."""
    import jsonschema

    schema = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    err = next(iter(validator.iter_errors(data)), None)
    if err is None:
        return None
    where = "/".join(str(p) for p in err.absolute_path) or "(root)"
    return f"{where}: {_schema_message(err, data)}"


def _schema_message(err: Any, data: Any) -> str:
    """The schema's message, in the words of the bank's rules where jsonschema's are obscure."""
    path = list(err.absolute_path)
    if err.validator in ("contains", "minContains", "maxContains") and path[-1:] == ["options"]:
        question = data
        for key in path[:-1]:
            question = question[key]
        n_correct = sum(1 for o in err.instance if isinstance(o, Mapping) and o.get("correct") is True)
        if question.get("kind") == "single":
            return f"single choice needs exactly one correct option, has {n_correct}"
        return "multiple choice needs at least one correct option"
    if err.validator == "pattern" and path[-1:] == ["feedback"] and isinstance(err.instance, str):
        return f"a feedback text has no {{ref}} link to a syllabus section: {err.instance[:60]!r}"
    return err.message[:300]


def _semantic_errors(data: Mapping[str, Any]) -> list[str]:
    """Checks the schema cannot express well, with messages that name the question."""
    problems: list[str] = []
    questions = data.get("questions") or []
    ids = [q.get("id") for q in questions if isinstance(q, Mapping)]
    dup = sorted({i for i in ids if ids.count(i) > 1 and i is not None})
    if dup:
        problems.append(f"questions: duplicate question id(s) {dup}")
    for n, q in enumerate(questions):
        if not isinstance(q, Mapping):
            continue
        name = f"question {n + 1} ({q.get('id')!r})"
        kind = q.get("kind")
        texts = [str(t) for t in _question_texts(q)]
        for t in texts:
            if not _labels_in(t):
                problems.append(f"{name}: a feedback text has no {{ref}} link: {t[:60]!r}")
        if kind in ("single", "multiple"):
            options = q.get("options") or []
            n_correct = sum(1 for o in options if isinstance(o, Mapping) and o.get("correct") is True)
            if kind == "single" and n_correct != 1:
                problems.append(f"{name}: single choice needs exactly one correct option, has {n_correct}")
            if kind == "multiple" and n_correct < 1:
                problems.append(f"{name}: multiple choice needs at least one correct option")
            option_texts = [o.get("text") for o in options if isinstance(o, Mapping)]
            if len(set(option_texts)) != len(option_texts):
                problems.append(f"{name}: two options have the same text")
        elif kind == "numeric":
            answer, tol = q.get("answer"), q.get("tolerance")
            if not isinstance(answer, (int, float)) or isinstance(answer, bool) or not math.isfinite(answer):
                problems.append(f"{name}: answer must be a finite number, got {answer!r}")
                continue
            if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not tol > 0:
                problems.append(f"{name}: tolerance must be a positive number, got {tol!r}")
                continue
            for m in q.get("mistakes") or []:
                value = m.get("value") if isinstance(m, Mapping) else None
                if isinstance(value, (int, float)) and abs(value - answer) <= tol:
                    problems.append(
                        f"{name}: the mistake {value} lies within the tolerance of the answer {answer}"
                    )
    return problems


def _question_texts(q: Mapping[str, Any]) -> list[Any]:
    """The feedback texts of a raw question (each must carry a link)."""
    if q.get("kind") == "numeric":
        fb = q.get("feedback") or {}
        texts = [fb.get("correct", ""), fb.get("incorrect", "")]
        texts += [m.get("feedback", "") for m in q.get("mistakes") or [] if isinstance(m, Mapping)]
        return texts
    return [o.get("feedback", "") for o in q.get("options") or [] if isinstance(o, Mapping)]


def validate_bank(data: Any, *, name: str = "bank") -> None:
    """Raise :class:`ValueError` describing what is wrong with a raw bank.

    First the size: a bank with more than ``_MAX_BANK_VALUES`` values or ``_MAX_BANK_CHARS``
    characters of text is refused before anything else looks at it. Then the JSON Schema in
    ``quizzes/schema.json``: the first schema error is reported and checking stops there, since
    the checks that follow assume the bank's shape. Then, listing every problem with messages
    that name the question: unique ids, exactly one correct option for single choice, at least
    one for multiple choice, distinct option texts, a ``{ref}`` link in every feedback, a finite
    answer and a positive tolerance for numeric questions, and no "typical mistake" that would
    be accepted as right.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    _check_size(data, name)
    schema_problem = _schema_error(data)
    problems = [schema_problem] if schema_problem is not None else _semantic_errors(data)
    if problems:
        raise ValueError(f"{name} is not a valid quiz bank:\n  " + "\n  ".join(problems))


def load_bank(bank: str | Path, *, banks_dir: Path | str | None = None) -> Bank:
    """Read and validate a bank: ``"w1_qa"`` (looked up in ``banks_dir``) or a path to a YAML file."""
    if not isinstance(bank, (str, Path)):
        raise TypeError(f"bank must be a bank name or a path, got {type(bank).__name__}")
    path = Path(bank)
    if path.suffix not in (".yml", ".yaml"):
        folder = _folder(banks_dir, "banks_dir", BANKS_DIR)
        path = folder / f"{bank}.yml"
        if not path.is_file():
            known = ", ".join(bank_ids(folder)) or "none"
            raise ValueError(f"bank {bank!r} is unknown; the banks are: {known}")
    elif not path.is_file():
        raise ValueError(f"bank {str(bank)!r} is not a file")
    data = _read_yaml(path)
    validate_bank(data, name=path.name)
    return _build_bank(data)


def _build_bank(data: Mapping[str, Any]) -> Bank:
    questions = []
    for q in data["questions"]:
        common = {"id": q["id"], "kind": q["kind"], "prompt": q["prompt"].strip()}
        table = tuple(tuple(str(c) for c in row) for row in q.get("table") or ())
        if q["kind"] == "numeric":
            fb = q["feedback"]
            questions.append(
                Question(
                    **common,
                    table=table,
                    answer=float(q["answer"]),
                    tolerance=float(q["tolerance"]),
                    unit=q.get("unit", ""),
                    feedback_correct=fb["correct"].strip(),
                    feedback_incorrect=fb["incorrect"].strip(),
                    mistakes=tuple(
                        Mistake(
                            float(m["value"]),
                            m["feedback"].strip(),
                            float(m["tolerance"]) if "tolerance" in m else None,
                        )
                        for m in q.get("mistakes") or ()
                    ),
                )
            )
        else:
            options = tuple(
                Option(str(o["text"]).strip(), bool(o["correct"]), o["feedback"].strip())
                for o in q["options"]
            )
            questions.append(Question(**common, table=table, options=options))
    return Bank(
        id=data["id"],
        title=data["title"],
        syllabus=data["syllabus"],
        page=data["page"],
        intro=(data.get("intro") or "").strip(),
        questions=tuple(questions),
    )


def _all_texts(bank: Bank) -> Iterable[str]:
    for q in bank.questions:
        yield q.prompt
        for o in q.options:
            yield o.text
            yield o.feedback
        yield q.feedback_correct
        yield q.feedback_incorrect
        for m in q.mistakes:
            yield m.feedback


def _split_ref(body: str) -> tuple[str | None, str]:
    """``"text <label>"`` -> (text, label); ``"label"`` -> (None, label)."""
    m = _REF_PARTS_RE.match(body)
    if m is None:  # pragma: no cover - the pattern matches any non-empty body
        return None, body.strip()
    if m.group("label") is not None:
        return (m.group("text") or None), m.group("label").strip()
    return None, m.group("bare").strip()


def _labels_in(text: str) -> list[str]:
    return [_split_ref(b)[1] for b in _REF_RE.findall(text)]


# --------------------------------------------------------------------------------------------
# Order and checking
# --------------------------------------------------------------------------------------------


def _check_question(question: Any) -> None:
    if not isinstance(question, Question):
        raise TypeError(f"question must be a Question (from load_bank), got "
                        f"{type(question).__name__}")


def display_order(question: Question) -> list[int]:
    """Bank indices of the options in the order they are shown.

    The order sorts the options by a SHA-256 hash of ``"<question id>:<option index>"``: it looks
    random, is different for every question, and never changes between runs or machines.
    """
    _check_question(question)

    def key(i: int) -> str:
        return hashlib.sha256(f"{question.id}:{i}".encode()).hexdigest()

    return sorted(range(len(question.options)), key=key)


def parse_number(text: Any) -> float | None:
    """A learner's number: ``"0.75"``, ``" 0,75 "`` or ``"7.5e-1"``; ``None`` when it is not one.

    A number too large for a float (``"1e999"``) is not one either: it would be infinity.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text) if math.isfinite(text) else None
    if not isinstance(text, str):
        return None
    s = text.strip().replace(" ", "")
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    if not _NUMBER_RE.match(s):
        return None
    value = float(s)
    return value if math.isfinite(value) else None


def evaluate(question: Question, response: Any) -> Verdict:
    """Check one answer.

    ``response`` is the bank index of the chosen option (single choice), an iterable of bank indices
    (multiple choice) or a number or string (numeric). ``None`` or an empty selection is
    "unanswered"; a string that is not a number is "invalid". Neither counts as an answer.
    """
    _check_question(question)
    if question.kind == "numeric":
        if response is None or (isinstance(response, str) and not response.strip()):
            return Verdict("unanswered")
        value = parse_number(response)
        if value is None:
            return Verdict("invalid")
        assert question.answer is not None and question.tolerance is not None
        if abs(value - question.answer) <= question.tolerance * (1 + 1e-9):
            return Verdict("correct", (question.feedback_correct,))
        for m in question.mistakes:
            tol = question.tolerance if m.tolerance is None else m.tolerance
            if abs(value - m.value) <= tol * (1 + 1e-9):
                return Verdict("incorrect", (m.feedback,))
        return Verdict("incorrect", (question.feedback_incorrect,))

    n = len(question.options)
    if question.kind == "single":
        if response is None:
            return Verdict("unanswered")
        index = _option_index(response, n, "response")
        status: Status = "correct" if question.options[index].correct else "incorrect"
        return Verdict(status, (question.options[index].feedback,),
                       ((index, question.options[index].correct),))

    if response is None or isinstance(response, (str, bytes)) or not isinstance(response, Iterable):
        if response is None:
            return Verdict("unanswered")
        raise ValueError("response for a multiple-choice question must be an iterable of option indices")
    chosen = sorted({_option_index(r, n, "response") for r in response})
    if not chosen:
        return Verdict("unanswered")
    right = set(question.correct_options)
    ticked = [i for i in display_order(question) if i in chosen]
    marks = tuple((i, question.options[i].correct) for i in ticked)
    missed = len(right - set(chosen))
    status = "correct" if set(chosen) == right else "incorrect"
    return Verdict(status, tuple(question.options[i].feedback for i in ticked), marks, missed)


def _option_index(value: Any, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an option index (int), got {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{name} {value} is out of range: the question has {n} options")
    return int(value)


# --------------------------------------------------------------------------------------------
# Labels and links
# --------------------------------------------------------------------------------------------


def find_labels(root: Path | str | None = None) -> dict[str, LabelTarget]:
    """Every MyST label ``(label)=`` in the book's notebooks (markdown cells) and ``.md`` pages.

    Maps the label to its document (relative to ``root``, POSIX style) and the title of the heading
    that follows it. Hidden folders and build output are skipped. When a label is defined twice
    the first document in path order wins (Sphinx would warn about the duplicate).
    """
    base = _folder(root, "root", ROOT)
    found: dict[str, LabelTarget] = {}
    for path in sorted(_book_files(base)):
        rel = path.relative_to(base).as_posix()
        for label, title in _labels_in_file(path):
            found.setdefault(label, LabelTarget(label, rel, title))
    return found


def _book_files(base: Path) -> Iterable[Path]:
    for suffix in ("*.ipynb", "*.md"):
        for path in base.rglob(suffix):
            parts = path.relative_to(base).parts[:-1]
            if any(p.startswith(".") or p in _SKIP_DIRS or p.endswith(".egg-info") for p in parts):
                continue
            yield path


def _labels_in_file(path: Path) -> list[tuple[str, str]]:
    try:
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            lines: list[str] = []
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "markdown":
                    src = cell.get("source", "")
                    lines += ("".join(src) if isinstance(src, list) else src).splitlines()
                    lines.append("")
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError, UnicodeDecodeError):
        return []  # a half-written or unreadable file defines no label
    out = []
    for i, line in enumerate(lines):
        m = _LABEL_LINE_RE.match(line)
        if m is None:
            continue
        title = m.group(1)
        for nxt in lines[i + 1 : i + 4]:
            h = _HEADING_RE.match(nxt)
            if h:
                title = _plain(h.group(1))
                break
            if nxt.strip():
                break
        out.append((m.group(1), title))
    return out


def _fallback_text(label: str) -> str:
    m = _SYLLABUS_LABEL_RE.match(label)
    return f"syllabus item {m.group(1).upper()}.{m.group(2).upper()}" if m else label


# --------------------------------------------------------------------------------------------
# Markup: a small, safe subset of MyST (paragraphs, "- " lists, `code`, **bold**, *italic*, {ref})
# --------------------------------------------------------------------------------------------

_INLINE_RE = re.compile(r"\{ref\}`(?P<ref>[^`]+)`|`(?P<code>[^`]+)`")


class _Linker:
    """Turns ``{ref}`` roles into links for one rendering target (site HTML or JupyterLab)."""

    def __init__(self, labels: Mapping[str, LabelTarget], page_dir: str, target: str,
                 strict: bool) -> None:
        self.labels, self.page_dir, self.target, self.strict = labels, page_dir, target, strict
        self.missing: dict[str, None] = {}

    def href(self, t: LabelTarget) -> str:
        if self.target == "html":
            stem, _ = posixpath.splitext(t.path)
            rel = posixpath.relpath(stem + ".html", self.page_dir or ".")
            return f"{rel}#{t.label}"
        return posixpath.relpath(t.path, self.page_dir or ".")

    def link(self, body: str) -> str:
        text, label = _split_ref(body)
        t = self.labels.get(label)
        if t is None:
            self.missing.setdefault(label, None)
            return f'<span class="mlq-ref-missing">{html.escape(text or _fallback_text(label))}</span>'
        shown = html.escape(text or t.title)
        return f'<a class="mlq-ref" href="{html.escape(self.href(t), quote=True)}">{shown}</a>'

    def finish(self, where: str) -> None:
        if self.missing:
            _report_missing(list(self.missing), where, strict=self.strict)


def _report_missing(missing: Sequence[str], where: str, *, strict: bool) -> None:
    """Raise (strict) or warn about link targets that no page defines."""
    if not missing:
        return
    msg = (f"{where}: {len(missing)} link target(s) are not defined by any notebook or "
           f"page of the book yet: {', '.join(missing)}")
    if strict:
        raise ValueError(msg)
    # warn_explicit keeps machine paths of this file out of the notebook's stored output
    warnings.warn_explicit(msg, QuizLinkWarning, filename="utils.quiz", lineno=0,
                           module="utils.quiz")


def _inline(text: str, linker: _Linker | None) -> str:
    out, pos = [], 0
    for m in _INLINE_RE.finditer(text):
        out.append(_emphasis(html.escape(text[pos : m.start()], quote=False)))
        if m.group("code") is not None:
            out.append(f"<code>{html.escape(m.group('code'), quote=False)}</code>")
        elif linker is not None:
            out.append(linker.link(m.group("ref")))
        else:
            t, label = _split_ref(m.group("ref"))
            out.append(html.escape(t or _fallback_text(label), quote=False))
        pos = m.end()
    out.append(_emphasis(html.escape(text[pos:], quote=False)))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", escaped)


def _blocks(text: str, linker: _Linker | None) -> str:
    """Paragraphs separated by blank lines; a block whose lines all start with "- " is a list."""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines and all(ln.startswith("- ") for ln in lines):
            items = "".join(f"<li>{_inline(ln[2:], linker)}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        elif lines:
            parts.append(f"<p>{_inline(' '.join(lines), linker)}</p>")
    return "".join(parts)


def _plain(text: str) -> str:
    """Markup to plain text (widget labels, text/plain)."""
    def ref(m: re.Match[str]) -> str:
        t, label = _split_ref(m.group("ref"))
        return t or _fallback_text(label)

    s = _INLINE_RE.sub(lambda m: m.group("code") if m.group("code") is not None else ref(m), text)
    s = re.sub(r"\*\*(.+?)\*\*", r"\1", s)
    s = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", s)
    return " ".join(s.split())


def _table_html(table: Sequence[Sequence[str]], linker: _Linker | None) -> str:
    if not table:
        return ""
    head = "".join(f'<th scope="col">{_inline(c, linker)}</th>' for c in table[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c, linker)}</td>" for c in row) + "</tr>" for row in table[1:]
    )
    return (f'<div class="mlq-table-wrap"><table class="mlq-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _prompt_html(q: Question, linker: _Linker | None) -> str:
    return f'<div class="mlq-prompt">{_blocks(q.prompt, linker)}</div>' + _table_html(q.table, linker)


def _verdict_html(q: Question, v: Verdict, linker: _Linker | None) -> str:
    """The feedback block for a checked answer (the widget shows it; quiz.js builds the same)."""
    if v.status in ("unanswered", "invalid"):
        return f'<p class="mlq-verdict mlq-note">{html.escape(UI_TEXT[v.status])}</p>'
    cls = "mlq-right" if v.correct else "mlq-wrong"
    head = f'<p class="mlq-verdict {cls}">{html.escape(UI_TEXT[v.status])}</p>'
    if q.kind == "multiple":
        items = []
        for (i, applies), fb in zip(v.marks, v.feedback, strict=True):
            mark = UI_TEXT["applies"] if applies else UI_TEXT["not_applies"]
            icon = "✓" if applies else "✗"
            items.append(
                f'<li class="{"mlq-right" if applies else "mlq-wrong"}"><span class="mlq-mark">'
                f"{icon} {html.escape(mark)}</span>: <em>{_inline(q.options[i].text, linker)}</em>"
                f" {_blocks(fb, linker)}</li>"
            )
        missed = f'<p class="mlq-missed">{html.escape(UI_TEXT["missed"])}</p>' if v.missed else ""
        return head + f'<ul class="mlq-marks">{"".join(items)}</ul>' + missed
    return head + "".join(f'<div class="mlq-fb">{_blocks(fb, linker)}</div>' for fb in v.feedback)


def _score_text(correct: int, checked: int, total: int) -> str:
    return UI_TEXT["score"].format(correct=correct, checked=checked, total=total)


# --------------------------------------------------------------------------------------------
# Static HTML for the site
# --------------------------------------------------------------------------------------------


def _check_labels(labels: Any) -> None:
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a mapping of label to LabelTarget (see find_labels), "
                        f"got {type(labels).__name__}")


def render_html(bank: Bank | str, *, labels: Mapping[str, LabelTarget] | None = None,
                strict: bool = False, inline_assets: bool = True) -> str:
    """Self-contained HTML for the static site: markup, answer data, and quiz.css/quiz.js inlined.

    Links point to ``<document>.html#<label>`` relative to the quiz page's folder. An unknown label
    raises :class:`ValueError` when ``strict`` (tests) and otherwise renders as plain text with a
    :class:`QuizLinkWarning`. The output depends only on the bank, the labels and the two asset
    files: it is identical on every run.
    """
    if not isinstance(bank, Bank | str):
        raise TypeError(f"bank must be a Bank or a bank name, got {type(bank).__name__}")
    check_bool("strict", strict)
    check_bool("inline_assets", inline_assets)
    _check_labels(labels)
    b = load_bank(bank) if isinstance(bank, str) else bank
    linker = _Linker(find_labels() if labels is None else labels, b.page_dir, "html", strict)
    html_text = _render_html(b, linker, inline_assets)
    linker.finish(f"quiz {b.id}")
    return html_text


def _render_html(b: Bank, linker: _Linker, inline_assets: bool) -> str:
    qid = html.escape(b.id, quote=True)
    total = len(b.questions)
    out = [f'<div class="mlq-quiz" id="mlq-{qid}" data-quiz="{qid}">']
    if inline_assets:
        out.append(f"<style>{_CSS_PATH.read_text(encoding='utf-8')}</style>")
    if b.intro:
        out.append(f'<div class="mlq-intro">{_blocks(b.intro, linker)}</div>')
    out.append('<ol class="mlq-questions">')
    data: dict[str, Any] = {"id": b.id, "ui": dict(UI_TEXT), "questions": []}
    for n, q in enumerate(b.questions, start=1):
        base = f"mlq-{qid}-q{n}"
        out.append(f'<li class="mlq-question" id="{base}" data-qid="{html.escape(q.id, quote=True)}"'
                   f' data-kind="{q.kind}">')
        out.append(f'<fieldset aria-describedby="{base}-prompt">')
        out.append(f'<legend><span class="mlq-num">Question {n} of {total}</span> '
                   f'<span class="mlq-kind">{html.escape(UI_TEXT[q.kind])}</span></legend>')
        out.append(f'<div id="{base}-prompt">{_prompt_html(q, linker)}</div>')
        qdata: dict[str, Any] = {"kind": q.kind}
        if q.kind == "numeric":
            unit = f' <span class="mlq-unit">{html.escape(q.unit)}</span>' if q.unit else ""
            out.append(f'<div class="mlq-options"><label class="mlq-number-label" for="{base}-input">'
                       f'{html.escape(UI_TEXT["number_label"])}</label> <input type="text" '
                       f'id="{base}-input" class="mlq-number" inputmode="decimal" autocomplete="off"'
                       f' spellcheck="false">{unit}</div>')
            qdata.update(answer=q.answer, tolerance=q.tolerance,
                         correct=_verdict_html(q, Verdict("correct", (q.feedback_correct,)), linker),
                         incorrect=_verdict_html(q, Verdict("incorrect", (q.feedback_incorrect,)),
                                                 linker),
                         mistakes=[{"value": m.value,
                                    "tolerance": q.tolerance if m.tolerance is None else m.tolerance,
                                    "html": _verdict_html(q, Verdict("incorrect", (m.feedback,)),
                                                          linker)}
                                   for m in q.mistakes])
        else:
            kind = "radio" if q.kind == "single" else "checkbox"
            out.append('<div class="mlq-options">')
            opts = []
            for pos, i in enumerate(display_order(q)):
                o = q.options[i]
                out.append(f'<label class="mlq-option"><input type="{kind}" name="{base}" '
                           f'value="{pos}"> <span class="mlq-option-text">'
                           f"{_inline(o.text, linker)}</span></label>")
                opts.append({"correct": o.correct, "text": _inline(o.text, linker),
                             "feedback": _blocks(o.feedback, linker)})
            out.append("</div>")
            qdata["options"] = opts
        data["questions"].append(qdata)
        out.append(f'<div class="mlq-actions"><button type="button" class="mlq-check">'
                   f'{html.escape(UI_TEXT["check"])}</button></div>')
        out.append('<div class="mlq-feedback" role="status" aria-live="polite"></div>')
        out.append("</fieldset></li>")
    out.append("</ol>")
    out.append('<div class="mlq-footer"><p class="mlq-score" role="status" aria-live="polite">'
               f"{html.escape(_score_text(0, 0, total))}</p>"
               f'<button type="button" class="mlq-reset">{html.escape(UI_TEXT["reset"])}</button></div>')
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    out.append(f'<script type="application/json" class="mlq-data">{blob}</script>')
    if inline_assets:
        out.append(f"<script>{_JS_PATH.read_text(encoding='utf-8')}</script>")
    out.append("</div>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The object a notebook displays
# --------------------------------------------------------------------------------------------


class Quiz:
    """A quiz ready to display: the ipywidgets view for JupyterLab plus static HTML for the site.

    The small API drives the widget the way a learner would, so a test can check it::

        quiz = Quiz(load_bank("w2_qb"), strict=True)
        quiz.answer(0, 2)          # choose option 2 (bank order) of question 0 and press Check
        quiz.answer(3, [0, 2])     # tick options 0 and 2 of a multiple-choice question
        quiz.answer(5, "0.615")    # type a number
        quiz.score, quiz.checked   # right answers / checked answers so far
        quiz.reset()               # press "Try again"
    """

    def __init__(self, bank: Bank, *, labels: Mapping[str, LabelTarget] | None = None,
                 strict: bool = False) -> None:
        if not isinstance(bank, Bank):
            raise TypeError(f"bank must be a Bank (see load_bank), got {type(bank).__name__}")
        check_bool("strict", strict)
        _check_labels(labels)
        self.bank = bank
        self.strict = strict
        self._labels = dict(find_labels() if labels is None else labels)
        _report_missing([r for r in bank.refs() if r not in self._labels], f"quiz {bank.id}",
                        strict=strict)
        self._results: dict[int, Status] = {}
        self._widget: Any = None
        self._parts: list[dict[str, Any]] = []
        self._html: str | None = None
        self._feedback_html: dict[int, str] = {}

    # ----- state -----
    @property
    def total(self) -> int:
        """Number of questions."""
        return len(self.bank.questions)

    @property
    def score(self) -> int:
        """Questions whose last checked answer is right."""
        return sum(1 for s in self._results.values() if s == "correct")

    @property
    def checked(self) -> int:
        """Questions with a checked answer (right or wrong)."""
        return sum(1 for s in self._results.values() if s in ("correct", "incorrect"))

    @property
    def score_text(self) -> str:
        """The score line shown under the quiz."""
        return _score_text(self.score, self.checked, self.total)

    def feedback(self, i: int | str) -> str:
        """The feedback HTML currently shown under question ``i`` (empty before a check)."""
        return self._feedback_html.get(self._index(i), "")

    def status(self, i: int | str) -> Status | None:
        """The status of question ``i`` after its last check, or None."""
        return self._results.get(self._index(i))

    # ----- driving the widget -----
    def answer(self, i: int | str, choice: Any, *, check: bool = True) -> Verdict | None:
        """Set question ``i``'s answer in the widget and (by default) press its Check button.

        ``choice``: the bank index of an option (single choice), an iterable of bank indices
        (multiple choice) or a number or string (numeric); ``None`` clears the answer. Returns the
        verdict when checked.
        """
        k = self._index(i)
        q = self.bank.questions[k]
        part = self._part(k)
        if q.kind == "single":
            if choice is not None:
                _option_index(choice, len(q.options), "choice")
            part["input"].value = choice
        elif q.kind == "multiple":
            if choice is None:
                choice = ()
            if isinstance(choice, (int, str)) or not isinstance(choice, Iterable):
                raise ValueError("choice for a multiple-choice question must be an iterable of "
                                 "option indices")
            chosen = {_option_index(c, len(q.options), "choice") for c in choice}
            for idx, box in part["boxes"].items():
                box.value = idx in chosen
        else:
            part["input"].value = "" if choice is None else str(choice)
        if not check:
            return None
        part["check"].click()
        return part["verdict"]

    def check(self, i: int | str) -> Verdict:
        """Press question ``i``'s Check button and return the verdict."""
        part = self._part(self._index(i))
        part["check"].click()
        return part["verdict"]

    def reset(self) -> None:
        """Press "Try again": clear every answer, every feedback and the score."""
        self._ensure_widget()
        self._reset_button.click()

    # ----- rendering -----
    def to_html(self) -> str:
        """The static HTML (see :func:`render_html`)."""
        if self._html is None:
            linker = _Linker(self._labels, self.bank.page_dir, "html", self.strict)
            self._html = _render_html(self.bank, linker, inline_assets=True)
        return self._html

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use)."""
        self._ensure_widget()
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data = {"text/html": self.to_html(), "text/plain": self._text()}
        try:
            widget_data = self.widget._repr_mimebundle_()
        except ImportError:  # no ipywidgets: the HTML view still works
            widget_data = {}
        view = widget_data.get("application/vnd.jupyter.widget-view+json")
        if view is not None:
            data["application/vnd.jupyter.widget-view+json"] = view
        return data

    def __repr__(self) -> str:
        return f"Quiz({self.bank.id!r}, {self.total} questions)"

    def _text(self) -> str:
        return (f"Quiz {self.bank.syllabus}: {self.bank.title} ({self.total} questions). "
                "Run this notebook in JupyterLab to answer it, or read it on the book's website.")

    # ----- internals -----
    def _index(self, i: int | str) -> int:
        if isinstance(i, str):
            for k, q in enumerate(self.bank.questions):
                if q.id == i:
                    return k
            raise ValueError(f"question id {i!r} is not in bank {self.bank.id!r}")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.total:
            raise ValueError(f"question index must be an int in [0, {self.total - 1}], got {i!r}")
        return i

    def _part(self, k: int) -> dict[str, Any]:
        self._ensure_widget()
        return self._parts[k]

    def _ensure_widget(self) -> None:
        if self._widget is not None:
            return
        import ipywidgets as w

        linker = _Linker(self._labels, self.bank.page_dir, "lab", self.strict)
        intro = f'<div class="mlq-intro">{_blocks(self.bank.intro, linker)}</div>' if self.bank.intro else ""
        rows: list[Any] = [w.HTML(_WIDGET_CSS + intro)]
        for k, q in enumerate(self.bank.questions):
            part: dict[str, Any] = {"verdict": None}
            head = w.HTML(f"<p><strong>Question {k + 1} of {self.total}</strong> "
                          f"<em>{html.escape(UI_TEXT[q.kind])}</em></p>"
                          + _prompt_html(q, linker))
            full = w.Layout(width="auto")
            if q.kind == "single":
                order = display_order(q)
                part["input"] = w.RadioButtons(
                    options=[(_plain(q.options[i].text), i) for i in order], value=None,
                    layout=full, style={"description_width": "0px"})
                answer_box: Any = part["input"]
            elif q.kind == "multiple":
                boxes = {i: w.Checkbox(value=False, description=_plain(q.options[i].text),
                                       indent=False, layout=full)
                         for i in display_order(q)}
                part["boxes"] = boxes
                answer_box = w.VBox(list(boxes.values()))
            else:
                part["input"] = w.Text(value="", placeholder="a number, e.g. 0.75",
                                       description=UI_TEXT["number_label"],
                                       style={"description_width": "initial"})
                answer_box = part["input"] if not q.unit else w.HBox(
                    [part["input"], w.Label(q.unit)], layout=w.Layout(flex_flow="row wrap"))
            button = w.Button(description=UI_TEXT["check"], button_style="primary")
            out = w.Output()
            part.update(check=button, output=out)
            button.on_click(lambda _b, k=k: self._on_check(k, linker))
            self._parts.append(part)
            rows.append(w.VBox([head, answer_box, button, out],
                               layout=w.Layout(border="1px solid #ccc", padding="8px",
                                               margin="0 0 12px 0")))
        self._score_label = w.HTML(f"<p><strong>{html.escape(self.score_text)}</strong></p>")
        self._reset_button = w.Button(description=UI_TEXT["reset"])
        self._reset_button.on_click(lambda _b: self._on_reset())
        rows.append(w.HBox([self._score_label, self._reset_button]))
        self._widget = w.VBox(rows)
        self._widget.add_class("mlq-widget")

    def _response(self, k: int) -> Any:
        q, part = self.bank.questions[k], self._parts[k]
        if q.kind == "multiple":
            return [i for i, box in part["boxes"].items() if box.value]
        return part["input"].value

    def _on_check(self, k: int, linker: _Linker) -> None:
        q, part = self.bank.questions[k], self._parts[k]
        verdict = evaluate(q, self._response(k))
        part["verdict"] = verdict
        self._results[k] = verdict.status
        fb = _verdict_html(q, verdict, linker)
        self._feedback_html[k] = fb
        part["output"].outputs = (
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": f'<div class="mlq-feedback">{fb}</div>',
                      "text/plain": _plain(re.sub(r"<[^>]+>", " ", fb))}},
        )
        self._update_score()

    def _on_reset(self) -> None:
        for k, q in enumerate(self.bank.questions):
            part = self._parts[k]
            if q.kind == "multiple":
                for box in part["boxes"].values():
                    box.value = False
            elif q.kind == "single":
                part["input"].value = None
            else:
                part["input"].value = ""
            part["output"].outputs = ()
            part["verdict"] = None
        self._results.clear()
        self._feedback_html.clear()
        self._update_score()

    def _update_score(self) -> None:
        self._score_label.value = f"<p><strong>{html.escape(self.score_text)}</strong></p>"


# Long option texts wrap instead of being cut off with an ellipsis (ipywidgets' default).
_WIDGET_CSS = (
    "<style>.mlq-widget .widget-checkbox, .mlq-widget .widget-radio-box label {height: auto;}"
    ".mlq-widget .widget-checkbox label, .mlq-widget .widget-radio-box label {white-space: normal;"
    " overflow: visible; text-overflow: clip; height: auto; line-height: 1.4;}"
    ".mlq-widget .widget-radio-box label {display: flex; flex-direction: row-reverse;"
    " justify-content: flex-end; align-items: baseline; gap: 6px; margin-bottom: 2px;}"
    ".mlq-widget .widget-radio-box input {float: none; flex: none; margin: 0 2px;}"
    ".mlq-widget .mlq-table td, .mlq-widget .mlq-table th {border: 1px solid #bbb;"
    " padding: 2px 8px;}</style>"
)


def show(bank: str, *, strict: bool = False) -> Quiz:
    """Load a bank and return the quiz to display (the last line of a quiz page's cell).

    Introduced in ``week1/quiz_lifecycle.ipynb``. In JupyterLab the quiz is a widget checked in the
    kernel; on the static site it is HTML driven by ``quizzes/quiz.js``. With ``strict=True`` a link
    to a label that no page defines is an error instead of a warning.
    """
    if not isinstance(bank, str):
        raise TypeError(f"bank must be a bank name such as 'w1_qa', got {type(bank).__name__}")
    check_bool("strict", strict)
    return Quiz(load_bank(bank), strict=strict)
