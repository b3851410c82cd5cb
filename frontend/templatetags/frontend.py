from django import template

from tutoring.schools.selectors import grade_label

register = template.Library()


@register.filter(name="grade_label")
def grade_label_filter(grade: int) -> str:
    """``{{ question.grade|grade_label }}``: the grade's display name in the active language."""
    return grade_label(grade)
