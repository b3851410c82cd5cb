from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import User
from tutoring.lectures.models import (
    Lecture,
    LectureConnection,
    LectureEvent,
    LectureSignup,
    LectureSlide,
    LectureSlideDeck,
)
from tutoring.sessions.selectors import replay_duration_ms

# Who is who in a lecture's room: the lecturer writes (the studio); students watch; staff, administrators and
# other teachers observe.
LECTURER, VIEWER, OBSERVER = "lecturer", "viewer", "observer"
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
    return VIEWER if user.is_student else OBSERVER


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


def lecture_events(lecture_id: int, *, after: int = 0) -> list[dict[str, Any]]:
    """The lecture's log after ``after``, in order, as the events the studio's socket relayed."""
    rows = LectureEvent.objects.filter(lecture_id=lecture_id, seq__gt=after).order_by("seq")
    return [row.as_event() for row in rows]


def lecture_replay(lecture: Lecture) -> dict[str, Any]:
    """The whole log and how long the lecture lasted: what its replay is rendered from."""
    assert lecture.started_at is not None  # only a lecture that started has a log
    log = lecture_events(lecture.pk)
    return {"duration_ms": replay_duration_ms(lecture.started_at, lecture.ended_at, log), "events": log}


def lecture_chapters(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replay's chapters: one at each change of page, with its time in seconds and the page shown."""
    chapters, page = [], 0  # the board opens on the first page
    for event in log:
        if event["type"] == "board.page" and event["page"] != page:
            page = event["page"]
            title = _("Page %(number)s") % {"number": page + 1}
            chapters.append({"seconds": event["at"] / 1000, "page": page, "title": title})
    return chapters


def lecture_audience(lecture_id: int) -> int:
    """How many students watch now (open sockets; a student with two tabs counts once)."""
    return (
        LectureConnection.objects.filter(lecture_id=lecture_id, left_at__isnull=True, role=VIEWER)
        .values("user_id")
        .distinct()
        .count()
    )
