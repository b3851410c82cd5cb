import re

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group, Permission

from tests.admin_pages import admin_url, administrator_client, english_on, visible_text
from tests.factories import (
    NOVEMBER_2026,
    AdministratorFactory,
    AttachmentFactory,
    LectureFactory,
    MatchFactory,
    knowledge_points_named,
    month_of_work,
    opened_session,
    school_administrator,
)
from tutoring.core.admin import FileInput
from tutoring.lectures.admin import FilesInput
from tutoring.lectures.services import lecture_end, lecture_join, lecture_leave, lecture_start
from tutoring.library.services import question_feedback
from tutoring.sessions.services import (
    session_end,
    session_join,
    session_leave,
    session_question_correct,
    session_rate,
)
from tutoring.stipends import services as stipends
from tutoring.stipends.models import SchoolMonth

pytestmark = pytest.mark.django_db

APPS = {
    "accounts": ("账号", ["用户"]),
    "auth": ("认证和授权", ["组"]),
    "knowledge": ("知识点", ["知识点"]),
    "lectures": ("讲座", ["讲座", "讲座记录"]),
    "library": ("已解答题库", ["匹配", "反馈", "已解答题目"]),
    "questions": ("问题", ["问题"]),
    "routing": ("实时派单", ["值班安排", "值班状态", "排队的问题", "派单", "派单记录"]),
    "schools": ("学校与学科", ["区县", "城市", "学校", "学段", "学科"]),
    "stipends": (
        "工作量与补贴",
        ["公示与上报存档", "学校月度报表", "审计日志", "工作量台账", "异议", "月度报表", "补贴规则版本", "调整"],
    ),
    "tutoring_sessions": ("答疑", ["答疑", "答疑记录", "视频"]),
}


def every_record() -> None:
    """A row of every model the admin shows, written the real way: a session opened, joined, left, corrected,
    ended and rated; a photo; a match the student judged; a group with permissions; a lecture given and watched;
    a teacher's month stated, corrected, published and objected to."""
    session = opened_session()
    AttachmentFactory(question=session.question)
    session_join(session=session, user=session.student, channel_name="room-student")
    session_leave(channel_name="room-student")
    knowledge_points_named(["加法"])
    session_question_correct(teacher=session.teacher, session_id=session.pk, grade=4, knowledge_points=["加法"])
    session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    session_rate(student=session.student, session_id=session.pk, score=5, comment="讲得清楚")
    match = MatchFactory()
    question_feedback(question=match.question, choice="resolved", match_id=match.pk)
    Group.objects.create(name="教研组").permissions.set(Permission.objects.filter(codename__endswith="_match"))
    lecture = LectureFactory()
    lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    lecture_join(lecture=lecture, user=session.student, channel_name="lecture-student")
    lecture_leave(channel_name="lecture-student")
    lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    teacher, school, *_ = month_of_work()
    stipends.statements_build(NOVEMBER_2026)
    reviewer = school_administrator(school)
    school_month = SchoolMonth.objects.get()
    stipends.review_start(school_month_id=school_month.pk, user=reviewer)
    stipends.adjustment_add(
        school_month_id=school_month.pk, teacher_id=teacher.pk, amount_fen=-100, credit=0, reason="复核", user=reviewer
    )
    stipends.publicity_start(school_month_id=school_month.pk, days=3, user=reviewer)
    stipends.objection_raise(school_month_id=school_month.pk, teacher=teacher, reason="少算一天")


def test_the_index_names_the_site_every_app_and_every_model_in_chinese():
    page = administrator_client().get("/admin/")

    content = page.content.decode()
    sections = re.findall(r'<div class="app-(\w+) module.*?</table>', content, flags=re.DOTALL)
    shown = {
        label: (
            visible_text(re.search(r"<caption>(.*?)</caption>", section, flags=re.DOTALL)[1]).strip(),
            [visible_text(name).strip() for name in re.findall(r'<th scope="row"[^>]*>(.*?)</th>', section, re.DOTALL)],
        )
        for label, section in zip(
            re.findall(r'<div class="app-(\w+) module', content),
            re.findall(r'<div class="app-\w+ module.*?</table>', content, flags=re.DOTALL),
            strict=True,
        )
    }
    assert page.status_code == 200
    assert sorted(sections) == sorted(APPS)
    assert shown == APPS
    assert '<div id="site-name"><a href="/admin/">学问管理后台</a></div>' in content
    assert "<title>管理 | 学问管理后台</title>" in content
    assert english_on(content) == []


def test_every_admin_page_speaks_chinese():
    every_record()
    client = administrator_client()

    for model, model_admin in admin.site._registry.items():
        record = model._default_manager.order_by("pk").first()
        changelist = client.get(admin_url(model, "changelist"))
        change = client.get(admin_url(model, "change", record.pk))
        history = client.get(admin_url(model, "history", record.pk))
        add = client.get(admin_url(model, "add"))

        name = model._meta.label
        assert (name, changelist.status_code, change.status_code, history.status_code) == (name, 200, 200, 200)
        assert (name, english_on(changelist.content.decode())) == (name, [])
        assert (name, english_on(change.content.decode())) == (name, [])
        assert (name, english_on(history.content.decode())) == (name, [])
        if model_admin.has_add_permission(add.wsgi_request):
            assert (name, add.status_code, english_on(add.content.decode())) == (name, 200, [])
        else:
            assert (name, add.status_code) == (name, 403)


def test_permissions_are_named_in_chinese():
    every_record()
    group = Group.objects.get()
    client = administrator_client()

    page = client.get(admin_url(Group, "change", group.pk)).content.decode()

    chosen = re.findall(r'<input type="checkbox" name="permissions" value="\d+"[^>]*checked>\s*(.*?)</label>', page)
    assert chosen == [
        "已解答题库 | 匹配 | 可以添加匹配",
        "已解答题库 | 匹配 | 可以修改匹配",
        "已解答题库 | 匹配 | 可以删除匹配",
        "已解答题库 | 匹配 | 可以查看匹配",
    ]
    assert "Can " not in visible_text(page)


def test_every_file_input_of_the_admin_is_the_chinese_one(rf):
    request = rf.get("/admin/")
    request.user = AdministratorFactory()
    editable = []
    for model_admin in admin.site._registry.values():
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            editable.append((model_admin.model, model_admin.get_form(request)))
        editable += [
            (inline.model, inline.get_formset(request).form) for inline in model_admin.get_inline_instances(request)
        ]

    widgets = {
        (model._meta.label, name): type(field.widget)
        for model, form in editable
        for name, field in form.base_fields.items()
        if isinstance(field, forms.FileField)
    }

    assert widgets == {("library.Entry", "photo"): FileInput, ("lectures.Lecture", "slides"): FilesInput}
    assert issubclass(FilesInput, FileInput)  # the same input, choosing several files


def test_the_file_input_is_labelled_in_chinese():
    page = administrator_client().get("/admin/library/entry/add/").content.decode()

    assert (
        '<label class="file-choice"><input type="file" name="photo" id="id_photo">'
        '<span class="button">选择文件</span> '
        '<span class="file-choice-name" data-none="未选择文件">未选择文件</span></label>'
    ) in page
    assert '<script src="/static/core/admin/file_input.js"></script>' in page
    assert '<link href="/static/core/admin/file_input.css" media="all" rel="stylesheet">' in page
    assert english_on(page) == []
