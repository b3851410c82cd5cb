"""The live view's socket, against the real ASGI application and Redis channel layer: only readers of insights,
only places in their scope, the figures on connect and again once something changes."""

import pytest
from asgiref.sync import sync_to_async

from tests.factories import SchoolFactory, StudentFactory, TeacherFactory, UserFactory, school_administrator
from tests.sockets import next_of, refused_code, socket
from tests.tutoring.insights.test_live import waiting
from tutoring.accounts.models import AdministratorProfile, User

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]

NOTHING_YET = {
    "students_online": 0,
    "questions_waiting": 0,
    "teachers_on_duty": 0,
    "sessions_running": 0,
    "lectures_live": 0,
    "lecture_audience": 0,
}


@pytest.fixture(autouse=True)
def often(settings):
    """Count a place and look for changes every 0.1 s (2 s in production)."""
    settings.XUEWEN = {**settings.XUEWEN, "INSIGHTS_LIVE_SECONDS": 0.1}


def school_of_five():
    school = SchoolFactory()
    students = [StudentFactory(profile__school=school) for _ in range(5)]
    return school, students


async def opened(user, query: str = ""):
    ws = await socket(f"/ws/insights/live/{query}", user)
    connected, _ = await ws.connect()
    assert connected is True
    return ws


async def test_anonymous_students_teachers_and_another_schools_administrator_are_refused():
    school, _ = await sync_to_async(school_of_five)()
    other = await sync_to_async(SchoolFactory)()
    administrator = await sync_to_async(school_administrator)(other)

    codes = [
        await refused_code("/ws/insights/live/"),
        await refused_code("/ws/insights/live/", await sync_to_async(StudentFactory)(profile__school=school)),
        await refused_code("/ws/insights/live/", await sync_to_async(TeacherFactory)()),
        await refused_code(f"/ws/insights/live/?school={school.pk}", administrator),
        await refused_code("/ws/insights/live/?school=x", administrator),
    ]

    assert codes == [4401, 4403, 4403, 4404, 4404]


async def test_the_figures_come_on_connect_and_again_when_a_question_is_queued():
    school, students = await sync_to_async(school_of_five)()
    await sync_to_async(waiting)(students[0])
    ws = await opened(await sync_to_async(school_administrator)(school))

    first = await next_of(ws, "live.figures")
    await sync_to_async(waiting)(students[1])
    pushed = await next_of(ws, "live.figures")
    await ws.disconnect()

    assert first["values"] == NOTHING_YET | {"students_online": 1, "questions_waiting": 1}
    assert (first["suppressed"], first["lectures"]) == (False, [])
    assert pushed["values"] == NOTHING_YET | {"students_online": 2, "questions_waiting": 2}
    assert pushed["at"] > first["at"]


async def test_nothing_is_sent_while_nothing_changes():
    school, _ = await sync_to_async(school_of_five)()
    ws = await opened(await sync_to_async(school_administrator)(school))
    await next_of(ws, "live.figures")

    quiet = await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()

    assert quiet is True


async def test_bad_messages_get_an_error_in_chinese_and_the_socket_stays_as_it_was():
    school, students = await sync_to_async(school_of_five)()
    other = await sync_to_async(SchoolFactory)()
    ws = await opened(await sync_to_async(school_administrator)(school))
    await next_of(ws, "live.figures")

    await ws.send_to(text_data="not json")
    invalid = await next_of(ws, "error")
    await ws.send_json_to({"type": "figures.all"})
    unknown = await next_of(ws, "error")
    await ws.send_json_to({"type": "place.choose", "school": other.pk})
    elsewhere = await next_of(ws, "error")
    await ws.send_json_to({"type": "place.choose", "school": ["1"]})
    not_number = await next_of(ws, "error")
    await sync_to_async(waiting)(students[0])
    still = await next_of(ws, "live.figures")  # still about the administrator's own school
    await ws.disconnect()

    assert invalid == {"type": "error", "code": "invalid_json", "message": "消息不是有效的 JSON。"}
    assert unknown == {
        "type": "error",
        "code": "unknown_type",
        "message": "未知的消息类型：此页面只发送 ping 和 place.choose。",
    }
    assert elsewhere == {"type": "error", "code": "unknown_place", "message": "未知的学校。"}
    assert not_number == {"type": "error", "code": "invalid_school", "message": "不是数字。"}
    assert still["values"]["questions_waiting"] == 1


async def test_a_city_administrator_moves_to_a_school_of_the_city():
    school, students = await sync_to_async(school_of_five)()
    await sync_to_async(waiting)(students[0])
    elsewhere = await sync_to_async(SchoolFactory)()  # same city, another district
    await sync_to_async(waiting)(await sync_to_async(StudentFactory)(profile__school=elsewhere))
    city_administrator = await sync_to_async(_city_administrator)(school)
    ws = await opened(city_administrator, f"?district={school.district_id}")
    district = await next_of(ws, "live.figures")

    await ws.send_json_to({"type": "place.choose", "school": school.pk})
    chosen = await next_of(ws, "live.figures")
    await ws.send_json_to({"type": "place.choose"})
    whole = await next_of(ws, "live.figures")
    await ws.disconnect()

    assert (district["values"]["questions_waiting"], district["suppressed"]) == (1, False)
    assert (chosen["values"]["questions_waiting"], chosen["suppressed"]) == (1, False)
    assert (whole["values"]["questions_waiting"], whole["suppressed"]) == (2, False)


def _city_administrator(school):
    user = UserFactory(role=User.Role.ADMINISTRATOR)
    AdministratorProfile.objects.create(user=user, city=school.district.city)
    return user
