import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command
from django.db.models import RestrictedError

from tests.factories import QuestionFactory, knowledge_points_named, subject
from tutoring.core.errors import ServiceError
from tutoring.library import services
from tutoring.library.index import index_get, index_reset, index_snapshot_save, model_name
from tutoring.library.models import Answer, Entry, Feedback, Match
from tutoring.library.services import (
    entry_save,
    entry_withdraw,
    library_search_result,
    question_feedback,
    question_match,
)
from tutoring.questions.events import question_group
from tutoring.questions.models import Question
from tutoring.questions.services import question_text_correct
from tutoring.routing.models import Ticket

pytestmark = pytest.mark.django_db

APPLES = "小明有12个苹果，吃了5个，还剩几个？"
TIMES = "一个数的3倍加5等于20，这个数是多少？"


def answered(text: str, *, grade: int = 3, subject: str = "数学", external_id: str | None = None) -> Entry:
    entry, _ = entry_save(text=text, subject=subject, grade=grade, solution="12-5=7（个）", external_id=external_id)
    return entry


def test_entry_save_with_a_solution_is_searchable_at_once():
    entry = answered(APPLES, external_id="apples-1")

    assert (entry.subject.code, entry.grade, entry.status, entry.external_id) == ("math", 3, "active", "apples-1")
    assert [(a.kind, a.status, a.solution) for a in entry.answers.all()] == [("solution", "ready", "12-5=7（个）")]
    assert index_get().ids() == {entry.pk}


def test_entry_save_with_an_external_id_updates_instead_of_duplicating():
    first = answered(APPLES, external_id="apples-1")

    second, created = entry_save(text=TIMES, subject="math", grade=4, solution="(20-5)÷3=5", external_id="apples-1")

    assert (created, second.pk, second.text, second.grade) == (False, first.pk, TIMES, 4)
    assert Entry.objects.count() == 1
    assert list(Answer.objects.values_list("solution", flat=True)) == ["(20-5)÷3=5"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": ""}, "empty_text"),
        ({"text": "题" * 2001}, "text_too_long"),
        ({"text": "Сколько будет два плюс два?"}, "unsupported_language"),
        ({"subject": "炼金术"}, "unknown_subject"),
        ({"grade": 13}, "unknown_grade"),
        ({"grade": "三"}, "unknown_grade"),
        ({"subject": "物理"}, "unknown_grade"),  # not taught in grade 3
        ({"solution": ""}, "no_answer"),
        ({"knowledge_points": ["炼金"]}, "unknown_knowledge_point"),
    ],
)
def test_entry_save_bad_input_writes_nothing(fields, code):
    arguments = {"text": APPLES, "subject": "数学", "grade": 3, "solution": "7个", **fields}

    with pytest.raises(ServiceError) as raised:
        entry_save(**arguments)

    assert raised.value.code == code
    assert (Entry.objects.count(), Answer.objects.count()) == (0, 0)


def test_withdrawn_entries_leave_the_index():
    kept, withdrawn = answered(APPLES), answered(TIMES, grade=4)
    assert index_get().ids() == {kept.pk, withdrawn.pk}

    entry_withdraw(entry=withdrawn)

    assert index_get().ids() == {kept.pk}


def test_a_restarted_process_loads_the_snapshot_and_catches_up_with_the_database():
    before = answered(APPLES)
    index_snapshot_save()
    index_reset()  # the process restarts
    after = answered(TIMES, grade=4)

    assert index_get().ids() == {before.pk, after.pk}


def test_a_snapshot_of_an_older_format_is_not_loaded_but_rebuilt_with_its_lexical_index(settings):
    entry = answered(APPLES)
    index_snapshot_save()
    meta = Path(settings.XUEWEN["INDEX_DIR"]) / "meta.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"format": 1}))
    index_reset()

    found = index_get().lexical_search("还剩几个苹果", subject="math", grades=None, k=5)

    # 还 剩 几个 苹果 once each in a document of average length (12 words) against the 4-word query: 1.0 / 1.375
    assert [(found_entry.id, round(relevance, 3)) for found_entry, relevance in found] == [(entry.pk, 0.727)]
    assert json.loads(meta.read_text())["format"] == 1  # rebuilt in memory; the next snapshot writes format 2


def test_the_same_question_is_offered_first():
    entry = answered(APPLES)
    # As OCR returns a photographed textbook question: half-width punctuation, stray spaces.
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text="小明有12个苹果, 吃了5个, 还剩几个?")

    question_match(question_id=question.pk)

    question.refresh_from_db()
    assert (question.status, question.match_outcome) == (Question.Status.UNDERSTOOD, "same")
    assert [(m.entry_id, m.rank, m.label) for m in Match.objects.filter(question=question)] == [(entry.pk, 0, "same")]


def test_a_question_that_differs_in_an_operator_is_similar_not_the_same():
    entry = answered(TIMES, grade=4)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, grade=4, text="一个数的3倍减5等于20，这个数是多少？")

    question_match(question_id=question.pk)

    question.refresh_from_db()
    assert question.match_outcome == "similar"
    assert [(m.entry_id, m.label) for m in Match.objects.filter(question=question)] == [(entry.pk, "similar")]


def test_a_question_nothing_fits_waits_for_a_teacher():
    answered(APPLES)
    question = QuestionFactory(
        status=Question.Status.UNDERSTOOD, text="请解释光合作用的过程。", subject=subject("science")
    )

    question_match(question_id=question.pk)

    question.refresh_from_db()
    assert (question.status, question.match_outcome) == (Question.Status.WAITING_TEACHER, "none")
    assert Match.objects.filter(question=question).count() == 0
    assert list(Ticket.objects.values_list("question_id", "status")) == [(question.pk, "waiting")]


def test_student_feedback_is_stored_and_moves_the_question():
    answered(APPLES)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    match = Match.objects.get(question=question)

    question_feedback(question=question, choice="resolved", match_id=match.pk)
    question_feedback(question=question, choice="resolved", match_id=match.pk)  # a double tap
    stuck = question_feedback(question=question, choice="still_stuck")

    assert stuck.status == Question.Status.WAITING_TEACHER
    assert list(Feedback.objects.values_list("choice", "match_id")) == [("resolved", match.pk), ("still_stuck", None)]
    assert list(Ticket.objects.values_list("status", flat=True)) == ["waiting"]


def test_solved_while_waiting_leaves_the_queue():
    answered(APPLES)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    question_feedback(question=question, choice="still_stuck")

    solved = question_feedback(question=question, choice="resolved", match_id=Match.objects.get().pk)

    assert solved.status == Question.Status.RESOLVED
    assert list(Ticket.objects.values_list("status", flat=True)) == ["cancelled"]


def test_feedback_before_matching_is_refused_and_stores_nothing():
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)

    with pytest.raises(ServiceError) as raised:
        question_feedback(question=question, choice="resolved")

    question.refresh_from_db()
    assert (raised.value.code, raised.value.status, question.status) == ("not_matched", 409, "understood")
    assert Feedback.objects.count() == 0


def test_library_search_result_is_json_with_labels_and_scores():
    entry = answered(APPLES)

    result = library_search_result(text=APPLES, subject="math", grade="3")

    assert result["outcome"] == "same"
    assert [(m["entry_id"], m["label"], m["subject"], m["grade"]) for m in result["matches"]] == [
        (entry.pk, "same", "math", 3)
    ]
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("named", ["math", "数学"])
def test_the_match_command_takes_the_subject_by_its_code_or_its_name(named, capsys):
    entry = answered(APPLES)

    call_command("match", APPLES, subject=named, grade="3")

    result = json.loads(capsys.readouterr().out)
    assert (result["outcome"], [m["entry_id"] for m in result["matches"]]) == ("same", [entry.pk])


def test_the_match_command_refuses_an_unknown_subject(capsys):
    with pytest.raises(CommandError) as refused:
        call_command("match", APPLES, subject="炼金术", grade="3")

    assert (str(refused.value), capsys.readouterr().out) == ("未知的学科。", "")


def test_import_answers_reports_rejected_rows_and_reimports_without_duplicates(tmp_path, capsys):
    knowledge_points_named(["方程"])
    rows = [
        {"text": APPLES, "subject": "数学", "grade": 3, "solution": "7个", "external_id": "a1"},
        {
            "text": TIMES,
            "subject": "math",
            "grade": 4,
            "solution": "5",
            "knowledge_points": ["方程"],
            "external_id": "a2",
        },
        {"text": "", "subject": "数学", "grade": 3, "solution": "x"},
        {"text": APPLES, "subject": "炼金术", "grade": 3, "solution": "x"},
        {"text": APPLES, "subject": "数学", "grade": 3, "video": "missing.mp4"},
        {"text": APPLES, "subject": "数学", "grade": 3, "solution": "x", "knowledge_points": ["炼金"]},
    ]
    file = tmp_path / "library.jsonl"
    file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")

    call_command("import_answers", str(file), verbosity=0)
    call_command("import_answers", str(file), verbosity=0)

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Imported 2 rows: 2 new, 0 updated, 5 rejected."
    assert out[6] == "Imported 2 rows: 0 new, 2 updated, 5 rejected."
    assert [line.split(":")[0] for line in out[1:6]] == ["  line 3", "  line 4", "  line 5", "  line 6", "  line 7"]
    assert out[4] == "  line 6: 「炼金」不是数学的知识点。"
    assert Entry.objects.count() == 2
    tags = Entry.objects.get(external_id="a2").knowledge_point_tags.all()
    assert [(tag.point.name, tag.source) for tag in tags] == [("方程", "import")]
    # Encoded in batches at import: the matching workers only read the vectors.
    assert list(Entry.objects.values_list("vector_model", flat=True)) == [model_name(), model_name()]


def group_listen(question_id: int) -> Callable[[], list[dict[str, Any]]]:
    """Joins the question's websocket group through the real channel layer; the function returned gives every
    event the group was sent since, in order."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(question_group(question_id), channel)

    async def received() -> list[dict[str, Any]]:
        events = []
        while True:
            try:
                events.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return events

    return async_to_sync(received)


def test_a_corrected_text_drops_the_old_matches_at_once_and_the_new_result_replaces_them(
    django_capture_on_commit_callbacks,
):
    answered(APPLES)
    times = answered(TIMES)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    received = group_listen(question.pk)

    with django_capture_on_commit_callbacks(execute=True):
        question_text_correct(question=question, text=TIMES)
    with django_capture_on_commit_callbacks(execute=True):
        question_match(question_id=question.pk)  # the task the correction queued

    pushed = [event["question"] for event in received()]
    assert [(state["text"], state["match_outcome"]) for state in pushed] == [(TIMES, ""), (TIMES, "same")]
    assert (pushed[0]["matched_at"], pushed[0]["matches"]) == (None, [])
    assert [(match["entry"]["id"], match["label"]) for match in pushed[1]["matches"]] == [(times.pk, "same")]
    assert list(Match.objects.filter(question=question).values_list("entry_id", flat=True)) == [times.pk]


def test_a_result_for_a_text_corrected_during_the_search_is_dropped(monkeypatch):
    answered(APPLES)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    search = services._library_candidates

    def search_then_correct(**arguments):
        found = search(**arguments)
        question_text_correct(question=question, text=TIMES)  # the student corrects the text meanwhile
        return found

    monkeypatch.setattr(services, "_library_candidates", search_then_correct)

    question_match(question_id=question.pk)

    question.refresh_from_db()
    assert (question.text, question.status, question.match_outcome) == (TIMES, "understood", "")
    assert Match.objects.filter(question=question).count() == 0


def test_a_judged_match_and_its_feedback_stay_when_the_text_is_corrected_later():
    answered(APPLES)
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    match = Match.objects.get(question=question)
    question_feedback(question=question, choice="resolved", match_id=match.pk)

    question_text_correct(question=question, text="小明有12个苹果，吃了5个，还剩几个苹果？")
    question_match(question_id=question.pk)  # a late task: a resolved question is not matched again

    question.refresh_from_db()
    assert (question.status, question.match_outcome) == ("resolved", "same")
    assert list(Match.objects.filter(question=question).values_list("pk", flat=True)) == [match.pk]
    assert list(Feedback.objects.values_list("choice", "match_id")) == [("resolved", match.pk)]
    with pytest.raises(RestrictedError):
        match.delete()
