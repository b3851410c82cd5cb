"""What is happening now in a place (the city, a district or a school): the administrators' live view.

Unlike the other insights, these figures are not read from the rollups (they lag by a minute): each is one count
over the rows the other apps keep of their current state (the live queue, the duty states, the open session rooms
and their sockets, the live lectures and their sockets), starting from an index on that state, never a scan of the
questions' history. ``live_figures_read`` keeps the last reading of a place for ``INSIGHTS_LIVE_SECONDS`` in the
cache shared by every web process, so however many administrators watch a place, it is counted about once per
interval.

A figure about the place's students shows nothing where fewer than MIN_GROUP students are enrolled there (as
every insight does); counts of people online are aggregates and never come with a name. Teachers on duty and
lectures live are shown whatever the place's size: they are not about its students."""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import StudentProfile
from tutoring.core.errors import ServiceError
from tutoring.insights.selectors import MIN_GROUP, Filters, _place_schools
from tutoring.lectures.models import Lecture, LectureConnection
from tutoring.lectures.selectors import VIEWER
from tutoring.routing.models import Duty, Ticket
from tutoring.schools.models import School
from tutoring.sessions.models import Role, SessionConnection, TutoringSession

LECTURES_SHOWN = 20  # the live lectures listed with their audience, earliest started first


@dataclass(frozen=True)
class LiveFigure:
    code: str
    label: Promise
    definition: Promise
    about_students: bool  # shown only where the place has at least MIN_GROUP students


LIVE_FIGURES: tuple[LiveFigure, ...] = (
    LiveFigure(
        "students_online",
        _("Students online now"),
        _(
            "Students of the place who are live with the platform now: waiting in the queue for a teacher, in a "
            "session room with a socket heard from in the last minute, or watching a live lecture. Students only "
            "reading answers are not counted (nothing records them)."
        ),
        True,
    ),
    LiveFigure(
        "questions_waiting",
        _("Questions waiting"),
        _("Questions of the place's students in the live queue now, waiting for a teacher or offered to one."),
        True,
    ),
    LiveFigure(
        "teachers_on_duty",
        _("Teachers on duty"),
        _(
            "Teachers on duty now (available, their console connected, inside a shift) whose duty covers the "
            "place's students: a duty for the whole city counts for each of its districts and schools, a "
            "district's for each of its schools."
        ),
        False,
    ),
    LiveFigure(
        "sessions_running",
        _("Sessions running"),
        _("Session rooms open now (a teacher accepted, the session has not ended) for the place's students."),
        True,
    ),
    LiveFigure(
        "lectures_live",
        _("Lectures live"),
        _("Lectures live now that the place's students may watch (for the city, their district or their school)."),
        False,
    ),
    LiveFigure(
        "lecture_audience",
        _("Watching lectures"),
        _("Students of the place watching a live lecture now (open sockets; two tabs count once)."),
        True,
    ),
)


@dataclass(frozen=True)
class LivePlace:
    """A place the figures are about: a school (with its district and city), a district (with its city), a
    city, or every city (nothing set: a superuser's whole view)."""

    city_id: int | None = None
    district_id: int | None = None
    school_id: int | None = None

    @property
    def key(self) -> str:
        return f"insights.live.{self.city_id}.{self.district_id}.{self.school_id}"


def live_place(filters: Filters) -> LivePlace:
    """The place of checked filters (``insights_filters``): the school or district chosen, else the viewer's."""
    if filters.school is not None:
        district = filters.school.district
        return LivePlace(district.city_id, district.pk, filters.school.pk)
    if filters.district is not None:
        return LivePlace(filters.district.city_id, filters.district.pk)
    scope = filters.scope
    if scope.school_id is not None and scope.district_id is None:
        school = School.objects.select_related("district").get(pk=scope.school_id)
        return LivePlace(school.district.city_id, school.district_id, school.pk)
    return LivePlace(scope.city_id, scope.district_id, scope.school_id)


def live_query(values: Mapping[str, Any]) -> dict[str, str]:
    """The place fields (``district``, ``school``) of a query string or a socket message, as ``insights_filters``
    checks them; anything but a number or text is refused."""
    query = {}
    for key in ("district", "school"):
        value = values.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ServiceError(f"invalid_{key}", _("Not a number."), field=key)
        query[key] = str(value)
    return query


def _covering(place: LivePlace) -> Q:
    """Rows with a city, district and school (an empty one: all of them) that cover the place, as routing
    matches a duty to a ticket: every field the row sets is the place's or above it."""
    covers = Q()
    for field, value in (("city", place.city_id), ("district", place.district_id), ("school", place.school_id)):
        if value is not None:
            covers &= Q(**{f"{field}__isnull": True}) | Q(**{field: value})
    return covers


def _fewer_than_min_group(schools: QuerySet[School]) -> bool:
    """Whether the place has fewer than MIN_GROUP students (read no further than that many)."""
    return StudentProfile.objects.filter(school__in=schools)[:MIN_GROUP].count() < MIN_GROUP


def _online(waiting: QuerySet[Ticket], watching: QuerySet[LectureConnection], schools: QuerySet[School] | None) -> int:
    """Distinct students queued, in a session room with a socket heard from lately, or watching a live lecture."""
    seen_after = timezone.now() - timedelta(seconds=settings.XUEWEN["SESSION_SILENT_SECONDS"])
    in_rooms = SessionConnection.objects.filter(
        session__status=TutoringSession.Status.OPEN, role=Role.STUDENT, left_at__isnull=True, seen_at__gte=seen_after
    )
    if schools is not None:
        in_rooms = in_rooms.filter(user__student_profile__school__in=schools)
    # No ordering in the parts of a UNION (SQLite refuses it; tickets are ordered by default).
    students = (
        waiting.order_by()
        .values_list("question__student_id")
        .union(in_rooms.order_by().values_list("user_id"), watching.order_by().values_list("user_id"))
    )
    return students.count()


def live_figures(filters: Filters) -> dict[str, Any]:
    """The figures of ``LIVE_FIGURES`` for the place of the filters now, and the lectures live there with the
    place's students watching each; student figures are None (and the audiences too) under MIN_GROUP.

    Each count starts from a small, indexed set: the open tickets (a partial index by school), the open sessions
    (by status), the live lectures (by city) and their open sockets (by lecture), the duty states (one per
    teacher); the place's size is read only up to MIN_GROUP students."""
    place = live_place(filters)
    schools = None if place == LivePlace() else _place_schools(filters)
    suppressed = schools is not None and _fewer_than_min_group(schools)
    lectures = list(
        Lecture.objects.filter(_covering(place), status=Lecture.Status.LIVE)
        .select_related("subject")
        .order_by("started_at", "pk")
    )
    # The place's students may watch only the lectures that cover the place.
    watching = LectureConnection.objects.filter(
        lecture_id__in=[lecture.pk for lecture in lectures], left_at__isnull=True, role=VIEWER
    )
    waiting = Ticket.objects.filter(status__in=Ticket.QUEUED)
    sessions = TutoringSession.objects.filter(status=TutoringSession.Status.OPEN)
    if schools is not None:
        watching = watching.filter(user__student_profile__school__in=schools)
        waiting = waiting.filter(school__in=schools)
        sessions = sessions.filter(ticket__school__in=schools)
    values: dict[str, int | None] = {
        "teachers_on_duty": Duty.objects.filter(_covering(place), on_duty=True).count(),
        "lectures_live": len(lectures),
        "students_online": None,
        "questions_waiting": None,
        "sessions_running": None,
        "lecture_audience": None,
    }
    audiences: dict[int, int] = {}
    if not suppressed:
        values |= {
            "students_online": _online(waiting, watching, schools),
            "questions_waiting": waiting.count(),
            "sessions_running": sessions.count(),
            "lecture_audience": watching.values("user_id").distinct().count(),
        }
        audiences = dict(watching.values_list("lecture_id").annotate(Count("user_id", distinct=True)).order_by())
    return {
        "suppressed": suppressed,
        "values": {figure.code: values[figure.code] for figure in LIVE_FIGURES},
        "lectures": [
            {
                "id": lecture.pk,
                "title": lecture.title,
                "subject": lecture.subject.name,
                "audience": None if suppressed else audiences.get(lecture.pk, 0),
            }
            for lecture in lectures[:LECTURES_SHOWN]
        ],
    }


def live_figures_read(filters: Filters) -> dict[str, Any]:
    """``live_figures`` of the filters' place as last counted, with when (``at``, ISO): counted anew when the
    cached reading is older than ``INSIGHTS_LIVE_SECONDS``. With the consumers polling at the same interval, a
    change shows at most about two intervals (plus a count) after it is committed."""
    place = live_place(filters)
    interval = settings.XUEWEN["INSIGHTS_LIVE_SECONDS"]
    cached = cache.get(place.key)
    if cached is not None and time.time() - cached["counted"] < interval:
        return cached["reading"]
    reading = {**live_figures(filters), "at": timezone.now().isoformat()}
    cache.set(place.key, {"counted": time.time(), "reading": reading}, timeout=max(60, int(interval * 10)))
    return reading
