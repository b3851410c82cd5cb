import re

import pytest

from tests.admin_pages import admin_url, administrator_client, assert_read_only, english_on
from tests.factories import opened_session
from tutoring.sessions.models import Recording, SessionFact
from tutoring.sessions.services import session_end, session_join, session_leave, session_rate

pytestmark = pytest.mark.django_db


def test_sessions_their_facts_and_recordings_are_read_only_with_details_in_chinese():
    session = opened_session()
    session_join(session=session, user=session.student, channel_name="room-student")
    session_leave(channel_name="room-student")
    session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    session_rate(student=session.student, session_id=session.pk, score=5, comment="讲得清楚")
    ended = SessionFact.objects.get(kind=SessionFact.Kind.ENDED)
    client = administrator_client()

    page = client.get(admin_url(SessionFact, "changelist")).content.decode()

    assert re.findall(r'<td class="field-details">(.*?)</td>', page) == [
        f"排队的问题：{session.ticket_id}",
        "角色：学生",
        "角色：学生",
        f"结束原因：老师结束<br>时长（秒）：{ended.data['duration_seconds']}<br>事件数：0",
        "评分：5<br>评价留言：讲得清楚",
    ]
    assert english_on(page) == []
    assert_read_only(client, session)
    assert_read_only(client, ended)
    assert_read_only(client, Recording.objects.get())
