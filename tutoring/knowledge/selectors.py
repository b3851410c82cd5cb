"""Reads of the knowledge-point taxonomies."""

from collections.abc import Sequence

from django.db.models import Count, Max
from django.utils.translation import gettext_lazy as _

from matching.knowledge import Point
from tutoring.core.errors import ServiceError
from tutoring.knowledge.models import KnowledgePoint
from tutoring.schools.models import Subject


def knowledge_point_resolve(*, subject: Subject, labels: Sequence[str]) -> list[KnowledgePoint]:
    """Each label as an active point of the subject, once each, in order: a label is a point's code, its name (a
    point without children first, where a unit shares its name with one of its points) or one of its aliases.
    A label that names no point, or an alias of several, is refused with the choices."""
    wanted = [label.strip() for label in labels if isinstance(label, str) and label.strip()]
    if len(wanted) != len(labels):
        raise ServiceError("invalid_knowledge_points", _("Knowledge points must be text."), field="knowledge_points")
    points = list(
        KnowledgePoint.objects.filter(subject=subject, is_active=True)
        .annotate(child_count=Count("children"))
        .order_by("child_count", "position", "pk")
    )
    by_code = {row.code: row for row in points}
    by_name: dict[str, KnowledgePoint] = {}
    by_alias: dict[str, list[KnowledgePoint]] = {}
    for row in points:
        by_name.setdefault(row.name, row)
        for alias in row.aliases:
            by_alias.setdefault(alias, []).append(row)
    resolved: list[KnowledgePoint] = []
    for label in wanted:
        point: KnowledgePoint | None = by_code.get(label) or by_name.get(label)
        if point is None:
            candidates = by_alias.get(label, [])
            if len(candidates) > 1:
                raise ServiceError(
                    "ambiguous_knowledge_point",
                    _("「%(label)s」 names several knowledge points; choose one: %(choices)s.")
                    % {"label": label, "choices": "、".join(candidate.name for candidate in candidates)},
                    field="knowledge_points",
                )
            point = candidates[0] if candidates else None
        if point is None:
            raise ServiceError(
                "unknown_knowledge_point",
                _("「%(label)s」 is not a knowledge point of %(subject)s.") % {"label": label, "subject": subject.name},
                field="knowledge_points",
            )
        if point not in resolved:
            resolved.append(point)
    return resolved


def knowledge_point_names(*, subject: Subject | None = None) -> list[str]:
    """The names of the active points (of a subject), in the taxonomy's order: suggestions where a teacher
    chooses points."""
    points = KnowledgePoint.objects.filter(is_active=True)
    if subject is not None:
        points = points.filter(subject=subject)
    return list(dict.fromkeys(points.order_by("subject__position", "position", "pk").values_list("name", flat=True)))


def knowledge_point_choices(*, subject: Subject) -> list[tuple[str, str]]:
    """The subject's active points as (code, name), in the taxonomy's order: where a filter picks one."""
    points = KnowledgePoint.objects.filter(subject=subject, is_active=True).order_by("position", "pk")
    return list(points.values_list("code", "name"))


def knowledge_point_version(*, subject: Subject) -> tuple[int, str]:
    """Changes whenever the subject's taxonomy does (a point added, edited, deactivated): caches key on it."""
    found = KnowledgePoint.objects.filter(subject=subject).aggregate(count=Count("pk"), last=Max("updated_at"))
    return found["count"], str(found["last"])


def knowledge_point_terms(*, subject: Subject) -> list[Point]:
    """The subject's active points as the tagger knows them: code, the words that name it, its grades."""
    rows = KnowledgePoint.objects.filter(subject=subject, is_active=True).values_list(
        "code", "name", "aliases", "min_grade", "max_grade"
    )
    return [
        Point(code=code, terms=(name, *aliases), grades=(low or subject.min_grade, high or subject.max_grade))
        for code, name, aliases, low, high in rows
    ]
