from django.utils.translation import gettext as _

from tutoring.schools.models import Subject


def grade_label(grade: int) -> str:
    """The display name of a grade number, e.g. 3 -> 3年级 (in the active language)."""
    return _("Grade %(number)d") % {"number": grade}


def subject_list() -> list[Subject]:
    return list(Subject.objects.all())
