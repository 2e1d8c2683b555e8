"""The question bank: one pydantic model that describes a quiz bank, checks it and holds it.

:class:`Bank` is the only description of a bank's shape and rules: the fields and their types,
and the rules that need more than one field (exactly one correct option for single choice,
distinct option texts, a ``{ref}`` link to a syllabus section in every feedback, finite
numbers, no "typical mistake" that would be accepted as right). :mod:`utils.quiz.loading` reads
the YAML files and turns the model's errors into messages for a bank's author. The JSON schema
that editors use while a bank is written (``utils/quiz/banks/schema.json``) is generated from
the model by ``tools/quiz_data.py``.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first) through
:func:`~utils.quiz.widget.show`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import pydantic
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["Bank", "Mistake", "NumericFeedback", "Option", "Question", "labels_in", "split_ref"]

REF_RE = re.compile(r"\{ref\}`([^`]+)`")
_REF_PARTS_RE = re.compile(
    r"^\s*(?:(?P<text>.*?)\s*<(?P<label>[^<>]+)>|(?P<bare>[^<>]+?))\s*$", re.S
)
#: A feedback text links to a syllabus section: {ref}`syl-w2-08` or {ref}`the notes <syl-w2-08>`.
SYLLABUS_REF = r"\{ref\}`([^`<]*<)?syl-w[1-3]-[0-9a-z]+>?`"
_OPTION_COUNTS = {"single": (3, 6), "multiple": (3, 7)}
_NUMERIC_FIELDS = ("answer", "tolerance", "unit", "feedback", "mistakes")


def split_ref(body: str) -> tuple[str | None, str]:
    """The body of a ``{ref}`` role: ``"text <label>"`` -> (text, label); ``"label"`` -> (None, label)."""
    m = _REF_PARTS_RE.match(body)
    if m is None:  # pragma: no cover - the pattern matches any non-empty body
        return None, body.strip()
    if m.group("label") is not None:
        return (m.group("text") or None), m.group("label").strip()
    return None, m.group("bare").strip()


def labels_in(text: str) -> list[str]:
    """The labels that the ``{ref}`` roles of ``text`` link to, in order."""
    return [split_ref(b)[1] for b in REF_RE.findall(text)]


# --------------------------------------------------------------------------------------------
# Fields: each carries its rule, so that the model and the JSON schema say the same thing
# --------------------------------------------------------------------------------------------


def _rule(field: str, message: str) -> PydanticCustomError:
    """An error of a bank rule; ``field`` is added to the place the message reports."""
    return PydanticCustomError("bank_rule", "{message}", {"field": field, "message": message})


def _has_syllabus_link(text: str) -> str:
    if not re.search(SYLLABUS_REF, text):
        raise PydanticCustomError(
            "no_ref",
            "{message}",
            {
                "message": f"a feedback text has no {{ref}} link to a syllabus section: {text[:60]!r}"
            },
        )
    return text


def _text(**kwargs: Any) -> Any:
    """Text shown to the learner: a string with something in it (surrounding spaces removed)."""
    return Field(strict=True, min_length=1, **kwargs)


def _feedback() -> Any:
    """Why an answer is right or wrong, with a {ref} link to the section that teaches it."""
    return Field(
        strict=True,
        min_length=20,
        json_schema_extra={"pattern": SYLLABUS_REF},
        description="why the answer is right or wrong, with at least one {ref} link "
        "to a syllabus section label",
    )


def _number(**kwargs: Any) -> Any:
    """A finite number; ``true`` and ``"0.5"`` are not numbers."""
    return Field(strict=True, allow_inf_nan=False, **kwargs)


#: What the JSON schema says of a table: rows of cells, each a string or a number.
_TABLE_SCHEMA: dict[str, Any] = {
    "minItems": 2,
    "items": {"type": "array", "minItems": 1, "items": {"type": ["string", "number"]}},
}


#: Every model of a bank: no unknown fields, read-only, text without surrounding spaces.
_CONFIG = pydantic.ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Option(BaseModel):
    """One answer option of a choice question."""

    #: :meta private:
    model_config: ClassVar[pydantic.ConfigDict] = _CONFIG

    text: str = _text()
    correct: bool = Field(strict=True)
    feedback: str = _feedback()

    _link = field_validator("feedback")(_has_syllabus_link)


class Mistake(BaseModel):
    """A typical wrong number for a numeric question, with feedback that names the slip."""

    #: :meta private:
    model_config: ClassVar[pydantic.ConfigDict] = _CONFIG

    value: float = _number()
    feedback: str = _feedback()
    tolerance: float | None = _number(default=None, gt=0)

    _link = field_validator("feedback")(_has_syllabus_link)


class NumericFeedback(BaseModel):
    """The feedback of a numeric question: for a right answer and for any other wrong one."""

    #: :meta private:
    model_config: ClassVar[pydantic.ConfigDict] = _CONFIG

    correct: str = _feedback()
    incorrect: str = _feedback()

    _link = field_validator("correct", "incorrect")(_has_syllabus_link)


class Question(BaseModel):
    """One question: ``options`` for choice questions; ``answer``, ``tolerance``, ``feedback``
    (and optional ``unit`` and ``mistakes``) for numeric ones."""

    #: :meta private:
    model_config: ClassVar[pydantic.ConfigDict] = _CONFIG

    id: str = Field(strict=True, pattern=r"^w[1-3](qa|qb|pq)-[a-z0-9-]+$")
    kind: Literal["single", "multiple", "numeric"]
    prompt: str = _text()
    table: tuple[tuple[str, ...], ...] = Field(
        default=(),
        json_schema_extra=_TABLE_SCHEMA,
        description="rows of a table shown under the prompt; the first is the header",
    )
    options: tuple[Option, ...] = ()
    answer: float | None = _number(default=None)
    tolerance: float | None = _number(default=None, gt=0)
    unit: str = Field(default="", strict=True)
    feedback: NumericFeedback | None = None
    mistakes: tuple[Mistake, ...] = ()

    @field_validator("table", mode="before")
    @classmethod
    def _cells_as_text(cls, table: Any) -> Any:
        """A cell may be written as a number; it is shown as the bank writes it."""
        if not isinstance(table, list | tuple):
            return table
        return [
            [str(c) if isinstance(c, int | float) and not isinstance(c, bool) else c for c in row]
            if isinstance(row, list | tuple)
            else row
            for row in table
        ]

    @property
    def correct_options(self) -> tuple[int, ...]:
        """Indices (in bank order) of the options that are correct."""
        return tuple(i for i, o in enumerate(self.options) if o.correct)

    @property
    def feedback_correct(self) -> str:
        """The feedback for a right number (numeric questions; empty otherwise)."""
        return self.feedback.correct if self.feedback is not None else ""

    @property
    def feedback_incorrect(self) -> str:
        """The feedback for a wrong number that is no typical mistake (numeric questions)."""
        return self.feedback.incorrect if self.feedback is not None else ""

    @model_validator(mode="after")
    def _rules(self) -> Question:
        problems = self._numeric_problems() if self.kind == "numeric" else self._choice_problems()
        if self.table and (len(self.table) < 2 or not all(self.table)):
            problems.append(
                ("table", "a table needs a header row and at least one more row, each with a cell")
            )
        if problems:
            field, message = problems[0]
            raise _rule(field, message)
        return self

    def _choice_problems(self) -> list[tuple[str, str]]:
        label = "single-choice" if self.kind == "single" else "multiple-choice"
        found = [
            (f, f"a {label} question has no {f} (only numeric questions do)")
            for f in _NUMERIC_FIELDS
            if f in self.model_fields_set
        ]
        low, high = _OPTION_COUNTS[self.kind]
        n, n_correct = len(self.options), len(self.correct_options)
        if not low <= n <= high:
            found.append(("options", f"a {label} question needs {low} to {high} options, has {n}"))
        if self.kind == "single" and n_correct != 1:
            found.append(
                ("options", f"single choice needs exactly one correct option, has {n_correct}")
            )
        if self.kind == "multiple" and n_correct < 1:
            found.append(("options", "multiple choice needs at least one correct option"))
        texts = [o.text for o in self.options]
        if len(set(texts)) != len(texts):
            found.append(("options", "two options have the same text"))
        return found

    def _numeric_problems(self) -> list[tuple[str, str]]:
        found = [
            (f, "a numeric question needs one")
            for f in ("answer", "tolerance", "feedback")
            if getattr(self, f) is None
        ]
        if self.options:
            found.append(("options", "a numeric question has no options"))
        if self.answer is None or self.tolerance is None:
            return found
        for k, m in enumerate(self.mistakes):
            if abs(m.value - self.answer) <= self.tolerance:
                found.append(
                    (
                        f"mistakes[{k}]",
                        f"the mistake {m.value:g} lies within the "
                        f"tolerance of the answer {self.answer:g}",
                    )
                )
        return found


class Bank(BaseModel):
    """A validated question bank: one quiz, shown by the notebook ``page``."""

    #: :meta private:
    model_config: ClassVar[pydantic.ConfigDict] = pydantic.ConfigDict(
        **_CONFIG,
        title="Self-check quiz bank",
        json_schema_extra={
            "description": (
                "One quiz of 'ML in Production, the executable companion', checked by "
                "utils.quiz.load_bank. Generated from utils.quiz.bank.Bank by tools/quiz_data.py: "
                "do not edit. Texts use a small MyST subset: paragraphs, '- ' lists, `code`, "
                "**bold**, *italic* and {ref}`label` links. Rules that need more than one field "
                "(one correct option for single choice, ...) are checked by load_bank only."
            )
        },
    )

    id: str = Field(
        strict=True,
        pattern=r"^w[1-3]_(qa|qb|pq)$",
        description="bank name, the file name without .yml",
    )
    title: str = Field(strict=True, min_length=3)
    syllabus: str = Field(
        strict=True,
        pattern=r"^W[1-3]\.(QA|QB|PQ)$",
        description="syllabus ID of the course quiz this bank prepares for",
    )
    page: str = Field(
        strict=True,
        pattern=r"^week[1-3]/quiz_[a-z0-9_]+\.ipynb$",
        description="the notebook that shows the quiz; links are made relative to its folder",
    )
    intro: str = Field(default="", strict=True)
    questions: tuple[Question, ...] = Field(min_length=10)

    @model_validator(mode="after")
    def _unique_ids(self) -> Bank:
        ids = [q.id for q in self.questions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise _rule("questions", f"duplicate question id(s) {dup}")
        return self

    @property
    def page_dir(self) -> str:
        """The folder (relative to the book's root) of the page that shows this quiz."""
        return self.page.rpartition("/")[0]

    def texts(self) -> Iterator[str]:
        """Every text of the bank in MyST markup: prompts, table cells, options, feedback."""
        for q in self.questions:
            yield q.prompt
            yield from (c for row in q.table for c in row)
            for o in q.options:
                yield o.text
                yield o.feedback
            yield q.feedback_correct
            yield q.feedback_incorrect
            yield from (m.feedback for m in q.mistakes)

    def refs(self) -> list[str]:
        """Every label a text of the bank links to, in order of first use, no repeats."""
        seen: dict[str, None] = {}
        for text in self.texts():
            for label in labels_in(text):
                seen.setdefault(label, None)
        return list(seen)
