"""Questions, upvotes, moderation and quick checks in a live lecture, over the real ASGI app, Redis and PostgreSQL."""

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import StudentFactory, TeacherFactory
from tests.samples import STROKE, question_photo
from tests.sockets import next_of
from tests.tutoring.lectures.test_consumers import enter, framed_until, live_lecture, stored_log
from tutoring.lectures import services
from tutoring.lectures.models import LectureEvent, LectureFact, LecturePollAnswer, LectureQuestion, LectureUpvote

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]


def live_lecture_with_moderator():
    lecture = live_lecture()
    moderator = TeacherFactory()
    lecture.moderators.add(moderator)
    return lecture, moderator


async def until(ws, kind: str, check) -> dict:
    """The first message of type ``kind`` that passes ``check`` (the state arrives on the hub's ticks)."""
    while not check(message := await next_of(ws, kind)):
        pass
    return message


def facts(lecture_id: int) -> list[tuple]:
    rows = LectureFact.objects.filter(lecture_id=lecture_id).exclude(kind__in=["started", "joined", "left"])
    return [(fact.kind, fact.data) for fact in rows.order_by("id")]


async def test_questions_are_upvoted_moderated_and_reach_every_screen_without_names():
    lecture, moderator_user = await sync_to_async(live_lecture_with_moderator)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    moderator, snapshot = await enter(lecture, moderator_user)
    asker_user, voter_user = await sync_to_async(StudentFactory)(), await sync_to_async(StudentFactory)()
    asker, _ = await enter(lecture, asker_user)
    voter, _ = await enter(lecture, voter_user)

    await asker.send_json_to({"type": "question.ask", "text": "  为什么  要进位？ "})
    asked = (await next_of(asker, "question.asked"))["question"]
    await voter.send_json_to({"type": "question.ask", "text": "广告 加我"})
    spam = (await next_of(voter, "question.asked"))["question"]
    await voter.send_json_to({"type": "question.upvote", "question": asked["id"]})
    upvoted = await next_of(voter, "question.upvoted")
    await voter.send_json_to({"type": "question.upvote", "question": asked["id"]})  # again: no change
    again = await next_of(voter, "question.upvoted")
    await asker.send_json_to({"type": "question.upvote", "question": asked["id"]})
    own = await next_of(asker, "error")
    ranked = await until(moderator, "lecture.moderation", lambda m: len(m["questions"]) == 2)
    await moderator.send_json_to({"type": "question.pin", "question": asked["id"]})
    pinned = await until(asker, "lecture.interaction", lambda m: m["pinned"] is not None)
    await lecturer.send_json_to({"type": "question.hide", "question": spam["id"]})
    hidden = await until(voter, "lecture.interaction", lambda m: len(m["questions"]) == 1)
    await moderator.send_json_to({"type": "question.answer", "question": asked["id"]})
    answered = await until(voter, "lecture.interaction", lambda m: m["questions"][0]["status"] == "answered")
    late, late_snapshot = await enter(lecture, voter_user)
    for ws in (lecturer, moderator, asker, voter, late):
        await ws.disconnect()

    assert snapshot["moderation"] == {
        "hands": [],
        "raised": 0,
        "chat_open": False,
        "pinned": None,
        "questions": [],
        "poll": None,
    }
    assert asked == {"id": asked["id"], "text": "为什么 要进位？", "status": "open", "upvotes": 0, "photo": None}
    assert (upvoted["question"]["upvotes"], again["question"]["upvotes"]) == (1, 1)
    assert own["code"] == "own_question"
    assert [(q["id"], q["upvotes"]) for q in ranked["questions"]] == [(asked["id"], 1), (spam["id"], 0)]
    assert pinned["pinned"] == {**asked, "upvotes": 1}
    assert [q["id"] for q in hidden["questions"]] == [asked["id"]]
    assert answered["pinned"]["status"] == "answered"
    assert late_snapshot["interaction"] == {k: answered[k] for k in ("chat", "stage", "pinned", "questions", "poll")}
    assert late_snapshot["mine"] == {"hand": None, "upvoted": [asked["id"]], "answered": None}
    assert "moderation" not in late_snapshot
    assert "student" not in str(answered) and asker_user.username not in str(answered)
    assert await stored_log(lambda: facts(lecture.pk)) == [
        ("asked", {"question": asked["id"], "text": "为什么 要进位？"}),
        ("asked", {"question": spam["id"], "text": "广告 加我"}),
        ("upvoted", {"question": asked["id"]}),
        ("question_pinned", {"question": asked["id"]}),
        ("question_hidden", {"question": spam["id"]}),
        ("question_answered", {"question": asked["id"]}),
    ]


async def test_a_question_asked_with_a_photo_reaches_the_moderators_and_the_viewers_with_it_once():
    lecture, moderator_user = await sync_to_async(live_lecture_with_moderator)()
    moderator, _ = await enter(lecture, moderator_user)
    asker_user = await sync_to_async(StudentFactory)()
    asker, _ = await enter(lecture, asker_user)
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    photo = await sync_to_async(services.lecture_question_photo_add)(
        lecture_id=lecture.pk, student=asker_user, file=SimpleUploadedFile("IMG_0001.jpg", question_photo())
    )

    await asker.send_json_to({"type": "question.ask", "text": "看图：这道题怎么做？", "photo": photo.pk})
    asked = (await next_of(asker, "question.asked"))["question"]
    await asker.send_json_to({"type": "question.ask", "text": "再问一次", "photo": photo.pk})
    again = await next_of(asker, "error")
    moderated = await until(moderator, "lecture.moderation", lambda m: m["questions"])
    shown = await until(viewer, "lecture.interaction", lambda m: m["questions"])
    for ws in (moderator, asker, viewer):
        await ws.disconnect()

    base = f"/api/v1/lectures/{lecture.pk}/questions/{asked['id']}/photo"
    assert asked["photo"] == {"url": f"{base}/image", "thumbnail_url": f"{base}/thumbnail"}
    assert (moderated["questions"], shown["questions"]) == ([asked], [asked])
    assert again["code"] == "unknown_photo"
    assert await stored_log(lambda: facts(lecture.pk)) == [
        ("asked", {"question": asked["id"], "text": "看图：这道题怎么做？", "photo": photo.pk})
    ]


async def test_a_student_cannot_moderate_or_run_a_quick_check_and_the_socket_goes_on():
    lecture = await sync_to_async(live_lecture)()
    student, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    observer, _ = await enter(lecture, await sync_to_async(TeacherFactory)())
    another, _ = await enter(lecture, await sync_to_async(StudentFactory)())  # a socket sends six in a burst
    await student.send_json_to({"type": "question.ask", "text": "一"})
    asked = (await next_of(student, "question.asked"))["question"]

    refused = []
    for ws, message in [
        (student, {"type": "question.pin", "question": asked["id"]}),
        (student, {"type": "poll.open", "kind": "choice", "options": ["对", "错"]}),
        (observer, {"type": "question.hide", "question": asked["id"]}),
        (observer, {"type": "question.ask", "text": "老师的问题"}),
        (student, {"type": "question.upvote", "question": "1"}),
        (student, {"type": "question.ask", "text": "长" * 301}),
        (another, {"type": "question.ask", "text": "   "}),
        (another, {"type": "poll.answer", "poll": 99999, "answer": 0}),
    ]:
        await ws.send_json_to(message)
        refused.append((await next_of(ws, "error"))["code"])
    await student.send_json_to({"type": "ping"})
    pong = await next_of(student, "pong")
    for ws in (student, observer, another):
        await ws.disconnect()

    assert refused == [
        "not_allowed",
        "not_allowed",
        "not_allowed",
        "not_allowed",
        "unknown_question",
        "question_too_long",
        "empty_question",
        "poll_closed",
    ]
    assert pong == {"type": "pong"}
    assert await stored_log(lambda: list(LectureQuestion.objects.values_list("text", "status"))) == [("一", "open")]
    assert await stored_log(lambda: [kind for kind, _ in facts(lecture.pk)]) == ["asked"]


async def test_a_quick_check_is_answered_once_and_its_distribution_shows_to_everyone_when_closed():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    first, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    second, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    await lecturer.send_json_to(
        {"type": "poll.open", "kind": "choice", "prompt": "7×8=?", "options": ["54", "56", "58"]}
    )
    poll_id = (await next_of(lecturer, "poll.opened"))["poll"]
    shown = await until(first, "lecture.interaction", lambda m: m["poll"] is not None)
    await lecturer.send_json_to({"type": "poll.open", "kind": "number"})
    second_poll = await next_of(lecturer, "error")
    await first.send_json_to({"type": "poll.answer", "poll": poll_id, "answer": 1})
    mine = await next_of(first, "poll.answered")
    await first.send_json_to({"type": "poll.answer", "poll": poll_id, "answer": 2})
    twice = await next_of(first, "error")
    await second.send_json_to({"type": "poll.answer", "poll": poll_id, "answer": 3})
    no_such_option = await next_of(second, "error")
    await second.send_json_to({"type": "poll.answer", "poll": poll_id, "answer": 0})
    await next_of(second, "poll.answered")
    live = await until(lecturer, "lecture.moderation", lambda m: m["poll"]["answers"] == 2)
    await lecturer.send_json_to({"type": "poll.close", "poll": poll_id})
    closed = await until(second, "lecture.interaction", lambda m: m["poll"]["status"] == "closed")
    await second.send_json_to({"type": "poll.answer", "poll": poll_id, "answer": 1})
    after_close = await next_of(second, "error")
    for ws in (lecturer, first, second):
        await ws.disconnect()

    assert shown["poll"] == {
        "id": poll_id,
        "kind": "choice",
        "prompt": "7×8=?",
        "options": ["54", "56", "58"],
        "status": "open",
    }
    assert second_poll["code"] == "poll_open"
    assert mine == {"type": "poll.answered", "poll": poll_id, "choice": 1, "number": None}
    assert [twice["code"], no_such_option["code"], after_close["code"]] == [
        "already_answered",
        "invalid_answer",
        "poll_closed",
    ]
    assert (live["poll"]["counts"], closed["poll"]["counts"], closed["poll"]["answers"]) == ([1, 1, 0], [1, 1, 0], 2)
    assert await stored_log(lambda: LecturePollAnswer.objects.count()) == 2
    assert await stored_log(lambda: [(kind, data.get("answers")) for kind, data in facts(lecture.pk)]) == [
        ("poll_opened", None),
        ("poll_answered", None),
        ("poll_answered", None),
        ("poll_closed", 2),
    ]


async def test_a_student_asks_within_the_limits_and_a_flood_is_refused():
    lecture = await sync_to_async(live_lecture)()
    student, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    other, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    await other.send_json_to({"type": "question.ask", "text": "别人的问题"})
    theirs = (await next_of(other, "question.asked"))["question"]

    outcomes = []
    for number in range(3):  # two a minute
        await student.send_json_to({"type": "question.ask", "text": f"问题{number}"})
        reply = await student.receive_json_from(timeout=5)
        outcomes.append(reply.get("code", reply["type"]))
    for _ in range(8):  # three a second, bursts of six; three sent already
        await student.send_json_to({"type": "question.upvote", "question": theirs["id"]})
        reply = await student.receive_json_from(timeout=5)
        outcomes.append(reply.get("code", reply["type"]))
    for ws in (student, other):
        await ws.disconnect()

    assert outcomes == [
        "question.asked",
        "question.asked",
        "rate_limited",
        *["question.upvoted"] * 3,
        *["rate_limited"] * 5,
    ]
    assert await stored_log(lambda: LectureUpvote.objects.filter(lecture_question_id=theirs["id"]).count()) == 1


async def test_a_raised_hand_is_invited_to_draw_then_to_speak_one_at_a_time_and_taken_back():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    drawer_user, speaker_user = await sync_to_async(StudentFactory)(), await sync_to_async(StudentFactory)()
    drawer, _ = await enter(lecture, drawer_user)
    speaker, _ = await enter(lecture, speaker_user)
    watcher, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    await drawer.send_json_to({**STROKE, "stroke": "s1"})
    before_invite = await next_of(drawer, "error")
    hands = []
    for ws in (drawer, speaker, drawer):  # the second raise of the same student changes nothing
        await ws.send_json_to({"type": "hand.raise"})
        hands.append((await next_of(ws, "hand.raised"))["hand"])
    queue = await until(lecturer, "lecture.moderation", lambda m: m["raised"] == 2)
    await lecturer.send_json_to({"type": "hand.invite", "hand": hands[0]["id"], "mode": "draw"})
    staged = await until(watcher, "lecture.interaction", lambda m: m["stage"] is not None)
    await until(drawer, "lecture.interaction", lambda m: m["stage"] is not None)  # its process knows too
    await drawer.send_json_to({**STROKE, "stroke": "s1", "ref": "d1"})
    drawn = await next_of(drawer, "board.stroke")
    seen = await framed_until(watcher, drawn["seq"])
    await speaker.send_to(bytes_data=b"\x01\x02" * 800)
    not_yet = await next_of(speaker, "error")
    await lecturer.send_json_to({"type": "hand.invite", "hand": hands[1]["id"], "mode": "speak"})
    await until(speaker, "lecture.interaction", lambda m: m["stage"] and m["stage"]["mode"] == "speak")
    await speaker.send_to(bytes_data=b"\x01\x02" * 800)
    heard_by_lecturer = await lecturer.receive_output(timeout=5)
    while "bytes" not in heard_by_lecturer:
        heard_by_lecturer = await lecturer.receive_output(timeout=5)
    await drawer.send_json_to({**STROKE, "stroke": "s2", "ref": "d2"})
    no_longer = await next_of(drawer, "error")
    await lecturer.send_json_to({"type": "hand.end", "hand": hands[1]["id"]})
    await until(watcher, "lecture.interaction", lambda m: m["stage"] is None)
    for ws in (lecturer, drawer, speaker, watcher):
        await ws.disconnect()

    assert before_invite["code"] == "not_allowed"
    assert hands[0] == hands[2] == {"id": hands[0]["id"], "status": "raised", "mode": ""}
    assert [(hand["id"], hand["status"]) for hand in queue["hands"]] == [(h["id"], "raised") for h in hands[:2]]
    assert staged["stage"] == {"hand": hands[0]["id"], "mode": "draw"}
    assert (drawn["by"], drawn["ref"], [(event["stroke"], event["by"]) for event in seen]) == (
        "student",
        "d1",
        [("s1", "student")],
    )
    assert (not_yet["code"], no_longer["code"]) == ("not_allowed", "not_allowed")
    assert heard_by_lecturer["bytes"] == b"\x01\x02" * 800
    assert await stored_log(lambda: list(LectureEvent.objects.values_list("by", "data__stroke"))) == [("student", "s1")]
    hand_facts = await stored_log(
        lambda: [(kind, data.get("outcome"), data.get("mode")) for kind, data in facts(lecture.pk) if "hand" in kind]
    )
    assert hand_facts == [
        ("hand_raised", None, None),
        ("hand_raised", None, None),
        ("hand_invited", None, "draw"),
        ("hand_ended", "next", "draw"),
        ("hand_invited", None, "speak"),
        ("hand_ended", "taken_back", "speak"),
    ]


async def test_the_chat_is_open_only_while_the_lecturer_switches_it_on_and_shows_without_names():
    lecture = await sync_to_async(live_lecture)()
    lecturer, snapshot = await enter(lecture, lecture.lecturer)
    talker_user = await sync_to_async(StudentFactory)()
    talker, _ = await enter(lecture, talker_user)
    reader, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    await talker.send_json_to({"type": "chat.send", "text": "老师好"})
    closed = await next_of(talker, "error")
    await talker.send_json_to({"type": "chat.switch", "open": True})
    not_theirs = await next_of(talker, "error")
    await lecturer.send_json_to({"type": "chat.switch", "open": True})
    await until(talker, "lecture.interaction", lambda m: m["chat"]["open"])
    await talker.send_json_to({"type": "chat.send", "text": "  老师  好 "})
    sent = await next_of(talker, "chat.sent")
    shown = await until(reader, "lecture.interaction", lambda m: m["chat"]["messages"])
    await lecturer.send_json_to({"type": "chat.switch", "open": False})
    switched_off = await until(reader, "lecture.interaction", lambda m: not m["chat"]["open"])
    await talker.send_json_to({"type": "chat.send", "text": "还在吗"})
    after = await next_of(talker, "error")
    for ws in (lecturer, talker, reader):
        await ws.disconnect()

    assert snapshot["moderation"]["chat_open"] is False
    assert (closed["code"], not_theirs["code"], after["code"]) == ("chat_closed", "not_allowed", "chat_closed")
    assert shown["chat"] == {"open": True, "messages": [{"id": sent["message"]["id"], "text": "老师 好"}]}
    assert switched_off["chat"]["messages"] == shown["chat"]["messages"]
    assert talker_user.username not in str(shown)
    assert await stored_log(lambda: [(kind, data) for kind, data in facts(lecture.pk) if kind == "chat_switched"]) == [
        ("chat_switched", {"open": True}),
        ("chat_switched", {"open": False}),
    ]
