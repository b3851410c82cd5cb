"""The week's hot clusters: per city, subject and grade band, the questions asked again and again
(``matching.clustering`` groups them by their stored embeddings and their words), each with its most central
question, its size against the same cluster the week before, what became of its questions (solved by an answered
question's video, sent to a teacher, answered) and the best existing video. A cluster no video answers is what
staff turn into a new video or a lecture (``cluster_lecture_draft``).

A week is rebuilt whole (``clusters_build``): each night for the week of the day before (beat), and by
``manage.py build_clusters``. The embeddings are those stored when each question was matched; a question without
one (asked before they were stored) is encoded once and its vector stored."""

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from matching.clustering import THRESHOLD, cluster_words, clusters_find
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.insights.models import HotCluster, HotClusterQuestion
from tutoring.insights.rollups import day_bounds
from tutoring.insights.selectors import MIN_GROUP, insights_scope
from tutoring.library.index import VECTOR_DTYPE, searchable_entries, stored_vectors
from tutoring.library.models import Feedback
from tutoring.questions.models import Question, QuestionKnowledgePoint
from tutoring.questions.selectors import question_visible_queryset
from tutoring.routing.models import Ticket
from tutoring.schools.models import City, GradeBand, Subject

logger = logging.getLogger(__name__)

CLUSTER_POINTS = 3  # the knowledge points a cluster is shown with: its questions' most common
DRAFT_QUESTIONS = 5  # questions of the cluster quoted in a lecture draft


@dataclass(frozen=True)
class Built:
    cluster: HotCluster
    questions: list[int]  # the most central first
    centrality: list[float]


@dataclass(frozen=True)
class WeekQuestion:
    pk: int
    text: str
    student_id: int


def week_of(day: date) -> date:
    """The Monday of a day's week."""
    return day - timedelta(days=day.weekday())


def _week_questions(
    *, city: City, week: date, subject: Subject, band: GradeBand
) -> tuple[list[WeekQuestion], np.ndarray]:
    start, end = day_bounds(week)[0], day_bounds(week + timedelta(days=6))[1]
    rows = list(
        Question.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            subject=subject,
            grade__gte=band.min_grade,
            grade__lte=band.max_grade,
            student__student_profile__school__district__city=city,
            understood_at__isnull=False,
        )
        .exclude(text="")
        .order_by("pk")
        .values_list("pk", "text", "vector", "vector_model", "student_id")
    )
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    vectors = stored_vectors(Question, [(pk, text, vector, model) for pk, text, vector, model, _ in rows])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return [WeekQuestion(row[0], row[1], row[4]) for row in rows], vectors / np.maximum(norms, 1e-12)


def _centroid(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def _outcomes(ids: list[int]) -> dict[str, int]:
    """How many of the questions a video solved, went to a teacher, a teacher answered (as ``metrics`` counts them:
    solved_by_library, sent_to_teacher, answered)."""
    return Question.objects.filter(pk__in=ids).aggregate(
        solved_by_video=Count("pk", filter=Q(status=Question.Status.RESOLVED)),
        sent_to_teacher=Count("pk", filter=Q(Exists(Ticket.objects.filter(question=OuterRef("pk"))))),
        answered=Count("pk", filter=Q(status=Question.Status.ANSWERED)),
    )


def _best_entry(ids: list[int]) -> int | None:
    """The answered question whose video solved the most of these questions (a student said 解决了 after watching
    it); failing that, one recorded from a teacher's session on one of them. None: no video answers the cluster."""
    searchable = searchable_entries()
    solved = (
        Feedback.objects.filter(
            question_id__in=ids,
            choice=Feedback.Choice.RESOLVED,
            match__entry__in=searchable,
        )
        .values("match__entry")
        .annotate(helped=Count("question", distinct=True))
        .order_by("-helped", "match__entry")
        .first()
    )
    if solved is not None:
        return int(solved["match__entry"])
    recorded = searchable.filter(source_question_id__in=ids).order_by("pk").values_list("pk", flat=True).first()
    return int(recorded) if recorded is not None else None


def _points(ids: list[int]) -> list[int]:
    tags = QuestionKnowledgePoint.objects.filter(question_id__in=ids).values_list("point_id", flat=True)
    return [point for point, _ in Counter(tags).most_common(CLUSTER_POINTS)]


def _previous(
    *, city: City, week: date, subject: Subject, band: GradeBand
) -> tuple[list[HotCluster], np.ndarray | None]:
    before = list(
        HotCluster.objects.filter(city=city, week=week - timedelta(days=7), subject=subject, grade_band=band).order_by(
            "number"
        )
    )
    if not before:
        return [], None
    return before, np.array([np.frombuffer(cluster.centroid, VECTOR_DTYPE) for cluster in before], dtype=np.float32)


def _band_clusters(*, city: City, week: date, subject: Subject, band: GradeBand) -> list[Built]:
    questions, vectors = _week_questions(city=city, week=week, subject=subject, band=band)
    found = clusters_find(vectors, [question.text for question in questions])
    before, centroids = _previous(city=city, week=week, subject=subject, band=band)
    taken: set[int] = set()
    built = []
    for number, cluster in enumerate(found, start=1):
        ids = [questions[position].pk for position in cluster.members]
        centroid = _centroid(vectors[cluster.members])
        previous = None
        if centroids is not None:
            for position in np.argsort(-(centroids @ centroid), kind="stable"):
                if float(centroids[position] @ centroid) < THRESHOLD:
                    break
                if int(position) not in taken:
                    taken.add(int(position))
                    previous = before[int(position)]
                    break
        hot = HotCluster(
            city=city,
            week=week,
            subject=subject,
            grade_band=band,
            number=number,
            size=len(ids),
            students=len({questions[position].student_id for position in cluster.members}),
            representative_id=ids[0],
            terms=cluster.terms,
            best_entry_id=_best_entry(ids),
            previous=previous,
            previous_size=previous.size if previous else 0,
            centroid=centroid.astype(VECTOR_DTYPE).tobytes(),
            **_outcomes(ids),
        )
        built.append(Built(hot, ids, cluster.centrality))
    return built


def clusters_build(*, city: City, week: date) -> list[HotCluster]:
    """Cluster a city's questions of a week (any day of it), replacing the week's clusters; returns them."""
    week = week_of(week)
    computed = []
    for subject in Subject.objects.order_by("position", "pk"):
        for band in GradeBand.objects.filter(min_grade__lte=subject.max_grade, max_grade__gte=subject.min_grade):
            computed.extend(_band_clusters(city=city, week=week, subject=subject, band=band))
    with transaction.atomic():
        HotCluster.objects.filter(city=city, week=week).delete()
        HotCluster.objects.bulk_create([built.cluster for built in computed])
        HotClusterQuestion.objects.bulk_create(
            HotClusterQuestion(cluster=built.cluster, question_id=pk, position=position, centrality=centrality)
            for built in computed
            for position, (pk, centrality) in enumerate(zip(built.questions, built.centrality, strict=True))
        )
        Tag = HotCluster.knowledge_points.through
        Tag.objects.bulk_create(
            Tag(hotcluster_id=built.cluster.pk, knowledgepoint_id=point)
            for built in computed
            for point in _points(built.questions)
        )
    logger.info("insights.clusters_built", extra={"city_id": city.pk, "week": week.isoformat(), "count": len(computed)})
    return [built.cluster for built in computed]


def clusters_build_due(*, today: date | None = None) -> int:
    """The nightly run: every city's clusters of the week of the day before (on a Monday, the week just ended)."""
    day = (today or timezone.localdate()) - timedelta(days=1)
    return sum(len(clusters_build(city=city, week=day)) for city in City.objects.order_by("pk"))


def cluster_lecture_draft(cluster: HotCluster) -> dict[str, Any]:
    """A lecture's form filled from a cluster: title, the cluster's exercises in the description (one copy of each,
    the most typical first), subject, grade band, city, knowledge points and the best video's answered question; the
    lecturer and the time are left to staff."""
    examples: dict[tuple[str, ...], str] = {}  # one copy of each exercise, the most central first
    for text in cluster.members.order_by("position").values_list("question__text", flat=True).iterator():
        examples.setdefault(tuple(cluster_words(text)), text)
        if len(examples) == DRAFT_QUESTIONS:
            break
    questions = list(examples.values())
    points = list(cluster.knowledge_points.order_by("name"))
    title = gettext("Common problem: %(topic)s") % {
        "topic": "、".join(point.name for point in points) or "、".join(cluster.terms) or cluster.subject.name
    }
    lines = [
        gettext("%(size)s questions from %(students)s students in the week of %(week)s, for example:")
        % {"size": cluster.size, "students": cluster.students, "week": cluster.week.isoformat()},
        *(f"{number}. {text}" for number, text in enumerate(questions, start=1)),
    ]
    return {
        "title": title[:120],
        "description": "\n".join(lines),
        "subject": cluster.subject_id,
        "grade_band": cluster.grade_band_id,
        "city": cluster.city_id,
        "knowledge_points": [point.code for point in points],
        "entries": [cluster.best_entry_id] if cluster.best_entry_id else [],
    }


def clusters_city(user: User | AnonymousUser, city_id: str | None = None) -> City:
    """The city whose clusters a viewer reads: clusters are a whole city's, so only staff and administrators of a
    city (or of every city, who pick one) read them; 404 for anyone else."""
    scope = insights_scope(user)
    if scope.district_id is not None or scope.school_id is not None:
        raise Http404
    cities = City.objects.order_by("pk")
    if scope.city_id is not None:
        cities = cities.filter(pk=scope.city_id)
    elif city_id:
        cities = cities.filter(pk=int(city_id)) if city_id.isdigit() else cities.none()
    city = cities.first()
    if city is None:
        raise Http404
    return city


def cluster_weeks(city: City) -> list[date]:
    """The weeks with clusters, newest first."""
    return list(HotCluster.objects.filter(city=city).order_by("-week").values_list("week", flat=True).distinct())


def clusters_shown(
    *, city: City, week: date, subject: Subject | None = None, band: GradeBand | None = None
) -> QuerySet[HotCluster]:
    """A week's clusters as staff see them: those of at least MIN_GROUP students (a smaller one shows nothing), the
    largest first."""
    clusters = HotCluster.objects.filter(city=city, week=week, students__gte=MIN_GROUP)
    if subject is not None:
        clusters = clusters.filter(subject=subject)
    if band is not None:
        clusters = clusters.filter(grade_band=band)
    return (
        clusters.select_related("subject", "grade_band", "representative", "best_entry")
        .prefetch_related("knowledge_points")
        .order_by("-size", "subject__position", "grade_band__min_grade", "number")
    )


def cluster_get(*, user: User | AnonymousUser, cluster_id: int) -> HotCluster:
    """One shown cluster of a city the viewer reads clusters of; 404 otherwise."""
    scope = insights_scope(user)
    if scope.district_id is not None or scope.school_id is not None:
        raise Http404
    clusters = HotCluster.objects.filter(pk=cluster_id, students__gte=MIN_GROUP)
    if scope.city_id is not None:
        clusters = clusters.filter(city_id=scope.city_id)
    cluster = clusters.select_related("city", "subject", "grade_band", "representative", "best_entry").first()
    if cluster is None:
        raise Http404
    return cluster


def cluster_questions(*, user: User, cluster: HotCluster) -> QuerySet[Question]:
    """The cluster's questions the viewer may read (``question_visible_queryset``), the most central first."""
    return (
        question_visible_queryset(user)
        .filter(pk__in=cluster.members.values("question_id"))
        .annotate(cluster_position=Subquery(cluster.members.filter(question=OuterRef("pk")).values("position")[:1]))
        .order_by("cluster_position")
    )


@dataclass(frozen=True)
class ClusterFilters:
    city: City
    weeks: list[date]  # the weeks with clusters, newest first
    week: date | None  # None: no week has clusters yet
    subject: Subject | None = None
    band: GradeBand | None = None


def clusters_filters(*, user: User | AnonymousUser, query: Mapping[str, str]) -> ClusterFilters:
    """The clusters page's filters (``week``: any day of it, ``subject``: a code, ``band``: a grade band's code;
    ``city`` for those who read every city), checked; unknown values are refused in Chinese."""
    city = clusters_city(user, query.get("city"))
    weeks = cluster_weeks(city)
    week = weeks[0] if weeks else None
    if query.get("week"):
        try:
            week = week_of(date.fromisoformat(query["week"]))
        except ValueError:
            raise ServiceError("invalid_week", _("Choose a week by a date such as 2026-03-02."), field="week") from None
    subject = band = None
    if query.get("subject"):
        subject = Subject.objects.filter(code=query["subject"]).first()
        if subject is None:
            raise ServiceError("unknown_subject", _("Unknown subject."), field="subject")
    if query.get("band"):
        band = GradeBand.objects.filter(code=query["band"]).first()
        if band is None:
            raise ServiceError("unknown_band", _("Unknown grade band."), field="band")
    return ClusterFilters(city=city, weeks=weeks, week=week, subject=subject, band=band)


def clusters_of(filters: ClusterFilters) -> QuerySet[HotCluster]:
    if filters.week is None:
        return HotCluster.objects.none()
    return clusters_shown(city=filters.city, week=filters.week, subject=filters.subject, band=filters.band)
