import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import (
    AdministratorFactory,
    QuestionFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    subject,
)
from tutoring.library.models import Answer, Entry, Match
from tutoring.questions.models import Question

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def json_script(html: str, element_id: str) -> object:
    match = re.search(f'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match is not None, element_id
    return json.loads(match.group(1))


def test_home_sends_anonymous_users_to_login() -> None:
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_login_page_renders() -> None:
    response = Client().get("/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_student_home_is_the_ask_page_with_subjects_of_their_grade() -> None:
    student = StudentFactory(profile__grade=3)
    own = QuestionFactory(student=student)
    QuestionFactory()  # another student's

    response = logged_in(student).get("/")

    assert response.status_code == 200
    assert response.templates[0].name == "frontend/ask.html"
    assert response.context["grade"] == 3
    codes = [subject.code for subject in response.context["subjects"]]
    assert codes == ["chinese", "math", "english", "ethics", "science"]
    assert [number for number, _label in response.context["grades"]] == list(range(1, 10))
    assert response.context["questions"] == [own]
    html = response.content.decode()
    assert f'href="/questions/{own.pk}/"' in html
    config = json_script(html, "config")
    assert config["createUrl"] == "/api/v1/questions"
    assert config["questionUrl"] == "/questions/{id}/"
    assert config["maxPhotos"] == 4
    assert "holdToRecord" in json_script(html, "labels")
    assert len(json_script(html, "subjects")) == 10


def test_teacher_home_lists_the_questions_they_may_see() -> None:
    teacher = TeacherFactory(teaching=(["math"], ["primary-middle"]))
    visible = QuestionFactory(grade=3)
    QuestionFactory(grade=8)  # another grade band

    response = logged_in(teacher).get("/")

    assert response.status_code == 200
    assert response.templates[0].name == "frontend/question_board.html"
    assert list(response.context["questions"]) == [visible]


def test_staff_home_lists_the_questions_of_their_city() -> None:
    staff = StaffFactory()
    question = QuestionFactory()

    response = logged_in(staff).get("/")

    assert list(response.context["questions"]) == [question]


def test_administrator_home_links_to_the_admin() -> None:
    response = logged_in(AdministratorFactory()).get("/")

    assert response.status_code == 200
    assert b'href="/admin/"' in response.content


def test_student_sees_their_question_page() -> None:
    question = QuestionFactory()

    response = logged_in(question.student).get(reverse("frontend:question", kwargs={"question_id": question.pk}))

    assert response.status_code == 200
    assert response.context["can_edit"] is True
    html = response.content.decode()
    assert 'id="question-text"' in html
    assert 'data-testid="save-text"' in html
    state = json_script(html, "question-state")
    assert state["id"] == question.pk
    assert state["status"] == "received"
    assert json_script(html, "config")["socketPath"] == f"/ws/questions/{question.pk}/"


def test_another_students_question_is_not_found() -> None:
    question = QuestionFactory()
    other = StudentFactory()

    response = logged_in(other).get(reverse("frontend:question", kwargs={"question_id": question.pk}))

    assert response.status_code == 404
    assert question.typed_text.encode() not in response.content


def test_teacher_sees_a_question_page_read_only() -> None:
    teacher = TeacherFactory(teaching=(["math"], ["primary-middle"]))
    question = QuestionFactory(grade=3)

    response = logged_in(teacher).get(reverse("frontend:question", kwargs={"question_id": question.pk}))

    assert response.status_code == 200
    assert response.context["can_edit"] is False
    assert 'data-testid="save-text"' not in response.content.decode()


# --- Answered questions (library) ---------------------------------------------------------------


def library_entry(*, created_by, text: str = "小明有12个苹果，吃了5个，还剩几个？") -> Entry:
    entry = Entry.objects.create(text=text, subject=subject("math"), grade=3, created_by=created_by)
    Answer.objects.create(
        entry=entry, kind=Answer.Kind.SOLUTION, status=Answer.Status.READY, solution="12 - 5 = 7", created_by=created_by
    )
    return entry


def test_library_page_is_not_found_for_students() -> None:
    response = logged_in(StudentFactory()).get(reverse("frontend:library-new"))

    assert response.status_code == 404


def test_library_page_is_not_found_for_staff() -> None:
    response = logged_in(StaffFactory()).get(reverse("frontend:library-new"))

    assert response.status_code == 404


def test_library_page_sends_anonymous_users_to_login() -> None:
    response = Client().get(reverse("frontend:library-new"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_library_page_renders_for_teachers_with_their_entries() -> None:
    teacher = TeacherFactory(teaching=(["math"], ["junior-middle"]))
    own = library_entry(created_by=teacher)
    library_entry(created_by=TeacherFactory(), text="另一位老师的题")

    response = logged_in(teacher).get(reverse("frontend:library-new"))

    assert response.status_code == 200
    assert response.templates[0].name == "frontend/library_new.html"
    assert response.context["entries"] == [own]
    assert response.context["grade"] == 7  # the lowest grade they teach
    assert response.context["subject_code"] == "math"
    assert [number for number, _label in response.context["grades"]] == list(range(1, 10))
    html = response.content.decode()
    assert 'accept="video/*"' in html
    assert 'data-testid="library-entry"' in html
    assert "另一位老师的题" not in html
    config = json_script(html, "config")
    assert config["createUrl"] == "/api/v1/library/entries"
    assert config["maxVideoBytes"] > 0
    assert "savedProcessing" in json_script(html, "labels")
    assert json_script(html, "grades")["3"]


def test_library_page_shows_administrators_everyones_entries() -> None:
    entry = library_entry(created_by=TeacherFactory())

    response = logged_in(AdministratorFactory()).get(reverse("frontend:library-new"))

    assert response.status_code == 200
    assert response.context["entries"] == [entry]


def test_teacher_and_administrator_homes_link_to_the_library() -> None:
    link = f'href="{reverse("frontend:library-new")}"'

    assert link in logged_in(TeacherFactory()).get("/").content.decode()
    assert link in logged_in(AdministratorFactory()).get("/").content.decode()
    assert link not in logged_in(StaffFactory()).get("/").content.decode()
    assert link not in logged_in(StudentFactory()).get("/").content.decode()


def test_question_page_has_the_matches_and_feedback_for_the_student() -> None:
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text="小明有12个苹果，吃了5个，还剩几个？")
    entry = library_entry(created_by=TeacherFactory())
    match = Match.objects.create(
        question=question, entry=entry, rank=0, score=0.97, dense=0.98, lexical=0.95, label="same"
    )
    question.match_outcome = Question.MatchOutcome.SAME
    question.save(update_fields=["match_outcome"])

    response = logged_in(question.student).get(reverse("frontend:question", kwargs={"question_id": question.pk}))

    html = response.content.decode()
    assert 'data-testid="feedback-resolved"' in html
    assert 'data-testid="feedback-stuck"' in html
    config = json_script(html, "config")
    assert config["feedbackUrl"] == f"/api/v1/questions/{question.pk}/feedback"
    state = json_script(html, "question-state")
    assert state["match_outcome"] == "same"
    assert [(m["id"], m["label"], m["entry"]["id"]) for m in state["matches"]] == [(match.pk, "same", entry.pk)]
    assert state["matches"][0]["entry"]["answers"][0]["solution"] == "12 - 5 = 7"
    labels = json_script(html, "labels")
    assert {"matching", "sameTitle", "noneMatched", "resolvedStudent"} <= labels.keys()


def test_teacher_sees_the_matches_without_feedback_buttons() -> None:
    teacher = TeacherFactory(teaching=(["math"], ["primary-middle"]))
    question = QuestionFactory(grade=3, status=Question.Status.RESOLVED, match_outcome="same")

    response = logged_in(teacher).get(reverse("frontend:question", kwargs={"question_id": question.pk}))

    html = response.content.decode()
    assert 'id="matches"' in html
    assert 'data-testid="feedback-resolved"' not in html
