"""Knowledge points put on questions and library entries by the tagger, and a teacher's choice kept."""

import numpy as np
import pytest
from django.core.management import call_command

from tests.factories import EntryFactory, KnowledgePointFactory, QuestionFactory
from tutoring.knowledge.models import TagSource
from tutoring.library import services
from tutoring.library.index import VECTOR_DTYPE, encoder, model_name
from tutoring.library.models import EntryKnowledgePoint
from tutoring.library.services import entry_save, question_match
from tutoring.questions.models import Question, QuestionKnowledgePoint

pytestmark = pytest.mark.django_db

APPLES = "小明有12个苹果，吃了5个，还剩几个？"


def taxonomy() -> dict[str, object]:
    return {
        "subtract": KnowledgePointFactory(code="kp.subtract", name="减法", aliases=["还剩几个"]),
        "word": KnowledgePointFactory(code="kp.word", name="应用题", aliases=["小明有"]),
        "divide": KnowledgePointFactory(code="kp.divide", name="除法"),
    }


def library() -> None:
    """One labelled answered question of grade 3 and one of grade 6 (too far from grade 3 to be a neighbour)."""
    entry_save(text=APPLES, subject="math", grade=3, solution="7个", knowledge_points=["减法"])
    entry_save(
        text="把36个苹果平均分给4个人，每人几个？", subject="math", grade=6, solution="9个", knowledge_points=["除法"]
    )


def tags(question: Question) -> list[tuple[str, str, float | None]]:
    return [
        (tag.point.name, tag.source, tag.confidence)
        for tag in QuestionKnowledgePoint.objects.filter(question=question).select_related("point")
    ]


def test_a_matched_question_is_tagged_by_its_labelled_neighbours_and_the_taxonomys_words():
    taxonomy()
    library()
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, grade=3)

    question_match(question_id=question.pk)

    # 减法: the only labelled neighbour's whole vote (0.9) and its longest alias found (0.1); 应用题: a shorter alias
    # (3 characters against 4) and no vote.
    assert tags(question) == [("减法", "tagger", 1.0), ("应用题", "tagger", 0.075)]


def test_matching_again_replaces_the_taggers_points_but_never_a_teachers():
    points = taxonomy()
    library()
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, grade=3)
    question_match(question_id=question.pk)
    QuestionKnowledgePoint.objects.filter(question=question).delete()
    QuestionKnowledgePoint.objects.create(question=question, point=points["divide"], source=TagSource.TEACHER)
    # Matched again as after the student corrects the text: the correction sets the outcome back to pending.
    Question.objects.filter(pk=question.pk).update(match_outcome=Question.MatchOutcome.PENDING)

    question_match(question_id=question.pk)

    assert tags(question) == [("除法", "teacher", None)]


def test_a_question_with_nothing_to_go_by_gets_no_point():
    taxonomy()
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text="今天下雨了，我们去哪里玩？", grade=3)

    question_match(question_id=question.pk)

    assert tags(question) == []


def test_an_entry_given_no_point_is_tagged_from_its_neighbours_leaving_itself_out():
    taxonomy()
    library()
    entry, _ = entry_save(text="小红有12支铅笔，用了5支，还剩几支？", subject="math", grade=3, solution="7支")

    services.entry_knowledge_points_tag(entry_id=entry.pk)

    found = EntryKnowledgePoint.objects.filter(entry=entry).select_related("point")
    assert [(tag.point.name, tag.source) for tag in found] == [("减法", "tagger")]
    assert 0.9 * 0.99 < found[0].confidence <= 0.9  # the one labelled neighbour's vote, no alias in the text


def test_an_entry_whose_author_gave_points_meanwhile_keeps_them():
    points = taxonomy()
    library()
    entry, _ = entry_save(text="小红有12支铅笔，用了5支，还剩几支？", subject="math", grade=3, solution="7支")
    EntryKnowledgePoint.objects.create(entry=entry, point=points["word"], source=TagSource.TEACHER)

    services.entry_knowledge_points_tag(entry_id=entry.pk)

    found = EntryKnowledgePoint.objects.filter(entry=entry)
    assert [(tag.point.name, tag.source) for tag in found] == [("应用题", "teacher")]


def test_the_command_tags_what_was_matched_or_saved_before_and_retag_replaces_only_the_taggers(capsys):
    points = taxonomy()
    library()
    untagged = QuestionFactory(status=Question.Status.WAITING_TEACHER, match_outcome="none", text=APPLES, grade=3)
    chosen = QuestionFactory(status=Question.Status.ANSWERED, match_outcome="none", text=APPLES, grade=3)
    QuestionKnowledgePoint.objects.create(question=chosen, point=points["divide"], source=TagSource.TEACHER)
    QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, grade=3)  # not matched yet: matching tags it
    entry = EntryFactory(text="小红有12支铅笔，用了5支，还剩几支？")  # saved before the taxonomy existed

    call_command("tag_knowledge_points", verbosity=0)
    QuestionKnowledgePoint.objects.filter(question=untagged).update(confidence=0.5)  # as if tagged long ago
    call_command("tag_knowledge_points", verbosity=0)
    call_command("tag_knowledge_points", "--retag", verbosity=0)

    assert capsys.readouterr().out.splitlines() == [
        "Tagged 1 questions and 1 answered questions.",
        "Tagged 0 questions and 0 answered questions.",
        "Tagged 1 questions and 1 answered questions.",
    ]
    assert tags(untagged) == [("减法", "tagger", 1.0), ("应用题", "tagger", 0.075)]
    assert tags(chosen) == [("除法", "teacher", None)]
    assert [(tag.point.name, tag.source) for tag in entry.knowledge_point_tags.all()] == [("减法", "tagger")]


def test_a_matched_question_keeps_its_embedding_for_the_weekly_clusters():
    taxonomy()
    library()
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, grade=3)

    question_match(question_id=question.pk)

    question.refresh_from_db()
    stored = np.frombuffer(question.vector, VECTOR_DTYPE)
    assert question.vector_model == model_name()
    assert np.array_equal(stored, encoder().encode([APPLES])[0].astype(VECTOR_DTYPE))
