from django.utils.translation import gettext as _

from tutoring.schools.models import GradeBand, Subject


def grade_label(grade: int) -> str:
    """The display name of a grade number, e.g. 3 -> 3年级 (in the active language)."""
    return _("Grade %(number)d") % {"number": grade}


def subject_list() -> list[Subject]:
    return list(Subject.objects.all())


def grade_band_for_grade(grade: int) -> GradeBand | None:
    return GradeBand.objects.filter(min_grade__lte=grade, max_grade__gte=grade).first()
