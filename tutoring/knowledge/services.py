"""Writes for the knowledge-point taxonomies."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tutoring.core.errors import ServiceError
from tutoring.knowledge.models import KnowledgePoint
from tutoring.knowledge.sources import KnowledgePointRecord
from tutoring.schools.models import MAX_GRADE, MIN_GRADE, Subject

logger = logging.getLogger(__name__)

NAME_LENGTH = KnowledgePoint._meta.get_field("name").max_length or 64
CODE_LENGTH = KnowledgePoint._meta.get_field("code").max_length or 255


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    deactivated: int


def knowledge_point_import(*, subject: Subject, records: Sequence[KnowledgePointRecord]) -> ImportSummary:
    """Make the subject's taxonomy the one in ``records`` (each point by its code: new ones created, known ones
    updated and reactivated, parents set); points of the subject the records no longer list are deactivated, so
    what was tagged with them stays. All or nothing: every record is checked before anything is written."""
    _records_check(subject, records)
    with transaction.atomic():
        existing = {point.code: point for point in KnowledgePoint.objects.select_for_update().filter(subject=subject)}
        created = updated = 0
        for position, record in enumerate(records):
            point = existing.get(record.code)
            if point is None:
                point = existing[record.code] = KnowledgePoint(subject=subject, code=record.code)
                created += 1
            else:
                updated += 1
            point.name, point.aliases, point.description = record.name, list(record.aliases), record.description
            point.min_grade, point.max_grade = record.min_grade, record.max_grade
            point.position, point.is_active, point.parent = position, True, None
            point.save()
        for record in records:
            if record.parent:
                point = existing[record.code]
                point.parent = existing[record.parent]
                point.save(update_fields=["parent", "updated_at"])
        listed = {record.code for record in records}
        gone = [point.pk for code, point in existing.items() if code not in listed and point.is_active]
        KnowledgePoint.objects.filter(pk__in=gone).update(is_active=False)
    summary = ImportSummary(created=created, updated=updated, deactivated=len(gone))
    logger.info(
        "knowledge.imported",
        extra={
            "subject": subject.code,
            "points_created": created,
            "points_updated": updated,
            "points_deactivated": len(gone),
        },
    )
    return summary


def _records_check(subject: Subject, records: Sequence[KnowledgePointRecord]) -> None:
    if not records:
        raise ServiceError("empty_taxonomy", _("The taxonomy lists no knowledge points."))
    codes: dict[str, KnowledgePointRecord] = {}
    for number, record in enumerate(records, start=1):
        where = {"number": number, "code": record.code}
        if not record.code or len(record.code) > CODE_LENGTH:
            raise ServiceError("invalid_code", _("Point %(number)s: the code is missing or too long.") % where)
        if record.code in codes:
            raise ServiceError("duplicate_code", _("Point %(number)s: the code %(code)s is listed twice.") % where)
        if not record.name or len(record.name) > NAME_LENGTH:
            raise ServiceError(
                "invalid_name", _("Point %(number)s (%(code)s): the name is missing or too long.") % where
            )
        grades = [grade for grade in (record.min_grade, record.max_grade) if grade is not None]
        if any(not MIN_GRADE <= grade <= MAX_GRADE for grade in grades) or grades != sorted(grades):
            raise ServiceError("invalid_grades", _("Point %(number)s (%(code)s): the grades are not valid.") % where)
        if grades and not (subject.min_grade <= grades[0] and grades[-1] <= subject.max_grade):
            raise ServiceError(
                "invalid_grades", _("Point %(number)s (%(code)s): the subject is not taught in its grades.") % where
            )
        codes[record.code] = record
    for number, record in enumerate(records, start=1):
        seen, parent = {record.code}, record.parent
        while parent:
            if parent not in codes:
                raise ServiceError(
                    "unknown_parent",
                    _("Point %(number)s (%(code)s): its parent %(parent)s is not listed.")
                    % {"number": number, "code": record.code, "parent": parent},
                )
            if parent in seen:
                raise ServiceError(
                    "parent_cycle",
                    _("Point %(number)s (%(code)s) is its own ancestor.") % {"number": number, "code": record.code},
                )
            seen.add(parent)
            parent = codes[parent].parent
