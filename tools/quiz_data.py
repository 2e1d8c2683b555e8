"""Write the quiz's generated files: its label map and the JSON schema of a bank.

Usage::

    python tools/quiz_data.py           # write both files
    python tools/quiz_data.py --check   # only say whether they are current (exit 1 if not)

``utils/quiz/labels.json`` maps every label that a bank links to (``{ref}`syl-w2-08```) to its
notebook and section title. The quiz reads it at run time instead of scanning the book,
which an installed package does not have; regenerate it when a section the quizzes link to is
renamed or moved, or a bank links to a new one. A link to a label that no page defines is an
error here, as is a label defined twice (``tools/book_labels.py``).

``utils/quiz/banks/schema.json`` is the JSON schema of a bank, generated from the pydantic model
``utils.quiz.bank.Bank``, for editors that check YAML as it is typed (each bank names it in its
first line). The rules that need more than one field are checked by ``load_bank`` only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # utils, from a plain checkout
from book import ROOT
from book_labels import DuplicateLabelError, Label, scan

from utils.quiz import bank_ids, load_bank
from utils.quiz.bank import Bank
from utils.quiz.markup import plain

LABELS_JSON = ROOT / "utils" / "quiz" / "labels.json"
SCHEMA_JSON = ROOT / "utils" / "quiz" / "banks" / "schema.json"
COMMAND = "python tools/quiz_data.py"


class MissingLabelError(ValueError):
    """A bank links to a label that no document of the book defines."""


def label_map(labels: dict[str, Label]) -> dict[str, dict[str, str | None]]:
    """Each label the banks link to -> its document and section title, sorted."""
    wanted: dict[str, list[str]] = {}
    for bank in bank_ids():
        for ref in load_bank(bank).refs():
            wanted.setdefault(ref, []).append(bank)
    missing = sorted(ref for ref in wanted if ref not in labels)
    if missing:
        lines = [f"{ref} (linked from {', '.join(wanted[ref])})" for ref in missing]
        raise MissingLabelError(
            "quiz banks link to labels that no page of the book defines:\n  " + "\n  ".join(lines)
        )
    return {
        ref: {"path": labels[ref].document, "title": plain(labels[ref].heading) or ref}
        for ref in sorted(wanted)
    }


def labels_json(labels: dict[str, Label] | None = None) -> str:
    """The text of ``utils/quiz/labels.json`` for the book as it is now."""
    data = {"generated_by": COMMAND, "labels": label_map(scan() if labels is None else labels)}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def schema_json() -> str:
    """The text of ``utils/quiz/banks/schema.json``: the JSON schema of :class:`Bank`."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Bank.model_json_schema()}
    return json.dumps(schema, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that the files are current"
    )
    args = parser.parse_args(argv)
    try:
        files = {LABELS_JSON: labels_json(), SCHEMA_JSON: schema_json()}
    except (DuplicateLabelError, MissingLabelError) as exc:
        print(f"quiz_data: {exc}", file=sys.stderr)
        return 1
    stale = [
        p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]
    for path in stale:
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"quiz_data: {rel} is out of date: run {COMMAND}", file=sys.stderr)
        else:
            path.write_text(files[path], encoding="utf-8")
            print(f"quiz_data: wrote {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
