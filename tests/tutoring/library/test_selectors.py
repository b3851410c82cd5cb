import pytest

from tests.factories import EntryFactory, MatchFactory, StudentFactory, VideoAnswerFactory, subject
from tutoring.accounts.models import User
from tutoring.library.models import Answer, Entry, Feedback
from tutoring.library.selectors import entry_browse_list, entry_knowledge_point_list
from tutoring.library.services import question_feedback

pytestmark = pytest.mark.django_db


def library() -> dict[str, Entry]:
    """Three active entries (created oldest first) and a withdrawn one."""
    return {
        "apples": EntryFactory(
            text="小明有12个苹果，吃了5个，还剩几个？", grade=3, knowledge_points=["减法", "应用题"]
        ),
        "more apples": EntryFactory(
            text="小红有8个苹果，又买了4个，一共有几个？", grade=4, knowledge_points=["加法", "减法应用"]
        ),
        "english": EntryFactory(
            text="Tom has 12 Apples and eats 5. How many are LEFT?",
            subject=subject("english"),
            grade=3,
            knowledge_points=["减法"],
        ),
        "withdrawn": EntryFactory(
            text="小明有12个苹果，吃了5个，还剩几个？",
            grade=3,
            knowledge_points=["减法"],
            status=Entry.Status.WITHDRAWN,
        ),
    }


@pytest.mark.parametrize(
    ("filters", "listed"),
    [
        ({}, ["english", "more apples", "apples"]),
        ({"subject": "math"}, ["more apples", "apples"]),
        ({"subject": "alchemy"}, []),
        ({"grade": 3}, ["english", "apples"]),
        ({"subject": "math", "grade": 3}, ["apples"]),
        ({"knowledge_point": "减法"}, ["english", "apples"]),  # exactly: not 减法应用
        ({"knowledge_point": "应用"}, []),
        ({"text": "苹果 几个"}, ["more apples", "apples"]),  # every word
        ({"text": "  苹果   还剩 "}, ["apples"]),
        ({"text": "apples left"}, ["english"]),  # in any case
        ({"knowledge_point": "减法", "text": "苹果"}, ["apples"]),
    ],
)
def test_the_library_lists_the_active_entries_that_fit_every_filter_newest_first(filters, listed):
    entries = library()
    names = {entry.pk: name for name, entry in entries.items()}

    found = entry_browse_list(**filters)

    assert [names[entry.pk] for entry in found] == listed


def verdicts(entry: Entry, student: User, *choices: str) -> None:
    """A question of ``student`` matched to ``entry``, and the student's verdicts on it, in order."""
    match = MatchFactory(entry=entry, question__student=student)
    for choice in choices:
        question_feedback(question=match.question, choice=choice, match_id=match.pk)


def test_an_entry_helped_the_students_whose_last_verdict_was_solved_by_it_each_counted_once():
    apples, pears, unused = EntryFactory(), EntryFactory(text="小明有9个梨，吃了3个，还剩几个？"), EntryFactory()
    once, twice, took_back, stuck, elsewhere = StudentFactory.create_batch(5)
    verdicts(apples, once, Feedback.Choice.RESOLVED)
    verdicts(apples, twice, Feedback.Choice.RESOLVED)
    verdicts(apples, twice, Feedback.Choice.RESOLVED)  # a second question of the same student
    verdicts(apples, took_back, Feedback.Choice.RESOLVED, Feedback.Choice.STILL_STUCK)
    verdicts(apples, stuck, Feedback.Choice.STILL_STUCK)
    verdicts(pears, elsewhere, Feedback.Choice.RESOLVED)
    verdicts(pears, took_back, Feedback.Choice.STILL_STUCK, Feedback.Choice.RESOLVED)  # changed their mind

    helped = {entry.pk: entry.helped_count for entry in entry_browse_list()}

    assert helped == {apples.pk: 2, pears.pk: 2, unused.pk: 0}
    assert Feedback.objects.count() == 9


def test_each_entry_comes_with_its_ready_answers_videos_first_and_its_knowledge_points_in_three_queries(
    django_assert_num_queries,
):
    entry = EntryFactory(knowledge_points=["减法", "应用题"])  # with a worked solution
    video = VideoAnswerFactory(entry=entry)
    VideoAnswerFactory(entry=entry, status=Answer.Status.PROCESSING, video="", poster="", original="a.webm")
    VideoAnswerFactory(entry=entry, status=Answer.Status.FAILED, video="", poster="", original="b.webm")

    with django_assert_num_queries(3):
        (found,) = entry_browse_list()
        answers = [(answer.pk, answer.kind) for answer in found.ready_answers]
        points = [tag.point.name for tag in found.knowledge_point_tags.all()]

    solution = entry.answers.get(kind=Answer.Kind.SOLUTION)
    assert answers == [(video.pk, "video"), (solution.pk, "solution")]
    assert points == ["减法", "应用题"]
    assert (found.subject.code, found.helped_count) == ("math", 0)


def test_the_knowledge_points_of_active_entries_are_suggested_once_each_sorted():
    EntryFactory(knowledge_points=["减法", "应用题"])
    EntryFactory(knowledge_points=["加法", "减法"])
    EntryFactory(knowledge_points=[])
    EntryFactory(knowledge_points=["分数"], status=Entry.Status.WITHDRAWN)

    assert entry_knowledge_point_list() == sorted(["减法", "应用题", "加法"])
