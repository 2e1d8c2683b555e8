"""Tests of the self-check quizzes: the banks, the checking logic, the widget and the static HTML."""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, recall_score

from utils import quiz as q
from utils.quiz import links, markup

ROOT = Path(__file__).resolve().parent.parent

BANK_IDS = ["w1_qa", "w1_qb", "w2_qa", "w2_qb", "w3_qa", "w3_pq"]
PAGES = {
    "w1_qa": "week1/quiz_lifecycle.ipynb",
    "w1_qb": "week1/quiz_deployment.ipynb",
    "w2_qa": "week2/quiz_selecting_training.ipynb",
    "w2_qb": "week2/quiz_modeling_challenges.ipynb",
    "w3_qa": "week3/quiz_data_stage.ipynb",
    "w3_pq": "week3/quiz_scoping.ipynb",
}
# A link to a syllabus section: {ref}`syl-w2-08` or {ref}`some text <syl-w2-08>`.
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?syl-w\d-[0-9a-z]+>?`")


def raw(bank_id: str) -> dict:
    return yaml.safe_load((q.BANKS_DIR / f"{bank_id}.yml").read_text(encoding="utf-8"))


def page_text(page: str) -> str:
    """The HTML of a rendered quiz with its JSON data decoded, so feedback can be searched too."""
    blob = re.search(r'<script type="application/json" class="mlq-data">(.*?)</script>', page, re.S)
    assert blob is not None, "the quiz has no answer data"
    return page + json.dumps(
        json.loads(blob.group(1).replace("<\\/", "</")), ensure_ascii=False
    ).replace('\\"', '"')


def all_labels(bank: q.Bank, path: str = "week2/03_notes.ipynb") -> dict[str, q.LabelTarget]:
    """A label map in which every link target of ``bank`` exists, in one notes notebook."""
    return {lab: q.LabelTarget(lab, path, f"Section {lab}") for lab in bank.refs()}


@pytest.fixture(scope="module")
def banks() -> dict[str, q.Bank]:
    return {b: q.load_bank(b) for b in BANK_IDS}


# ------------------------------------------------------------------ the banks


def test_every_quiz_has_a_bank() -> None:
    assert q.bank_ids() == sorted(BANK_IDS)


def test_banks_name_the_generated_schema_for_editors() -> None:
    # tools/quiz_data.py writes banks/schema.json from the model (tests/test_quiz_data.py checks
    # that it is current); a YAML editor finds it through each bank's first line.
    for bank_id in BANK_IDS:
        first = (q.BANKS_DIR / f"{bank_id}.yml").read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=schema.json", bank_id


@pytest.mark.parametrize("bank_id", BANK_IDS)
def test_bank_rules(bank_id: str, banks: dict[str, q.Bank]) -> None:
    bank = banks[bank_id]
    assert bank.id == bank_id
    assert bank.page == PAGES[bank_id]
    assert bank.syllabus == bank_id.replace("_", ".").upper()
    assert len(bank.questions) >= 10
    kinds = Counter(x.kind for x in bank.questions)
    assert kinds["single"] >= 3 and kinds["multiple"] >= 1 and kinds["numeric"] >= 1, kinds
    week = bank_id[1]
    for question in bank.questions:
        assert question.id.startswith(f"w{week}{bank_id[3:]}-")
        if question.kind == "single":
            assert sum(o.correct for o in question.options) == 1, question.id
        elif question.kind == "multiple":
            assert sum(o.correct for o in question.options) >= 1, question.id
        else:
            assert question.answer is not None and np.isfinite(question.answer)
            assert question.tolerance is not None and question.tolerance > 0
            texts = [question.feedback_correct, question.feedback_incorrect]
            texts += [m.feedback for m in question.mistakes]
            assert all(REF.search(t) for t in texts), question.id
        for option in question.options:
            assert REF.search(option.feedback), (question.id, option)
            assert len(option.feedback) > 40, (question.id, option.text)


def test_question_ids_are_unique_across_banks(banks: dict[str, q.Bank]) -> None:
    ids = [x.id for b in banks.values() for x in b.questions]
    assert len(ids) == len(set(ids))


def test_prompts_are_not_repeated(banks: dict[str, q.Bank]) -> None:
    prompts = [x.prompt for b in banks.values() for x in b.questions]
    assert len(prompts) == len(set(prompts))


def _valid_raw() -> dict:
    return copy.deepcopy(raw("w2_qb"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["questions"][0]["options"][1].update(correct=True), "exactly one correct"),
        (
            lambda d: [o.update(correct=False) for o in d["questions"][6]["options"]],
            "at least one correct",
        ),
        (lambda d: d["questions"][0]["options"][0].pop("feedback"), "feedback"),
        (
            lambda d: d["questions"][0]["options"][0].update(
                feedback="Right, this is the one to pick."
            ),
            "{ref}",
        ),
        (lambda d: d["questions"][3].update(tolerance=0), "tolerance"),
        (
            lambda d: d["questions"][3]["mistakes"].append(
                {"value": 0.667, "feedback": "Close to the key: see {ref}`syl-w2-08` for why."}
            ),
            "within the tolerance",
        ),
        (lambda d: d["questions"][1].update(id=d["questions"][0]["id"]), "duplicate"),
        (lambda d: d.update(questions=d["questions"][:9]), "questions"),
        (lambda d: d["questions"][0].update(kind="essay"), "kind"),
        (lambda d: d["questions"][3].update(answer=float("nan")), "finite number"),
        (lambda d: d["questions"][3].update(answer="0.67"), "answer"),
        (
            lambda d: d["questions"][0]["options"][1].update(
                text=d["questions"][0]["options"][0]["text"]
            ),
            "same text",
        ),
        (lambda d: d["questions"][0].update(tolerance=0.1), "has no tolerance"),
        (lambda d: d["questions"][0].update(colour="red"), "colour: is not a known field"),
        (lambda d: d["questions"][0]["options"][0].update(correct="yes"), "correct"),
    ],
)
def test_invalid_banks_are_rejected(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _valid_raw()
    mutate(data)
    with pytest.raises(ValueError, match=re.escape(message)):
        q.validate_bank(data)


def test_error_messages_name_the_file_the_question_and_the_field(tmp_path: Path) -> None:
    """One message lists every problem, each with the question's number and id and the field."""
    data = _valid_raw()
    first, fourth = data["questions"][0]["id"], data["questions"][3]["id"]
    data["questions"][0]["options"][2]["feedback"] = "No link here, only words to read."
    data["questions"][3]["tolerance"] = 0
    data["title"] = 7
    path = tmp_path / "w2_qb.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        q.load_bank(path)
    assert str(info.value).splitlines() == [
        "w2_qb.yml is not a valid quiz bank:",
        "  title: Input should be a valid string",
        f"  question 1 ({first!r}), options[2].feedback: a feedback text has no {{ref}} link to a "
        "syllabus section: 'No link here, only words to read.'",
        f"  question 4 ({fourth!r}), tolerance: Input should be greater than 0",
    ]


def test_the_model_returns_what_the_bank_says() -> None:
    data = _valid_raw()
    bank = q.validate_bank(data, name="w2_qb.yml")
    assert bank == q.load_bank("w2_qb")
    numeric = next(x for x in bank.questions if x.kind == "numeric")
    written = next(x for x in data["questions"] if x["id"] == numeric.id)
    assert numeric.answer == written["answer"] and isinstance(numeric.answer, float)
    assert numeric.feedback_correct == written["feedback"]["correct"].strip()
    assert bank.questions[0].prompt == data["questions"][0]["prompt"].strip()
    with pytest.raises(ValueError, match="frozen"):
        bank.questions[0].options[0].correct = False  # type: ignore[misc]


def test_load_bank_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown.*w1_qa"):
        q.load_bank("w9_zz")
    with pytest.raises(TypeError, match="bank must be"):
        q.load_bank(3)  # type: ignore[arg-type]
    bad = tmp_path / "bad.yml"
    bad.write_text("id: w1_qa\ntitle: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yml is not a valid quiz bank"):
        q.load_bank(bad)


# ------------------------------------------------------------------ numeric keys from first principles


def _table(bank: q.Bank, qid: str) -> list[list[str]]:
    return [list(r) for r in next(x for x in bank.questions if x.id == qid).table]


def _in_prompt(question: q.Question, *numbers: str) -> None:
    text = question.prompt + " " + " ".join(" ".join(r) for r in question.table)
    for n in numbers:
        assert n in text, f"{question.id}: the prompt no longer says {n!r}; recompute the key"


def _confusion_to_labels(tp: int, fn: int, fp: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.repeat([1, 1, 0, 0], [tp, fn, fp, tn])
    y_pred = np.repeat([1, 0, 1, 0], [tp, fn, fp, tn])
    return y_true, y_pred


def _truth(bank: q.Bank, question: q.Question) -> float:
    """The right answer of each numeric question, computed independently of its key."""
    qid = question.id
    if qid == "w1qa-latency-budget":
        _in_prompt(question, "500 ms", "180 ms", "120 ms")
        return 500 - (180 + 120)
    if qid == "w1qb-canary-requests":
        _in_prompt(question, "200,000", "1 %", "5 %", "25 %")
        per_day = 200_000
        return float(sum(per_day * share for share in (0.01, 0.05, 0.25)))
    if qid == "w1qb-shadow-agreement":
        _in_prompt(question, "800", "736")
        model = np.zeros(800, dtype=int)
        human = np.where(np.arange(800) < 800 - 736, 1, 0)  # they differ on 64 phones
        return float(accuracy_score(human, model))
    if qid == "w2qa-gap-closed":
        _in_prompt(question, "81 %", "86 %", "90 %")
        return (86 - 81) / (90 - 81)
    if qid == "w2qb-constant-accuracy":
        _in_prompt(question, "1,000", "20")
        y_true = np.r_[np.ones(20, int), np.zeros(980, int)]
        return float(accuracy_score(y_true, np.zeros(1000, int)))
    if qid == "w2qb-f1":
        t = _table(bank, qid)
        assert t[1][0] == "actual defect" and t[0][1] == "predicted defect"
        tp, fn, fp, tn = int(t[1][1]), int(t[1][2]), int(t[2][1]), int(t[2][2])
        y_true, y_pred = _confusion_to_labels(tp, fn, fp, tn)
        return float(f1_score(y_true, y_pred))
    if qid == "w2qb-weighted-gap":
        t = _table(bank, qid)
        assert t[0] == ["tag", "model accuracy", "human-level accuracy", "share of data"]
        acc = np.array([float(r[1]) for r in t[1:]])
        hlp = np.array([float(r[2]) for r in t[1:]])
        share = np.array([float(r[3].rstrip(" %")) / 100 for r in t[1:]])
        assert share.sum() == pytest.approx(1.0)
        return float(np.max(np.clip(hlp - acc, 0, None) * share))
    if qid == "w2qb-error-ceiling":
        _in_prompt(question, "10 %", "200", "68")
        blurry_share = 68 / 200
        return 10 * (1 - blurry_share)
    if qid == "w3qa-kappa":
        t = _table(bank, qid)
        assert t[1][0] == "A says defect" and t[0][1] == "B says defect"
        both_d, a_d_b_ok, a_ok_b_d, both_ok = int(t[1][1]), int(t[1][2]), int(t[2][1]), int(t[2][2])
        a = np.repeat([1, 1, 0, 0], [both_d, a_d_b_ok, a_ok_b_d, both_ok])
        b = np.repeat([1, 0, 1, 0], [both_d, a_d_b_ok, a_ok_b_d, both_ok])
        assert len(a) == 20
        return float(cohen_kappa_score(a, b))
    if qid == "w3pq-history":
        _in_prompt(question, "9 %", "5 %", "30 %")
        return 9 - 0.30 * (9 - 5)
    if qid == "w3pq-value-estimate":
        _in_prompt(question, "1,500", "40 euros", "0.90", "0.95")
        missed = {r: 1500 * (1 - r) for r in (0.90, 0.95)}
        return (missed[0.90] - missed[0.95]) * 40
    raise AssertionError(f"numeric question {qid} has no independent check in tests/test_quiz.py")


NUMERIC = [(b, x.id) for b in BANK_IDS for x in q.load_bank(b).questions if x.kind == "numeric"]


@pytest.mark.parametrize(("bank_id", "qid"), NUMERIC)
def test_numeric_keys_are_right(bank_id: str, qid: str, banks: dict[str, q.Bank]) -> None:
    bank = banks[bank_id]
    question = next(x for x in bank.questions if x.id == qid)
    truth = _truth(bank, question)
    assert question.answer is not None and question.tolerance is not None
    assert abs(question.answer - truth) <= question.tolerance / 2, (qid, question.answer, truth)
    assert q.evaluate(question, truth).correct
    assert q.evaluate(question, f"{truth:.4f}").correct
    for m in question.mistakes:  # a typical slip must be marked wrong and get its own feedback
        verdict = q.evaluate(question, m.value)
        assert verdict.status == "incorrect" and verdict.feedback == (m.feedback,)


def test_constant_predictor_recall_key(banks: dict[str, q.Bank]) -> None:
    question = next(x for x in banks["w2_qb"].questions if x.id == "w2qb-constant-recall")
    y_true = np.r_[np.ones(20, int), np.zeros(980, int)]
    recall = recall_score(y_true, np.zeros(1000, int), zero_division=np.nan)
    right = question.options[question.correct_options[0]]
    assert float(right.text) == recall == 0.0


# ------------------------------------------------------------------ checking answers


W2_QB = q.load_bank("w2_qb")


def _question(kind: str) -> q.Question:
    return next(x for x in W2_QB.questions if x.kind == kind)


def test_evaluate_single_and_multiple() -> None:
    single = _question("single")
    right = single.correct_options[0]
    wrong = next(i for i in range(len(single.options)) if i != right)
    assert q.evaluate(single, right).correct
    verdict = q.evaluate(single, wrong)
    assert verdict.status == "incorrect" and verdict.feedback == (single.options[wrong].feedback,)
    assert q.evaluate(single, None).status == "unanswered"
    with pytest.raises(ValueError, match="out of range"):
        q.evaluate(single, len(single.options))
    with pytest.raises(ValueError, match="option index"):
        q.evaluate(single, "0")

    multi = _question("multiple")
    good = set(multi.correct_options)
    bad = next(i for i in range(len(multi.options)) if i not in good)
    assert q.evaluate(multi, good).correct
    partial = q.evaluate(multi, sorted(good)[:1])
    assert partial.status == ("correct" if len(good) == 1 else "incorrect")
    assert partial.missed == len(good) - 1
    over = q.evaluate(multi, good | {bad})
    assert over.status == "incorrect" and (bad, False) in over.marks and over.missed == 0
    assert q.evaluate(multi, []).status == "unanswered"
    with pytest.raises(ValueError, match="iterable"):
        q.evaluate(multi, "01")


def test_parse_number() -> None:
    assert q.parse_number("0.75") == 0.75
    assert q.parse_number(" 0,75 ") == 0.75
    assert q.parse_number("7.5e-1") == 0.75
    assert q.parse_number("1 500") == 1500
    assert q.parse_number(".5") == 0.5
    for bad in ("", "abc", "1.2.3", "0x10", "nan", "inf", None, True, float("nan")):
        assert q.parse_number(bad) is None, bad
    numeric = _question("numeric")
    assert q.evaluate(numeric, "abc").status == "invalid"
    assert q.evaluate(numeric, "  ").status == "unanswered"


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-1.0, max_value=1.0))
def test_numeric_tolerance_property(shift: float) -> None:
    numeric = _question("numeric")
    assert numeric.answer is not None and numeric.tolerance is not None
    value = numeric.answer + shift * numeric.tolerance
    assert q.evaluate(numeric, value).correct
    far = numeric.answer + (2 + abs(shift)) * numeric.tolerance
    assert not q.evaluate(numeric, far).correct


def test_display_order_is_a_fixed_permutation(banks: dict[str, q.Bank]) -> None:
    positions = []
    identity = 0
    for bank in banks.values():
        for x in bank.questions:
            if x.kind == "numeric":
                continue
            order = q.display_order(x)
            assert sorted(order) == list(range(len(x.options)))
            assert order == q.display_order(x)
            identity += order == sorted(order)
            positions.append(order.index(x.correct_options[0]))
    # the shuffle moves the first-written (often the right) option around
    assert identity <= len(positions) // 4
    assert len(set(positions)) >= 3


# ------------------------------------------------------------------ labels and links


def test_links_in_html_and_in_jupyterlab(banks: dict[str, q.Bank]) -> None:
    bank = banks["w1_qa"]  # page in week1/, notes in week2/ for the test
    labels = all_labels(bank)
    page = q.render_html(bank, labels=labels, strict=True)
    hrefs = set(re.findall(r'class="mlq-ref" href="([^"]+)"', page_text(page)))
    assert hrefs == {f"../week2/03_notes.html#{lab}" for lab in bank.refs()}
    quiz = q.Quiz(bank, labels=labels, strict=True)
    quiz.answer(0, 0)
    assert (
        '<a class="mlq-ref" href="../week2/03_notes.ipynb#syl-w1-01" '
        'data-mlq-label="syl-w1-01">Section syl-w1-01</a>'
    ) in quiz.feedback(0)


def test_feedback_in_jupyterlab_is_rendered_by_jupyterlab(banks: dict[str, q.Bank]) -> None:
    """The feedback is text/html in an Output widget, so JupyterLab renders it and its link
    handler opens the links in the same window; lab_links.js then scrolls to the heading."""
    bank = banks["w1_qa"]
    quiz = q.Quiz(bank, labels=all_labels(bank), strict=True)
    quiz.answer(0, 0)
    shown = quiz._parts[0]["output"].outputs[0]["data"]
    assert shown["text/html"].startswith(f'<div class="mlq-feedback">{quiz.feedback(0)}</div>')
    assert (
        shown["text/html"].endswith("</script>")
        and "a.mlq-ref[data-mlq-label]" in shown["text/html"]
    )
    assert "Section syl-w1-01" in shown["text/plain"] and "<" not in shown["text/plain"]
    # a prompt without a link stays an HTML widget; the static HTML has no script of the lab
    assert type(quiz._parts[0]["head"]).__name__ == "HTML"
    assert "data-mlq-label" not in quiz.to_html()


def test_the_shipped_label_map_resolves_every_link(banks: dict[str, q.Bank]) -> None:
    """``labels.json`` (tools/quiz_data.py; tests/test_quiz_data.py checks it is current)."""
    shipped = q.load_labels()
    for bank in banks.values():
        for label in bank.refs():
            target = shipped[label]
            assert target.path.endswith(".ipynb") and target.title, target
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no QuizLinkWarning
        for bank in banks.values():
            q.render_html(bank)


def test_unknown_label_strict_and_lenient(banks: dict[str, q.Bank]) -> None:
    bank = banks["w3_pq"]
    labels = all_labels(bank)
    del labels["syl-w3-15"]
    with pytest.raises(ValueError, match="syl-w3-15"):
        q.render_html(bank, labels=labels, strict=True)
    with pytest.raises(ValueError, match="syl-w3-15"):
        q.Quiz(bank, labels=labels, strict=True)
    with pytest.warns(q.QuizLinkWarning, match=r"1 link target.*syl-w3-15.*tools/quiz_data\.py"):
        page = q.render_html(bank, labels=labels)
    assert '<span class="mlq-ref-missing">syllabus item W3.15</span>' in page_text(page)
    assert "syl-w3-15.html" not in page


# ------------------------------------------------------------------ the widget


@pytest.mark.parametrize("bank_id", BANK_IDS)
def test_widget_scores_and_resets(bank_id: str, banks: dict[str, q.Bank]) -> None:
    bank = banks[bank_id]
    quiz = q.Quiz(bank, labels=all_labels(bank), strict=True)
    total = len(bank.questions)
    assert quiz.score_text == f"Score: 0 / {total} (0 of {total} checked)"
    for k, x in enumerate(bank.questions):  # first a wrong answer everywhere
        if x.kind == "single":
            wrong: object = next(i for i, o in enumerate(x.options) if not o.correct)
        elif x.kind == "multiple":
            wrong = [i for i, o in enumerate(x.options) if not o.correct] or []
            if not wrong:  # every option applies: leaving one out is wrong
                wrong = list(x.correct_options[1:])
        else:
            wrong = x.answer + 10 * x.tolerance + 1  # type: ignore[operator]
        verdict = quiz.answer(k, wrong)
        assert verdict is not None and verdict.status == "incorrect", x.id
        assert q.UI_TEXT["incorrect"] in quiz.feedback(k)
    assert (quiz.score, quiz.checked) == (0, total)
    for k, x in enumerate(bank.questions[:-1]):  # then right answers, all but the last
        right = (
            x.answer
            if x.kind == "numeric"
            else (x.correct_options[0] if x.kind == "single" else x.correct_options)
        )
        assert quiz.answer(k, right).correct, x.id  # type: ignore[union-attr]
        assert q.UI_TEXT["correct"] in quiz.feedback(k)
    assert quiz.score == total - 1
    assert quiz.score_text == f"Score: {total - 1} / {total} ({total} of {total} checked)"
    assert quiz._score_label.value == f"<p><strong>{quiz.score_text}</strong></p>"
    quiz.reset()
    assert (quiz.score, quiz.checked) == (0, 0)
    assert quiz.feedback(0) == "" and quiz.status(0) is None
    for part in quiz._parts:
        assert part["output"].outputs == ()
        if "boxes" in part:
            assert not any(b.value for b in part["boxes"].values())
        else:
            assert part["input"].value in (None, "")


def test_widget_shows_the_chosen_option_feedback(banks: dict[str, q.Bank]) -> None:
    bank = banks["w2_qb"]
    quiz = q.Quiz(bank, labels=all_labels(bank), strict=True)
    single = next(k for k, x in enumerate(bank.questions) if x.kind == "single")
    x = bank.questions[single]
    wrong = next(i for i, o in enumerate(x.options) if not o.correct)
    quiz.answer(single, wrong)
    shown = quiz._parts[single]["output"].outputs[0]["data"]["text/html"]
    assert markup.plain(x.options[wrong].feedback).split(" See ")[0] in re.sub(
        r"<[^>]+>", "", shown
    )
    # the radio buttons list the options in the shuffled order, with plain-text labels
    radio = quiz._parts[single]["input"]
    assert [v for _, v in radio.options] == q.display_order(x)
    # unanswered and invalid answers are not counted
    numeric = next(k for k, x in enumerate(bank.questions) if x.kind == "numeric")
    assert quiz.answer(numeric, "twelve").status == "invalid"  # type: ignore[union-attr]
    assert quiz.check(numeric).status == "invalid"
    assert quiz.status(numeric) == "invalid" and quiz.checked == 1
    assert quiz.answer(bank.questions[numeric].id, None).status == "unanswered"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="question index"):
        quiz.answer(99, 0)
    with pytest.raises(ValueError, match="not in bank"):
        quiz.answer("w9zz-nope", 0)
    with pytest.raises(ValueError, match="iterable"):
        multi = next(k for k, x in enumerate(bank.questions) if x.kind == "multiple")
        quiz.answer(multi, 1)


def test_mimebundle_has_widget_and_html(banks: dict[str, q.Bank]) -> None:
    bank = banks["w3_qa"]
    quiz = q.Quiz(bank, labels=all_labels(bank), strict=True)
    data = quiz._repr_mimebundle_()
    assert set(data) == {"text/html", "text/plain", "application/vnd.jupyter.widget-view+json"}
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == quiz.widget.model_id and view["version_major"] == 2
    assert data["text/html"] == quiz.to_html() == q.render_html(bank, labels=all_labels(bank))
    assert data["text/plain"].startswith("Quiz W3.QA: ")


def test_show_returns_a_quiz() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", q.QuizLinkWarning)
        quiz = q.show("w1_qb")
    assert isinstance(quiz, q.Quiz) and quiz.total == len(q.load_bank("w1_qb").questions)


# ------------------------------------------------------------------ the static HTML


@pytest.mark.parametrize("bank_id", BANK_IDS)
def test_html_is_deterministic_and_complete(bank_id: str, banks: dict[str, q.Bank]) -> None:
    bank = banks[bank_id]
    labels = all_labels(bank)
    page = q.render_html(bank, labels=labels, strict=True)
    assert page == q.render_html(q.load_bank(bank_id), labels=dict(labels), strict=True)
    assert page.count('<li class="mlq-question"') == len(bank.questions)
    assert "<script>" in page and "<style>" in page  # assets inlined: nothing to fetch
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    blob = re.search(r'<script type="application/json" class="mlq-data">(.*?)</script>', page, re.S)
    assert blob is not None
    data = json.loads(blob.group(1).replace("<\\/", "</"))
    assert data["id"] == bank_id and len(data["questions"]) == len(bank.questions)
    for n, (x, d) in enumerate(zip(bank.questions, data["questions"], strict=True), start=1):
        assert f'data-qid="{x.id}"' in page
        assert markup.inline(x.prompt.split("\n")[0][:40], None) in page
        assert d["kind"] == x.kind
        if x.kind == "numeric":
            assert d["answer"] == x.answer and d["tolerance"] == x.tolerance
            assert f'id="mlq-{bank_id}-q{n}-input"' in page
            continue
        order = q.display_order(x)
        assert [o["correct"] for o in d["options"]] == [x.options[i].correct for i in order]
        kind = "radio" if x.kind == "single" else "checkbox"
        inputs = re.findall(rf'<input type="{kind}" name="mlq-{bank_id}-q{n}" value="(\d+)">', page)
        assert inputs == [str(i) for i in range(len(order))]
        for pos, i in enumerate(order):  # each option shown, with its feedback in the data
            assert markup.inline(x.options[i].text, None) in page
            assert d["options"][pos]["feedback"] == markup.blocks(
                x.options[i].feedback, links.Linker(labels, bank.page_dir, "html", True)
            )
    assert page.count('aria-live="polite"') == len(bank.questions) + 1
    assert 'class="mlq-reset"' in page


def test_markup_is_escaped_and_rendered() -> None:
    linker = links.Linker(
        {"syl-w2-08": q.LabelTarget("syl-w2-08", "week2/a.ipynb", "Skewed")}, "week2", "html", True
    )
    out = markup.blocks(
        "Use `F1 <b>` on **rare** and *skewed* data; {ref}`the notes <syl-w2-08>`.\n\n- one\n- two",
        linker,
    )
    assert out == (
        "<p>Use <code>F1 &lt;b&gt;</code> on <strong>rare</strong> and <em>skewed</em> "
        'data; <a class="mlq-ref" href="a.html#syl-w2-08">the notes</a>.</p>'
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert markup.plain("Use `x` and **y** {ref}`syl-w1-03`") == "Use x and y syllabus item W1.03"
    assert markup.blocks("2 * 3 * 4 and a<b", None) == "<p>2 * 3 * 4 and a&lt;b</p>"


@pytest.mark.slow
def test_quiz_in_a_real_kernel() -> None:
    """Display the quiz in an IPython kernel and answer it through the widget API there."""
    import nbformat
    from nbclient import NotebookClient

    code = [
        "import warnings\nimport utils\nwarnings.simplefilter('ignore')\n"
        "quiz = utils.quiz.show('w2_qb')\nquiz",
        "bank = quiz.bank\n"
        "for k, x in enumerate(bank.questions):\n"
        "    right = x.answer if x.kind == 'numeric' else (\n"
        "        x.correct_options[0] if x.kind == 'single' else x.correct_options)\n"
        "    quiz.answer(k, right if k % 2 == 0 else None)\n"
        "print(quiz.score_text)\nquiz.reset()\nprint(quiz.score_text)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    shown = next(o for o in nb.cells[0].outputs if o.output_type == "execute_result")
    assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= set(shown.data)
    assert shown.data["text/html"].startswith('<div class="mlq-quiz" id="mlq-w2_qb"')
    total = len(W2_QB.questions)
    half = (total + 1) // 2
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert printed.splitlines() == [
        f"Score: {half} / {total} ({half} of {total} checked)",
        f"Score: 0 / {total} (0 of {total} checked)",
    ]
