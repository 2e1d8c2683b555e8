"""Reading quiz banks: the YAML files shipped with the package, checked by the model.

:func:`load_bank` reads a bank (at most a megabyte, no YAML aliases), and :func:`validate_bank`
checks it against :class:`~utils.quiz.bank.Bank`, listing every problem with the bank's file
name, the question's number and id and the field at fault, for the bank's author to fix.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first) through
:func:`~utils.quiz.widget.show`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from utils.quiz.bank import Bank

__all__ = ["BANKS_DIR", "bank_ids", "load_bank", "validate_bank"]

#: The banks shipped with the package, one YAML file per quiz (a folder, or a folder in a zip).
#:
#: :meta hide-value:
BANKS_DIR = files("utils.quiz") / "banks"

# A bank is a few dozen kilobytes; these bounds are checked before any parsing or validation.
_MAX_BANK_BYTES = 1 << 20  # size of a bank file
_MAX_BANK_VALUES = 100_000  # values (mappings, lists, strings, numbers) in a bank
_MAX_BANK_CHARS = 1 << 20  # characters of text in a bank
_MAX_PROBLEMS = 20  # problems listed in one error message


# --------------------------------------------------------------------------------------------
# Validation messages a bank author can act on: the file, the question and the field
# --------------------------------------------------------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (a typo?)",
    "too_short": "needs at least {min_length} item(s), has {actual_length}",
    "too_long": "may have at most {max_length} item(s), has {actual_length}",
}


def _question_id(data: Any, index: int) -> Any:
    questions = data.get("questions") if isinstance(data, Mapping) else None
    if isinstance(questions, list | tuple) and index < len(questions):
        question = questions[index]
        if isinstance(question, Mapping):
            return question.get("id")
    return None


def _where(loc: tuple[int | str, ...], field: str, data: Any) -> str:
    """``("questions", 3, "options", 1, "feedback")`` -> ``question 4 ('w2qb-f1'), options[1].feedback``."""
    parts: list[str] = []
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "questions" and isinstance(rest[1], int):
        parts.append(f"question {rest[1] + 1} ({_question_id(data, rest[1])!r})")
        rest = rest[2:]
    path = ""
    for step in rest:
        path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else str(step))
    if field:
        path += f".{field}" if path else field
    if path:
        parts.append(path)
    return ", ".join(parts) or "the bank"


def _describe(error: ErrorDetails, data: Any) -> str:
    """One problem, for a bank author: where (question number and id, field) and what."""
    ctx = error.get("ctx") or {}
    message = error["msg"]
    if error["type"] in _MESSAGES:
        with contextlib.suppress(KeyError):  # pydantic gives these keys; keep its words if not
            message = _MESSAGES[error["type"]].format(**ctx)
    elif error["type"] == "model_type" and not error["loc"]:
        message = (
            f"a bank is a mapping of fields (id, title, ...), got {type(error['input']).__name__}"
        )
    return f"{_where(tuple(error['loc']), str(ctx.get('field', '')), data)}: {message}"


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
        raise ValueError(
            f"{name} is too large to be a quiz bank: more than "
            f"{_MAX_BANK_VALUES:,} values or {_MAX_BANK_CHARS:,} characters"
        )


def validate_bank(data: Any, *, name: str = "bank") -> Bank:
    """Check a raw bank (as read from YAML) against :class:`~utils.quiz.bank.Bank`; return it.

    First the size: a bank with more than 100,000 values or a million characters of text is
    refused before anything else looks at it. Then the model: every problem is listed (up to
    twenty), each with the question's number and id and the field at fault, in one
    :class:`ValueError` whose first line names the bank (``name``, the file name).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    _check_size(data, name)
    try:
        return Bank.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(e, data) for e in exc.errors(include_url=False)]
    more = len(problems) - _MAX_PROBLEMS
    listed = problems[:_MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
    raise ValueError(f"{name} is not a valid quiz bank:\n  " + "\n  ".join(listed))


# --------------------------------------------------------------------------------------------
# Reading banks
# --------------------------------------------------------------------------------------------


def _folder(path: Path | str | None, name: str) -> Traversable:
    """``path`` as a folder that exists (default: the banks shipped with the package)."""
    if path is None:
        return BANKS_DIR
    if not isinstance(path, str | Path):
        raise TypeError(f"{name} must be a folder (a str or Path), got {type(path).__name__}")
    if not Path(path).is_dir():
        raise ValueError(f"{name} {str(path)!r} is not a folder")
    return Path(path)


def _yml_files(folder: Traversable) -> Iterable[Traversable]:
    return (p for p in folder.iterdir() if p.name.endswith(".yml") and p.is_file())


def bank_ids(banks_dir: Path | str | None = None) -> list[str]:
    """Names of the banks in ``banks_dir`` (default: the banks shipped with the package), sorted.

    Raises ``ValueError`` when ``banks_dir`` is not a folder (rather than finding no bank).
    """
    return sorted(p.name.removesuffix(".yml") for p in _yml_files(_folder(banks_dir, "banks_dir")))


@cache
def _no_alias_loader() -> type:
    """PyYAML's safe loader, refusing aliases: a few nested anchors expand a few hundred bytes
    into millions of values (the "billion laughs"), and no bank needs one."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise ValueError(
                    f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) "
                    "are not allowed in a quiz bank; write the value out"
                )
            return super().compose_node(parent, index)

    return NoAliasLoader


def _read_yaml(source: Traversable) -> Any:
    """Parse a bank file: at most a megabyte, no aliases; errors name the file."""
    import yaml

    raw = source.read_bytes()
    if len(raw) > _MAX_BANK_BYTES:
        raise ValueError(
            f"{source.name} is {len(raw):,} bytes; a quiz bank may have at most {_MAX_BANK_BYTES:,}"
        )
    try:
        return yaml.load(raw.decode("utf-8"), Loader=_no_alias_loader())  # a SafeLoader
    except UnicodeDecodeError:
        raise ValueError(f"{source.name} is not UTF-8 text") from None
    except ValueError as exc:
        raise ValueError(f"{source.name}, {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{source.name} is not valid YAML: {exc}") from None


def load_bank(bank: str | Path, *, banks_dir: Path | str | None = None) -> Bank:
    """Read and validate a bank: ``"w1_qa"`` (looked up in ``banks_dir``, by default the banks
    shipped with the package) or a path to a YAML file."""
    if not isinstance(bank, str | Path):
        raise TypeError(f"bank must be a bank name or a path, got {type(bank).__name__}")
    source: Traversable
    if Path(bank).suffix not in (".yml", ".yaml"):
        folder = _folder(banks_dir, "banks_dir")
        source = folder / f"{bank}.yml"
        if not source.is_file():
            known = ", ".join(bank_ids(banks_dir)) or "none"
            raise ValueError(f"bank {bank!r} is unknown; the banks are: {known}")
    else:
        source = Path(bank)
        if not source.is_file():
            raise ValueError(f"bank {str(bank)!r} is not a file")
    return validate_bank(_read_yaml(source), name=source.name)
