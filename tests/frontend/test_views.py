import json
import re
from datetime import date

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.factories import (
    NOVEMBER_2026,
    AdministratorFactory,
    CityFactory,
    DistrictFactory,
    EntryFactory,
    LectureFactory,
    MatchFactory,
    PublishedRecordingFactory,
    QuestionFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    UserFactory,
    VideoAnswerFactory,
    grade_band,
    month_of_work,
    opened_session,
    school_administrator,
    subject,
)
from tutoring.accounts.models import AdministratorProfile, User
from tutoring.lectures.models import Lecture, LectureRecording, LectureSignup
from tutoring.library.models import Answer, Entry, Feedback, Match
from tutoring.library.services import question_feedback
from tutoring.questions.models import Question
from tutoring.stipends import services as stipend_services
from tutoring.stipends.models import SchoolMonth

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


def selected_options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', html)


def test_the_ask_page_starts_at_the_subject_and_grade_of_the_latest_question() -> None:
    student = StudentFactory(profile__grade=3)
    QuestionFactory(student=student, subject=subject("math"), grade=3)
    QuestionFactory(student=student, subject=subject("english"), grade=5)

    response = logged_in(student).get("/")

    html = response.content.decode()
    assert (response.context["grade"], response.context["subject_code"]) == (5, "english")
    assert selected_options(html) == ["5", "english"]
    assert 'placeholder="照原题输入英语题目"' in html
    assert json_script(html, "labels")["typePlaceholder"] == "照原题输入%(subject)s题目"


@pytest.mark.parametrize(
    ("grade", "offered"),
    [
        (8, ["chinese", "math", "english", "physics", "biology", "history", "geography", "ethics", "science"]),
        (1, ["chinese", "math", "ethics", "science"]),
    ],
)
def test_without_questions_the_ask_page_starts_at_the_profile_grade_and_its_first_subject(grade, offered) -> None:
    student = StudentFactory(profile__grade=grade)

    response = logged_in(student).get("/")

    html = response.content.decode()
    assert selected_options(html) == [str(grade), "chinese"]
    assert [s.code for s in response.context["subjects"]] == offered
    assert 'placeholder="照原题输入语文题目"' in html


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


def test_everyone_who_may_browse_the_library_is_linked_to_it() -> None:
    link = f'href="{reverse("frontend:library")}"'

    assert link in logged_in(TeacherFactory()).get("/").content.decode()
    assert link in logged_in(StaffFactory()).get("/").content.decode()
    assert link in logged_in(AdministratorFactory()).get("/").content.decode()
    assert link in logged_in(TeacherFactory()).get(reverse("frontend:library-new")).content.decode()
    assert link not in logged_in(StudentFactory()).get("/").content.decode()


def test_the_library_is_not_found_for_students() -> None:
    EntryFactory()

    response = logged_in(StudentFactory()).get(reverse("frontend:library"))

    assert response.status_code == 404
    assert "小明有12个苹果".encode() not in response.content


def test_the_library_sends_anonymous_users_to_login() -> None:
    response = Client().get(reverse("frontend:library"))

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/library/")


@pytest.mark.parametrize("factory", [TeacherFactory, StaffFactory, AdministratorFactory])
def test_teachers_staff_and_administrators_browse_the_library(factory) -> None:
    entry = EntryFactory()

    response = logged_in(factory()).get(reverse("frontend:library"))

    assert response.status_code == 200
    assert response.templates[0].name == "frontend/library.html"
    assert list(response.context["page"].object_list) == [entry]


def test_the_library_shows_the_entries_that_fit_the_filters_in_chinese() -> None:
    entry = EntryFactory(knowledge_points=["减法", "应用题"])
    video = VideoAnswerFactory(entry=entry)
    match = MatchFactory(entry=entry)
    question_feedback(question=match.question, choice=Feedback.Choice.RESOLVED, match_id=match.pk)
    EntryFactory(text="小明有12个苹果，吃了5个，还剩几个？", knowledge_points=["减法应用"])  # another point
    EntryFactory(knowledge_points=["减法"], grade=4)
    EntryFactory(text="小红有8个苹果，又买了4个，一共有几个？", knowledge_points=["减法"])
    filters = {"subject": "math", "grade": "3", "knowledge_point": "减法", "text": "苹果 还剩"}

    response = logged_in(TeacherFactory()).get(reverse("frontend:library"), filters, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert list(response.context["page"].object_list) == [entry]
    html = response.content.decode()
    assert html.count('data-testid="library-card"') == 1
    assert '<h2 id="results-title" data-testid="library-count">1 道已解答的题</h2>' in html
    assert '<span data-testid="library-helped">帮助了 1 名学生</span>' in html
    assert f'poster="/api/v1/library/answers/{video.pk}/poster"' in html
    assert f'src="/api/v1/library/answers/{video.pk}/video"' in html
    assert '<figcaption class="answer-caption">讲解视频，3:05</figcaption>' in html
    assert '<summary class="solution-summary">解题过程</summary>' in html
    assert '<p class="match-meta">数学 · 3年级</p>' in html
    assert '<li class="chip">减法</li><li class="chip">应用题</li>' in html
    assert '<option value="math" selected>数学</option>' in html
    assert '<option value="3" selected>3年级</option>' in html
    assert 'value="减法"' in html
    assert 'value="苹果 还剩"' in html
    assert '<option value="">全部学科</option>' in html
    assert "清除筛选" in html
    assert response.context["knowledge_points"] == ["减法", "减法应用", "应用题"]


def test_the_library_says_when_nothing_fits() -> None:
    EntryFactory()

    response = logged_in(StaffFactory()).get(
        reverse("frontend:library"), {"text": "三角形"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    html = response.content.decode()
    assert 'data-testid="library-card"' not in html
    assert "0 道已解答的题" in html
    assert '<p class="muted" data-testid="library-empty">没有符合这些条件的已解答题目。</p>' in html


def test_the_library_pages_keep_the_filters() -> None:
    EntryFactory.create_batch(21)
    EntryFactory(grade=4)  # filtered out
    client = logged_in(TeacherFactory())

    first = client.get(reverse("frontend:library"), {"grade": "3"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    second = client.get(reverse("frontend:library"), {"grade": "3", "page": "2"}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    first_html, second_html = first.content.decode(), second.content.decode()
    assert (first_html.count('data-testid="library-card"'), second_html.count('data-testid="library-card"')) == (20, 1)
    assert '<a class="button button-secondary" href="?grade=3&amp;page=2" rel="next"' in first_html
    assert "第 1 / 2 页" in first_html
    assert "上一页" not in first_html
    assert '<a class="button button-secondary" href="?grade=3&amp;page=1" rel="prev"' in second_html
    assert "第 2 / 2 页" in second_html
    assert "下一页" not in second_html
    assert "21 道已解答的题" in second_html


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


def test_a_page_nobody_may_see_answers_a_chinese_not_found_page() -> None:
    response = logged_in(StudentFactory()).get("/questions/999999/", headers={"accept-language": "zh-hans"})

    assert response.status_code == 404
    page = response.content.decode()
    assert '<h1 class="page-title">页面不存在</h1>' in page
    assert "这个页面不存在，或者你无权查看。" in page
    assert "Not Found" not in page


def test_a_server_error_answers_a_chinese_page_that_needs_no_request() -> None:
    with translation.override("zh-hans"):
        page = render_to_string("500.html")

    assert "<h1>出错了</h1>" in page
    assert "我们这边出了点问题，请稍后再试。" in page
    assert '<a href="/">返回首页</a>' in page


def test_the_student_home_lists_exactly_their_live_and_coming_lectures_with_their_sign_ups() -> None:
    student = StudentFactory(profile__grade=3)
    school = student.student_profile.school
    city = school.district.city
    live = LectureFactory(city=city, school=school, district=school.district, status=Lecture.Status.LIVE)
    coming = LectureFactory(city=city)
    LectureFactory(city=city, status=Lecture.Status.ENDED)
    LectureFactory(city=city, grade_band=grade_band("junior-middle"))
    LectureFactory(city=city, district=DistrictFactory(city=city))
    LectureFactory(city=CityFactory(name="杭州市"))
    LectureSignup.objects.create(lecture=coming, student=student)

    with translation.override("zh-hans"):
        html = logged_in(student).get("/").content.decode()

    links = re.findall(r'href="/lectures/(\d+)/"', html)
    assert links == [str(live.pk), str(coming.pk)]
    assert re.findall(r'data-signed-up="(\w+)"', html) == ["false", "true"]
    assert html.count("直播中") == 1
    assert json_script(html, "signup-labels") == {"signUp": "预约", "signedUp": "已预约", "error": "没有成功，请重试。"}


def test_the_student_home_listens_for_the_notices_of_their_lectures() -> None:
    student = StudentFactory(profile__grade=3)
    city = student.student_profile.school.district.city
    live = LectureFactory(city=city, status=Lecture.Status.LIVE)
    LectureFactory(city=city)

    with translation.override("zh-hans"):
        html = logged_in(student).get("/").content.decode()

    assert json_script(html, "notice-config") == {
        "socketPath": "/ws/lectures/notices/",
        "lectureUrl": "/lectures/{id}/",
        "liveShown": [live.pk],
    }
    assert json_script(html, "notice-labels") == {
        "started": "你预约的讲座「%(title)s」开始了。",
        "moved": "你预约的讲座「%(title)s」改到 %(time)s 开始。",
        "cancelled": "你预约的讲座「%(title)s」已取消。",
        "join": "进入讲座",
        "open": "查看讲座",
    }
    assert 'id="lecture-notices" class="lecture-notices" role="alert" hidden' in html
    assert "frontend/js/lecture-notices.js" in html


def notice_parts(html: str) -> tuple[int, int, int, int]:
    """How many times a page holds the lecture notices' box, their config, their texts and their script."""
    return (
        html.count(' id="lecture-notices"'),
        html.count(' id="notice-config"'),
        html.count(' id="notice-labels"'),
        html.count("frontend/js/lecture-notices.js"),
    )


def test_each_page_of_a_student_listens_once_for_the_notices_of_their_lectures() -> None:
    student = StudentFactory(profile__grade=3)
    city = student.student_profile.school.district.city
    coming, ended = LectureFactory(city=city), PublishedRecordingFactory(lecture__city=city).lecture
    client = logged_in(student)
    paths = [
        "/",
        f"/questions/{QuestionFactory(student=student).pk}/",
        f"/lectures/{coming.pk}/",
        f"/lectures/{ended.pk}/",
        "/questions/999999/",  # not found
    ]

    with translation.override("zh-hans"):
        pages = [(path, client.get(path)) for path in paths]

    assert [(path, response.status_code) for path, response in pages] == [
        ("/", 200),
        (paths[1], 200),
        (paths[2], 200),
        (paths[3], 200),
        ("/questions/999999/", 404),
    ]
    assert [notice_parts(response.content.decode()) for _, response in pages] == [(1, 1, 1, 1)] * 5
    assert [json_script(response.content.decode(), "notice-config") for _, response in pages] == [
        {"socketPath": "/ws/lectures/notices/", "lectureUrl": "/lectures/{id}/", "liveShown": []}
    ] * 5
    assert {json_script(response.content.decode(), "notice-labels")["started"] for _, response in pages} == {
        "你预约的讲座「%(title)s」开始了。"
    }


def test_no_page_of_anyone_else_nor_the_session_room_listens_for_lecture_notices() -> None:
    lecture = LectureFactory()
    session = opened_session()
    visits = [
        (None, "/login/"),
        (TeacherFactory(), "/"),
        (session.teacher, "/duty/"),
        (session.teacher, "/library/"),
        (lecture.lecturer, f"/lectures/{lecture.pk}/"),
        (lecture.lecturer, f"/lectures/{lecture.pk}/studio/"),
        (StaffFactory(), "/"),
        (AdministratorFactory(), "/"),
        (session.teacher, f"/sessions/{session.pk}/"),
        (session.student, f"/sessions/{session.pk}/"),  # a student's, where a lecture would call them away
    ]

    seen = [
        (path, response.status_code, notice_parts(response.content.decode()))
        for user, path in visits
        for response in [(logged_in(user) if user else Client()).get(path)]
    ]

    assert seen == [(path, 200, (0, 0, 0, 0)) for _, path in visits]


def test_the_student_home_has_no_lecture_section_without_lectures() -> None:
    html = logged_in(StudentFactory()).get("/").content.decode()

    assert 'data-testid="lectures"' not in html
    assert "lecture-signup.js" not in html


def test_a_student_sees_the_page_of_their_lecture() -> None:
    student = StudentFactory(profile__grade=3)
    lecture = LectureFactory(city=student.student_profile.school.district.city, description="分数的意义")

    response = logged_in(student).get(f"/lectures/{lecture.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert json_script(html, "config") == {
        "role": "viewer",
        "socketPath": f"/ws/lectures/{lecture.pk}/",
        "slidesPath": f"/api/v1/lectures/{lecture.pk}/slides/",
        "questionPhotosUrl": f"/api/v1/lectures/{lecture.pk}/questions/photos",
        "maxPhotoBytes": settings.XUEWEN["MAX_PHOTO_BYTES"],
        "status": "scheduled",
        "startsAt": lecture.starts_at.isoformat(),
    }
    assert f'data-signup-url="/api/v1/lectures/{lecture.pk}/signup"' in html
    assert 'id="ask-photo" class="visually-hidden" name="photo" type="file" accept="image/*"' in html
    assert "studio-link" not in html


def test_a_lecture_outside_the_students_scope_is_not_found() -> None:
    student = StudentFactory(profile__grade=3)
    elsewhere = LectureFactory(city=CityFactory(name="杭州市"))
    other_grades = LectureFactory(
        city=student.student_profile.school.district.city, grade_band=grade_band("junior-middle")
    )

    for lecture in (elsewhere, other_grades):
        assert logged_in(student).get(f"/lectures/{lecture.pk}/").status_code == 404


def test_the_lecturer_is_linked_to_the_studio_and_a_teacher_observes_without_sign_up() -> None:
    lecture = LectureFactory()

    lecturer_html = logged_in(lecture.lecturer).get(f"/lectures/{lecture.pk}/").content.decode()
    teacher_html = logged_in(TeacherFactory()).get(f"/lectures/{lecture.pk}/").content.decode()

    assert f'href="/lectures/{lecture.pk}/studio/"' in lecturer_html
    assert json_script(lecturer_html, "config")["role"] == "lecturer"
    assert json_script(teacher_html, "config")["role"] == "observer"
    assert "data-signup-url" not in teacher_html
    assert "studio-link" not in teacher_html


def student_of(lecture: Lecture):
    return StudentFactory(profile__school__district__city=lecture.city, profile__grade=3)


def test_an_ended_lecture_shows_its_replay_with_chapters_and_the_library_questions_it_covers() -> None:
    recording = PublishedRecordingFactory()
    lecture = recording.lecture
    private = QuestionFactory(typed_text="我的私人问题")
    covered = EntryFactory(text="24个苹果平均分给6人，每人几个？", source_question=private)
    VideoAnswerFactory(entry=covered)
    withdrawn = EntryFactory(text="已撤下的问题", status=Entry.Status.WITHDRAWN)
    lecture.entries.set([covered, withdrawn])

    with translation.override("zh-hans"):
        html = logged_in(student_of(lecture)).get(f"/lectures/{lecture.pk}/").content.decode()

    assert f'src="/api/v1/lectures/{lecture.pk}/recording/video"' in html
    assert f'poster="/api/v1/lectures/{lecture.pk}/recording/poster"' in html
    assert 'controls playsinline preload="metadata" aria-label="「' + lecture.title + '」回放"' in html
    chapters = re.findall(
        r'data-seconds="([\d.]+)" data-testid="chapter">\s*<span class="chapter-title">(.*?)</span>\s*'
        r'<span class="chapter-time">(.*?)</span>',
        html,
    )
    assert chapters == [("0", "第 1 页", "0:00"), ("95.5", "第 2 页", "1:36"), ("310.0", "第 3 页", "5:10")]
    assert json_script(html, "replay-config") == {
        "watchedUrl": f"/api/v1/lectures/{lecture.pk}/replay/watched",
        "duration": 600.0,
    }
    assert "本讲解答的问题" in html
    assert covered.text in html
    assert "讲解视频，3:05" in html
    assert "12-5=7（个）" in html  # its worked solution
    assert withdrawn.text not in html
    assert private.typed_text not in html
    assert f"/questions/{private.pk}/" not in html
    assert "frontend/js/lecture-replay.js" in html


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (LectureRecording.Status.PENDING, "回放正在生成，请过几分钟再来看。"),
        (LectureRecording.Status.RENDERING, "回放正在生成，请过几分钟再来看。"),
        (LectureRecording.Status.FAILED, "这场讲座的回放未能生成。"),
    ],
)
def test_a_replay_not_yet_published_is_said_so_and_not_shown(status, message) -> None:
    lecture = PublishedRecordingFactory(status=status).lecture

    with translation.override("zh-hans"):
        html = logged_in(student_of(lecture)).get(f"/lectures/{lecture.pk}/").content.decode()

    assert re.findall(r'data-testid="replay-state">(.*?)</p>', html) == [message]
    assert "<video" not in html
    assert 'id="replay-config"' not in html
    assert "lecture-replay.js" not in html


def test_a_replay_is_not_found_by_a_student_outside_the_lectures_scope() -> None:
    lecture = PublishedRecordingFactory().lecture
    elsewhere = StudentFactory(profile__school__district__city=CityFactory(name="杭州市"), profile__grade=3)

    assert logged_in(elsewhere).get(f"/lectures/{lecture.pk}/").status_code == 404


# --- Workload and stipends ---------------------------------------------------------------------


@pytest.fixture
def stated_november():
    teacher, school, *_ = month_of_work()
    stipend_services.statements_build(date(2026, 10, 1))
    stipend_services.statements_build(NOVEMBER_2026)
    return teacher, school, SchoolMonth.objects.get(month=NOVEMBER_2026)


def test_a_teacher_sees_their_statements_and_a_statement_with_its_days(stated_november):
    teacher, _, _ = stated_november
    client = logged_in(teacher)

    listing = client.get(reverse("frontend:stipends"))
    detail = client.get(reverse("frontend:stipend-statement", args=["2026-11"]))

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert [row["total_fen"] for row in listing.context["statements"]] == [31802, 7000]
    assert "3.70 课时 · 318.02 元 · 3 积分" in listing.content.decode()
    assert [day.day.isoformat() for day in detail.context["days"]] == ["2026-11-02", "2026-11-07"]
    assert detail.context["may_object"] is False


@pytest.mark.parametrize("month", ["2026-12", "2026-13", "november"])
def test_a_month_without_the_teachers_statement_is_404(stated_november, month):
    assert logged_in(stated_november[0]).get(reverse("frontend:stipend-statement", args=[month])).status_code == 404


def test_another_teachers_statement_is_not_theirs_to_see(stated_november):
    response = logged_in(TeacherFactory()).get(reverse("frontend:stipend-statement", args=["2026-11"]))

    assert response.status_code == 404


@pytest.mark.parametrize("make", [StudentFactory, StaffFactory])
def test_students_and_staff_have_no_stipend_pages(make):
    assert logged_in(make()).get(reverse("frontend:stipends")).status_code == 404


def test_a_school_administrator_reviews_their_schools_month_with_its_flags(stated_november):
    teacher, school, school_month = stated_november
    client = logged_in(school_administrator(school))

    listing = client.get(reverse("frontend:stipends"))
    month = client.get(reverse("frontend:stipend-month", args=[school_month.pk]))

    assert [each.month.isoformat() for each in listing.context["months"]] == ["2026-11-01", "2026-10-01"]
    assert "stated_months" not in listing.context
    assert [(row["teacher"], row["total_fen"], row["flags"]) for row in month.context["rows"]] == [
        (teacher.pk, 31802, [])
    ]


def test_another_schools_administrator_gets_404(stated_november):
    other = school_administrator(TeacherFactory().teacher_profile.school)

    assert logged_in(other).get(reverse("frontend:stipend-month", args=[stated_november[2].pk])).status_code == 404


def test_a_district_administrator_reads_the_totals_by_school_for_a_month(stated_november):
    _, school, _ = stated_november
    district_admin = UserFactory(role=User.Role.ADMINISTRATOR)
    AdministratorProfile.objects.create(user=district_admin, city=school.district.city, district=school.district)

    response = logged_in(district_admin).get(reverse("frontend:stipends"), {"month": "2026-10"})

    assert [month.isoformat() for month in response.context["stated_months"]] == ["2026-11-01", "2026-10-01"]
    assert [(row["school"], row["teachers"], row["total_fen"]) for row in response.context["totals"]] == [
        (school, 1, 7000)
    ]
