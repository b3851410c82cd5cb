import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import (
    AdministratorFactory,
    CityFactory,
    EntryFactory,
    FeedbackFactory,
    KnowledgePointFactory,
    QuestionFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    grade_band,
    school_administrator,
    subject,
)
from tutoring.insights.clusters import cluster_lecture_draft, clusters_build, clusters_build_due
from tutoring.insights.models import HotCluster
from tutoring.library.index import VECTOR_DTYPE, model_name
from tutoring.questions.models import Question, QuestionKnowledgePoint
from tutoring.routing.models import Ticket

pytestmark = pytest.mark.django_db

WEEK = date(2026, 11, 2)  # a Monday
ZONE = ZoneInfo("Asia/Shanghai")
AREA = "一个长方形的长是{a}厘米，宽是{b}厘米，它的面积是多少平方厘米？"
POEM = "“春眠不觉晓”的下一句是什么？"


def vector(axis: int, jitter: float = 0.0) -> bytes:
    values = np.zeros(512, dtype=np.float32)
    values[axis], values[axis + 1] = 1.0, jitter
    return (values / np.linalg.norm(values)).astype(VECTOR_DTYPE).tobytes()


def asked(text: str, axis: int, *, day: date = WEEK, school=None, student=None, status=Question.Status.WAITING_TEACHER,
          grade: int = 3, jitter: float = 0.0) -> Question:  # fmt: skip
    student = student or StudentFactory(profile__school=school or SchoolFactory(), profile__grade=grade)
    question = QuestionFactory(student=student, grade=grade, text=text, status=status, understood_at=datetime.now(ZONE))
    Question.objects.filter(pk=question.pk).update(
        created_at=datetime.combine(day, time(19), tzinfo=ZONE), vector=vector(axis, jitter), vector_model=model_name()
    )
    return question


def area_week(day: date = WEEK, count: int = 6, school=None) -> list[Question]:
    return [
        asked(AREA.format(a=4 + n, b=3), 0, day=day + timedelta(days=n % 7), school=school, jitter=0.01 * n)
        for n in range(count)
    ]


def test_a_week_of_recurring_questions_becomes_a_cluster_with_what_became_of_them():
    school = SchoolFactory()
    questions = area_week(school=school)
    FeedbackFactory(match__question=questions[1], match__entry=EntryFactory(text=AREA.format(a=9, b=9)))
    Question.objects.filter(pk=questions[1].pk).update(status=Question.Status.RESOLVED)
    Question.objects.filter(pk=questions[2].pk).update(status=Question.Status.ANSWERED)
    for question in questions[2:4]:
        Ticket.objects.create(question=question, subject=question.subject, grade=3, status=Ticket.Status.FINISHED)
    point = KnowledgePointFactory(name="长方形的面积")
    for question in questions[:4]:
        QuestionKnowledgePoint.objects.create(question=question, point=point, source="tagger", rank=0)
    asked(POEM, 100)  # asked once: not recurring
    asked(AREA.format(a=5, b=3), 0, day=WEEK + timedelta(days=7))  # the week after

    (cluster,) = clusters_build(city=school.district.city, week=WEEK + timedelta(days=3))

    cluster.refresh_from_db()
    assert (cluster.week, cluster.subject, cluster.grade_band, cluster.number) == (
        WEEK, subject("math"), grade_band("primary-middle"), 1
    )  # fmt: skip
    assert (cluster.size, cluster.students, cluster.solved_by_video, cluster.sent_to_teacher, cluster.answered) == (
        6, 6, 1, 2, 1
    )  # fmt: skip
    assert cluster.representative_id in {question.pk for question in questions}
    assert list(cluster.members.values_list("question_id", flat=True).order_by("question_id")) == sorted(
        question.pk for question in questions
    )
    assert cluster.best_entry.text == AREA.format(a=9, b=9)
    assert list(cluster.knowledge_points.all()) == [point]
    assert cluster.terms == ["厘米", "平方厘米", "长方形", "面积"]
    assert (cluster.previous, cluster.previous_size, cluster.change) == (None, 0, None)


def test_the_week_after_the_same_cluster_shows_its_trend_and_a_rebuild_replaces_the_week():
    city = CityFactory()
    area_week(count=6)
    area_week(WEEK + timedelta(days=7), count=9)
    (before,) = clusters_build(city=city, week=WEEK)

    (after,) = clusters_build(city=city, week=WEEK + timedelta(days=7))
    (again,) = clusters_build(city=city, week=WEEK + timedelta(days=7))

    assert (again.previous_id, again.previous_size, again.size, again.change) == (before.pk, 6, 9, 3)
    assert HotCluster.objects.filter(week=WEEK + timedelta(days=7)).count() == 1
    assert not HotCluster.objects.filter(pk=after.pk).exists()


def test_a_question_without_a_stored_vector_is_encoded_once_and_stored():
    city = CityFactory()
    questions = area_week(count=3)
    Question.objects.filter(pk=questions[0].pk).update(vector=None, vector_model="")

    clusters_build(city=city, week=WEEK)

    stored = Question.objects.get(pk=questions[0].pk)
    assert (len(bytes(stored.vector)), stored.vector_model) == (1024, model_name())


def test_the_nightly_run_clusters_the_week_of_the_day_before():
    area_week(count=5)

    assert clusters_build_due(today=WEEK + timedelta(days=7)) == 1  # a Monday: the week just ended
    assert list(HotCluster.objects.values_list("week", flat=True)) == [WEEK]


def test_the_lecture_draft_carries_the_clusters_exercises_points_and_best_video():
    area_week(count=5)
    tagged = asked("长方形的面积怎么算？先量长和宽，再怎么做？", 0, jitter=0.3)
    (cluster,) = clusters_build(city=CityFactory(), week=WEEK)
    point = KnowledgePointFactory(name="长方形的面积")
    cluster.knowledge_points.add(point)
    entry = EntryFactory()
    HotCluster.objects.filter(pk=cluster.pk).update(best_entry=entry)
    cluster.refresh_from_db()
    first = cluster.members.get(position=0).question.text

    draft = cluster_lecture_draft(cluster)

    assert draft == {
        "title": "共性问题：长方形的面积",
        "description": f"2026-11-02 这一周 6 名学生问了 6 道这样的题，例如：\n1. {first}\n2. {tagged.text}",
        "subject": subject("math").pk,
        "grade_band": grade_band("primary-middle").pk,
        "city": cluster.city_id,
        "knowledge_points": [point.code],
        "entries": [entry.pk],
    }


def clusters_page(client, user, **query):
    client.force_login(user)
    return client.get(reverse("frontend:insights-clusters"), query)


def test_staff_see_the_clusters_of_at_least_five_students_with_the_actions_when_no_video_answers(client):
    area_week(count=6)
    student = StudentFactory()
    for a in range(4):  # four questions of one student: too few students to show
        asked(POEM + "？" * a, 100, student=student)
    clusters_build(city=CityFactory(), week=WEEK)
    assert HotCluster.objects.count() == 2

    response = clusters_page(client, AdministratorFactory())

    assert response.status_code == 200
    shown = response.context["clusters"]
    assert [cluster.size for cluster in shown] == [6]
    body = response.content.decode()
    assert "录制讲解视频" in body and "安排直播课" in body
    assert POEM not in body


def test_clusters_are_read_only_by_those_who_read_the_whole_city(client):
    school = SchoolFactory()
    area_week(count=6, school=school)
    (cluster,) = clusters_build(city=school.district.city, week=WEEK)

    for user in (StudentFactory(), TeacherFactory(), school_administrator(school), StaffFactory(scope=school.district)):
        assert clusters_page(client, user).status_code == 404
        assert client.get(reverse("frontend:insights-cluster", args=[cluster.pk])).status_code == 404
        assert client.get(reverse("insights:clusters-export", args=["csv"])).status_code == 404
    assert clusters_page(client, StaffFactory()).status_code == 200
    assert client.get(reverse("frontend:insights-cluster", args=[cluster.pk])).status_code == 200


def test_bad_cluster_filters_are_refused_in_chinese(client):
    response = clusters_page(client, StaffFactory(), week="2026-13-01")

    assert response.status_code == 400
    assert response.context["error"].message == "请用日期选择一周，例如 2026-03-02。"
    assert clusters_page(client, StaffFactory(), band="nope").context["error"].message == "未知的学段。"


def test_the_clusters_export_reads_back_as_shown(client):
    area_week(count=6)
    (cluster,) = clusters_build(city=CityFactory(), week=WEEK)
    client.force_login(StaffFactory())
    representative = Question.objects.get(pk=cluster.representative_id).text

    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("insights:clusters-export", args=["csv"])).content.decode("utf-8-sig"))
        )
    )
    book = load_workbook(io.BytesIO(client.get(reverse("insights:clusters-export", args=["xlsx"])).content))

    expected = [
        "2026-11-02",
        "数学",
        "小学中段",
        representative,
        "厘米 平方厘米 长方形 面积",
        "",
        "6",
        "6",
        "",
        "0",
        "0",
        "0",
        "",
    ]
    assert rows[1] == expected
    assert rows[0][:4] == ["周", "学科", "学段", "代表题"]
    sheet = book.worksheets[0]
    assert [cell.value for cell in sheet[2]][3:8] == [representative, "厘米 平方厘米 长方形 面积", "", 6, 6]


def test_record_a_video_and_schedule_a_lecture_start_from_the_cluster(client):
    area_week(count=6)
    (cluster,) = clusters_build(city=CityFactory(), week=WEEK)
    client.force_login(AdministratorFactory())
    representative = Question.objects.get(pk=cluster.representative_id)

    library = client.get(reverse("frontend:library-new"), {"cluster": cluster.pk})
    lecture = client.get(reverse("admin:lectures_lecture_add"), {"cluster": cluster.pk})

    assert library.context["draft"]["text"] == representative.text
    assert representative.text in library.content.decode()
    form = lecture.context["adminform"].form
    assert form.initial["subject"] == subject("math").pk
    assert form.initial["description"].startswith("2026-11-02 这一周 6 名学生问了 6 道这样的题")
