"""The demo's generated past gives the engagement tables their shapes: comments with some ratings, a school gone
silent, and an audience for each lecture already given."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import EntryFactory, LectureFactory, SchoolFactory, StaffFactory, TeacherFactory, grade_band
from tutoring.core.management.demo_history import COMMENTS, QUIET_DAYS, history_seed
from tutoring.insights.engagement import lecture_table, silent_table
from tutoring.insights.rollups import insights_refresh
from tutoring.insights.selectors import insights_filters
from tutoring.lectures.models import Lecture, LectureFact
from tutoring.library.models import Feedback, Match
from tutoring.questions.models import Question
from tutoring.sessions.models import TutoringSession

pytestmark = pytest.mark.django_db


def test_the_history_leaves_comments_a_silent_school_and_lecture_audiences():
    teacher = TeacherFactory(teaching=(["math", "chinese", "physics"], ["primary-middle"]))
    district = SchoolFactory().district
    quiet = SchoolFactory(district=district)  # the last school: its students go quiet
    now = timezone.now()
    lecture = LectureFactory(
        lecturer=teacher, city=district.city, grade_band=grade_band("primary-middle"), starts_at=now - timedelta(days=2)
    )
    Lecture.objects.filter(pk=lecture.pk).update(
        status=Lecture.Status.ENDED, started_at=now - timedelta(days=2), ended_at=now - timedelta(days=2, minutes=-40)
    )

    asked = history_seed(days=30)

    assert asked == Question.objects.count() > 0
    comments = set(TutoringSession.objects.exclude(rating_comment="").values_list("rating", "rating_comment"))
    assert comments and all(comment in COMMENTS[rating] for rating, comment in comments)
    since = timezone.localdate() - timedelta(days=QUIET_DAYS - 1)
    assert not Question.objects.filter(student__student_profile__school=quiet, created_at__date__gte=since).exists()
    joined = LectureFact.objects.filter(lecture=lecture, kind=LectureFact.Kind.JOINED)
    assert 12 <= joined.count() == joined.values("user").distinct().count()
    assert history_seed(days=30) == 0  # once only

    insights_refresh()
    filters = insights_filters(user=StaffFactory(), query={})
    assert [row["cells"]["school"] for row in silent_table(filters).rows] == [quiet.name]
    assert [row["cells"]["viewers"] for row in lecture_table(filters).rows] == [joined.count()]


def test_the_history_offers_the_demo_librarys_answers_so_the_clusters_find_their_best_video():
    TeacherFactory(teaching=(["math"], ["primary-lower", "primary-middle"]))
    SchoolFactory()
    apples = EntryFactory(text="小明有12个苹果，吃了5个，还剩几个？", grade=1)

    history_seed(days=30)

    offered = Question.objects.filter(text__contains="苹果").exclude(match_outcome="none")
    assert offered.exists()
    assert list(Match.objects.values_list("question_id", flat=True).order_by("question_id")) == list(
        offered.values_list("pk", flat=True).order_by("pk")
    )
    assert set(Match.objects.values_list("entry_id", "rank")) == {(apples.pk, 0)}
    solved = Feedback.objects.filter(question__in=offered, choice=Feedback.Choice.RESOLVED)
    assert solved.exists() and not solved.filter(match__isnull=True).exists()
    assert not Match.objects.exclude(question__text__contains="苹果").exists()  # no other template has its answer here
