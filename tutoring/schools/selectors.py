from django.utils.translation import gettext as _

from tutoring.schools.models import GradeBand, Subject


def grade_label(grade: int) -> str:
    """The display name of a grade number, e.g. 3 -> 3年级 (in the active language)."""
    return _("Grade %(number)d") % {"number": grade}


def subject_list() -> list[Subject]:
    return list(Subject.objects.all())


def grade_band_list() -> list[GradeBand]:
    return list(GradeBand.objects.order_by("min_grade"))


def subject_find(value: str) -> Subject | None:
    """A subject by its code (``math``) or its name (``数学``)."""
    value = value.strip()
    return Subject.objects.filter(code=value).first() or Subject.objects.filter(name=value).first()
