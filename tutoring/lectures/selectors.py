from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, FloatField, Prefetch, Q, QuerySet, Sum, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import User
from tutoring.lectures.models import (
    Lecture,
    LectureChatMessage,
    LectureConnection,
    LectureEvent,
    LectureFact,
    LectureHand,
    LecturePoll,
    LecturePollAnswer,
    LectureQuestion,
    LectureQuestionPhoto,
    LectureRecording,
    LectureSignup,
    LectureSlide,
    LectureSlideDeck,
    LectureUpvote,
)
from tutoring.library.models import Answer, Entry
from tutoring.sessions.selectors import replay_duration_ms

# Who is who in a lecture's room: the lecturer writes (the studio); its moderators (teachers) moderate the
# questions and run quick checks beside the lecturer; students watch, ask, upvote and answer; staff,
# administrators and other teachers observe.
LECTURER, MODERATOR, VIEWER, OBSERVER = "lecturer", "moderator", "viewer", "observer"
MODERATING = (LECTURER, MODERATOR)
SHOWN_QUESTIONS = 10  # the top questions every viewer sees
MODERATED_QUESTIONS = 200  # the questions the lecturer and the moderators see, ranked
CHAT_SHOWN = 30  # the latest chat messages everyone sees
HANDS_SHOWN = 50  # the raised hands the lecturer and the moderators see, first raised first
UP = (LectureHand.Status.RAISED, LectureHand.Status.INVITED)
_GRACE = timedelta(hours=1)  # a lecture whose lecturer is late still shows for an hour


def lecturer_may(user: User | AnonymousUser) -> bool:
    """Administrators, and teachers with the lecturer permission, schedule and give lectures."""
    if not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or user.role == User.Role.ADMINISTRATOR
        or (user.is_teacher and user.has_perm("lectures.give_lectures"))
    )


def _for_student(student: User) -> Q:
    """The lectures of the student's grade and place: their city, district or school."""
    profile = getattr(student, "student_profile", None)
    if profile is None:
        return Q(pk__in=[])
    school = profile.school
    return (
        Q(grade_band__min_grade__lte=profile.grade, grade_band__max_grade__gte=profile.grade)
        & Q(city_id=school.district.city_id)
        & (Q(district__isnull=True) | Q(district_id=school.district_id))
        & (Q(school__isnull=True) | Q(school_id=school.pk))
    )


def lecture_visible_queryset(user: User | AnonymousUser) -> QuerySet[Lecture]:
    """The lectures ``user`` may see; every read of lectures starts here. Students: those of their grade and place;
    teachers: every lecture (they learn from each other and may be lecturers); staff: their city or district;
    administrators: all."""
    lectures = Lecture.objects.select_related("subject", "grade_band", "lecturer", "city", "district", "school")
    if not user.is_authenticated or not user.is_active:
        return lectures.none()
    if user.is_superuser or user.role == User.Role.ADMINISTRATOR or user.is_teacher:
        return lectures
    if user.is_student:
        return lectures.filter(_for_student(user))
    if user.is_research_staff and hasattr(user, "staff_profile"):
        profile = user.staff_profile
        if profile.district_id is not None:
            return lectures.filter(city_id=profile.city_id).filter(
                Q(district__isnull=True) | Q(district_id=profile.district_id)
            )
        return lectures.filter(city_id=profile.city_id)
    return lectures.none()


def access_lecture(user: User | AnonymousUser, lecture_id: int) -> Lecture:
    """The lecture with this id if ``user`` may see it; 404 otherwise."""
    lecture = lecture_visible_queryset(user).filter(pk=lecture_id).first()
    if lecture is None:
        raise Http404
    return lecture


def lecture_slides_editor(lecture: Lecture, user: User | AnonymousUser) -> bool:
    """The lecturer and administrators upload a lecture's slides."""
    return user.is_authenticated and (
        lecture.lecturer_id == user.pk or user.is_superuser or user.role == User.Role.ADMINISTRATOR
    )


def lecture_slide_deck(lecture: Lecture) -> LectureSlideDeck | None:
    """The slides uploaded for the lecture and how far their rendering is; None before any upload."""
    return LectureSlideDeck.objects.filter(lecture=lecture).first()


def lecture_slide_list(lecture: Lecture) -> list[LectureSlide]:
    """What the lecturer may put on a page: the pages of the slides in order, then the photos of the library
    questions the lecture covers."""
    return list(LectureSlide.objects.filter(lecture=lecture).order_by("number", "entry_id"))


def lecture_slide_get(lecture: Lecture, slide_id: int) -> LectureSlide:
    """One of the lecture's slides (the lecture already resolved for the user); 404 for any other."""
    slide = LectureSlide.objects.filter(lecture=lecture, pk=slide_id).first()
    if slide is None:
        raise Http404
    return slide


def lecture_slides_placed(lecture: Lecture, log: list[dict[str, Any]]) -> list[LectureSlide]:
    """The lecture's slides that its log puts on a page: what its replay shows."""
    placed = {event["attachment"] for event in log if event["type"] == "board.background" and event["attachment"]}
    return list(LectureSlide.objects.filter(lecture=lecture, pk__in=placed))


def lecture_get(lecture_id: int) -> Lecture:
    """The lecture with this id, for the machinery that has already let a user in (no access check)."""
    return Lecture.objects.get(pk=lecture_id)


def lecture_role(lecture: Lecture, user: User) -> str:
    if lecture.lecturer_id == user.pk:
        return LECTURER
    if user.is_student:
        return VIEWER
    return MODERATOR if lecture.moderators.filter(pk=user.pk).exists() else OBSERVER


def lecture_list_upcoming(*, user: User, limit: int = 20) -> list[Lecture]:
    """Live lectures and those still to come that ``user`` may see, soonest first."""
    now = timezone.now()
    lectures = lecture_visible_queryset(user).filter(
        Q(status=Lecture.Status.LIVE) | Q(status=Lecture.Status.SCHEDULED, starts_at__gte=now - _GRACE)
    )
    return list(lectures.order_by("starts_at", "id")[:limit])


def lecture_list_for_student(*, student: User, limit: int = 20) -> list[Lecture]:
    """Live lectures and those still to come, for the student's grade and place (their visible ones)."""
    return lecture_list_upcoming(user=student, limit=limit)


def lecture_signed_up_ids(*, student: User, lecture_ids: list[int]) -> set[int]:
    """Which of these lectures the student signed up for (预约)."""
    return set(
        LectureSignup.objects.filter(student=student, lecture_id__in=lecture_ids).values_list("lecture_id", flat=True)
    )


def lecture_list_signed_up_live(*, student: User) -> list[Lecture]:
    """The lectures live now that the student signed up for and may still see, soonest first."""
    return list(
        lecture_visible_queryset(student)
        .filter(status=Lecture.Status.LIVE, signups__student=student)
        .order_by("starts_at", "id")
    )


def lecture_events(lecture_id: int, *, after: int = 0) -> list[dict[str, Any]]:
    """The lecture's log after ``after``, in order, as the events the studio's socket relayed."""
    rows = LectureEvent.objects.filter(lecture_id=lecture_id, seq__gt=after).order_by("seq")
    return [LectureEvent.event(*row) for row in rows.values_list(*LectureEvent.EVENT_FIELDS)]


def lecture_replay(lecture: Lecture) -> dict[str, Any]:
    """The whole log and how long the lecture lasted: what its replay is rendered from."""
    assert lecture.started_at is not None  # only a lecture that started has a log
    log = lecture_events(lecture.pk)
    return {"duration_ms": replay_duration_ms(lecture.started_at, lecture.ended_at, log), "events": log}


def _chapter(seconds: float, page: int) -> dict[str, Any]:
    return {"seconds": seconds, "page": page, "title": _("Page %(number)s") % {"number": page + 1}}


def lecture_chapters(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replay's chapters: one at each change of page, with its time in seconds and the page shown."""
    chapters, page = [], 0  # the board opens on the first page
    for event in log:
        if event["type"] == "board.page" and event["page"] != page:
            page = event["page"]
            chapters.append(_chapter(event["at"] / 1000, page))
    return chapters


def lecture_recording_get(lecture: Lecture) -> LectureRecording | None:
    """The lecture's replay, in whatever state its rendering is; None before the lecture ended."""
    return LectureRecording.objects.filter(lecture=lecture).first()


def lecture_replay_chapters(recording: LectureRecording) -> list[dict[str, Any]]:
    """The chapters a viewer picks from: the recorded ones (page changes), after the first page from the start."""
    chapters = recording.chapters
    if chapters and chapters[0]["seconds"] == 0:
        return chapters
    return [_chapter(0, 0), *chapters]


def lecture_entry_list(lecture: Lecture) -> list[Entry]:
    """The library's answered questions the lecture covers and that still stand, each with its ready answers
    (``ready_answers``: videos first). Their texts are the library's, never a student's question."""
    ready = Answer.objects.filter(status=Answer.Status.READY).order_by("-kind", "id")  # "video" before "solution"
    return list(
        lecture.entries.filter(status=Entry.Status.ACTIVE)
        .select_related("subject", "source_question")
        .prefetch_related(Prefetch("answers", queryset=ready, to_attr="ready_answers"))
        .order_by("id")
    )


def lecture_replay_seconds(
    *, lecture_id: int | None = None, user_id: int | None = None, viewing: str | None = None
) -> float:
    """Seconds of replay video played, summed from the facts (each report counted once): of one lecture, of one
    user, or of one user in one lecture (and one of their viewings); of every replay without any."""
    facts = LectureFact.objects.filter(kind=LectureFact.Kind.REPLAY_WATCHED)
    if lecture_id is not None:
        facts = facts.filter(lecture_id=lecture_id)
    if user_id is not None:
        facts = facts.filter(user_id=user_id)
    if viewing is not None:
        facts = facts.filter(data__viewing=viewing)
    total = facts.aggregate(total=Sum(Cast(KT("data__seconds"), FloatField())))["total"]
    return round(total or 0.0, 3)


def lecture_replay_viewing_start(*, lecture_id: int, user_id: int, viewing: str) -> tuple[datetime, float] | None:
    """When the first report of a user's viewing of a replay was stored, and its seconds; None before it."""
    facts = LectureFact.objects.filter(
        kind=LectureFact.Kind.REPLAY_WATCHED, lecture_id=lecture_id, user_id=user_id, data__viewing=viewing
    )
    return facts.order_by("at", "id").values_list("at", "data__seconds").first()


def lecture_audience(lecture_id: int) -> int:
    """How many students watch now (open sockets; a student with two tabs counts once)."""
    return (
        LectureConnection.objects.filter(lecture_id=lecture_id, left_at__isnull=True, role=VIEWER)
        .values("user_id")
        .distinct()
        .count()
    )


# --- Interaction ------------------------------------------------------------------------------


def question_shown(question: LectureQuestion) -> dict[str, Any]:
    """A question as the lecture shows it (from ``questions_counted``): never the student's name. Its photo, if
    it has one, by the addresses that serve it to whoever may see it (``lecture_question_photo_get``)."""
    upvotes = getattr(question, "upvotes")  # noqa: B009  (annotated by questions_counted)
    photo = None
    if question.photo_id is not None:
        photo = {
            key: reverse("lectures:question-photo", args=[question.lecture_id, question.pk, variant])
            for key, variant in (("url", "image"), ("thumbnail_url", "thumbnail"))
        }
    return {"id": question.pk, "text": question.text, "status": question.status, "upvotes": upvotes, "photo": photo}


def lecture_question_photo_get(lecture: Lecture, user: User | AnonymousUser, question_id: int) -> LectureQuestionPhoto:
    """The photo asked with one of the lecture's questions (the lecture already resolved for ``user``): to the
    lecturer and the moderators, to the student who asked, and to the others who see the lecture while the
    question is not hidden; 404 for anyone else and any other question."""
    question = (
        LectureQuestion.objects.filter(lecture=lecture, pk=question_id, photo__isnull=False)
        .select_related("photo")
        .first()
    )
    if question is None or question.photo is None:
        raise Http404
    hidden = question.status == LectureQuestion.Status.HIDDEN
    moderating = user.is_authenticated and lecture_role(lecture, user) in MODERATING
    if hidden and question.student_id != user.pk and not moderating:
        raise Http404
    return question.photo


def questions_counted() -> QuerySet[LectureQuestion]:
    """Questions with their upvotes counted: an upvote is a row of its own, so that many at once on the same
    question never wait on one counter."""
    return LectureQuestion.objects.annotate(upvotes=Count("upvoted_by"))


def _poll(poll: LecturePoll, *, counts: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": poll.pk,
        "kind": poll.kind,
        "prompt": poll.prompt,
        "options": poll.options,
        "status": poll.status,
    }
    if counts:
        answers = poll.answers.all()
        shown["answers"] = answers.count()
        if poll.kind == LecturePoll.Kind.CHOICE:
            chosen = {row["choice"]: row["n"] for row in answers.values("choice").annotate(n=Count("id"))}
            shown["counts"] = [chosen.get(index, 0) for index in range(len(poll.options))]
        else:  # the most given numbers, most often first
            given = answers.values("number").annotate(n=Count("id")).order_by("-n", "number")[:POLL_NUMBERS_SHOWN]
            shown["counts"] = [[number_shown(row["number"]), row["n"]] for row in given]
    return shown


POLL_NUMBERS_SHOWN = 8


def number_shown(value: Decimal | None) -> str | None:
    """A given number as written: no trailing zeros, no exponent."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _ranked(lecture_id: int) -> QuerySet[LectureQuestion]:
    """The lecture's questions, open ones first (most upvoted first, then the earliest), then answered, then
    hidden."""
    rank = Case(
        When(status=LectureQuestion.Status.OPEN, then=0),
        When(status=LectureQuestion.Status.ANSWERED, then=1),
        default=2,
    )
    questions = questions_counted().filter(lecture_id=lecture_id).annotate(rank=rank)
    return questions.order_by("rank", F("upvotes").desc(), "created_at", "id")


def _interaction(lecture: Lecture, poll: LecturePoll | None, on_stage: LectureHand | None) -> dict[str, Any]:
    shown = _ranked(lecture.pk).exclude(status=LectureQuestion.Status.HIDDEN)
    pinned = shown.filter(pk=lecture.pinned_question_id).first() if lecture.pinned_question_id else None
    chat = LectureChatMessage.objects.filter(lecture_id=lecture.pk).order_by("-created_at", "-id")[:CHAT_SHOWN]
    return {
        "chat": {"open": lecture.chat_open, "messages": [{"id": m.pk, "text": m.text} for m in reversed(chat)]},
        "stage": {"hand": on_stage.pk, "mode": on_stage.mode} if on_stage else None,
        "pinned": question_shown(pinned) if pinned else None,
        "questions": [question_shown(question) for question in shown[:SHOWN_QUESTIONS]],
        "poll": _poll(poll, counts=poll.status == LecturePoll.Status.CLOSED) if poll else None,
    }


def _moderation(lecture: Lecture, poll: LecturePoll | None) -> dict[str, Any]:
    hands = LectureHand.objects.filter(lecture_id=lecture.pk, status__in=UP).select_related("student")
    return {
        "hands": [
            {"id": hand.pk, "name": str(hand.student), "status": hand.status, "mode": hand.mode}
            for hand in hands.order_by("status", "raised_at", "id")[:HANDS_SHOWN]  # "invited" before "raised"
        ],
        "raised": hands.count(),
        "chat_open": lecture.chat_open,
        "pinned": lecture.pinned_question_id,
        "questions": [question_shown(q) for q in _ranked(lecture.pk)[:MODERATED_QUESTIONS]],
        "poll": _poll(poll, counts=True) if poll else None,
    }


def _latest_poll(lecture_id: int) -> LecturePoll | None:
    return LecturePoll.objects.filter(lecture_id=lecture_id).order_by("-opened_at", "-id").first()


def lecture_moderation(lecture_id: int) -> dict[str, Any]:
    """What the lecturer and the moderators see: every question ranked (open ones first, then answered, then
    hidden), the pinned one, the hands up, the chat switch and the quick check with its live distribution."""
    return _moderation(Lecture.objects.get(pk=lecture_id), _latest_poll(lecture_id))


@dataclass(frozen=True)
class LectureLive:
    """What a lecture's hub reads for its process (``lecture_live``)."""

    interaction: dict[str, Any]  # what every viewer sees beside the board
    stage: tuple[int, str] | None  # the student invited to speak or draw now (user id) and to which
    moderation: dict[str, Any] | None  # what the moderating see, when asked for


def lecture_live(lecture_id: int, *, moderating: bool) -> LectureLive:
    """The interaction: the pinned question, the top questions (hidden ones never), the stage, the chat and the
    latest quick check (its distribution once closed: the latest closed one stays until the next opens); the
    student on stage; and, when ``moderating``, the moderation (``lecture_moderation``); each row read once."""
    lecture = Lecture.objects.get(pk=lecture_id)
    poll = _latest_poll(lecture_id)
    on_stage = LectureHand.objects.filter(lecture_id=lecture_id, status=LectureHand.Status.INVITED).first()
    return LectureLive(
        interaction=_interaction(lecture, poll, on_stage),
        stage=(on_stage.student_id, on_stage.mode) if on_stage else None,
        moderation=_moderation(lecture, poll) if moderating else None,
    )


def lecture_mine(lecture_id: int, user: User) -> dict[str, Any]:
    """A student's own part: the questions they upvoted and their answer to the latest quick check."""
    upvoted = LectureUpvote.objects.filter(lecture_question__lecture_id=lecture_id, student=user)
    answer = (
        LecturePollAnswer.objects.filter(poll__lecture_id=lecture_id, student=user)
        .order_by("-poll__opened_at", "-poll_id")
        .first()
    )
    hand = LectureHand.objects.filter(lecture_id=lecture_id, student=user, status__in=UP).first()
    return {
        "hand": {"id": hand.pk, "status": hand.status, "mode": hand.mode} if hand else None,
        "upvoted": sorted(upvoted.values_list("lecture_question_id", flat=True)),
        "answered": (
            {
                "poll": answer.poll_id,
                "choice": answer.choice,
                "number": number_shown(answer.number),
            }
            if answer
            else None
        ),
    }
