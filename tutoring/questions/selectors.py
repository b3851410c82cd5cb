from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from tutoring.accounts.models import User
from tutoring.questions.models import Question
from tutoring.questions.serializers import question_parts_prefetch

QUESTIONS_LISTED = 50  # the newest questions a list shows


def question_displayed_queryset() -> QuerySet[Question]:
    """Questions with everything their serializer shows, the parts of the apps above included (its matches with
    their entries and answers, its sessions): five queries, however many matches."""
    return Question.objects.select_related("subject").prefetch_related("attachments", *question_parts_prefetch())


def question_visible_queryset(user: User | AnonymousUser) -> QuerySet[Question]:
    """The questions ``user`` may see; every read of questions starts here.

    Students see their own; teachers the subjects and grade bands they teach;
    teaching-research staff their city or district; administrators all.
    """
    questions = question_displayed_queryset()
    if not user.is_authenticated or not user.is_active:
        return questions.none()
    if user.is_superuser or user.role == User.Role.ADMINISTRATOR:
        return questions
    if user.is_student:
        return questions.filter(student=user)
    if user.is_teacher and hasattr(user, "teacher_profile"):
        bands = user.teacher_profile.grade_bands.all()
        in_band = Q(pk__in=[])
        for band in bands:
            in_band |= Q(grade__gte=band.min_grade, grade__lte=band.max_grade)
        return questions.filter(in_band, subject__in=user.teacher_profile.subjects.all())
    if user.is_research_staff and hasattr(user, "staff_profile"):
        profile = user.staff_profile
        if profile.district_id is not None:
            return questions.filter(student__student_profile__school__district=profile.district_id)
        return questions.filter(student__student_profile__school__district__city=profile.city_id)
    return questions.none()


def access_question(user: User | AnonymousUser, question_id: int, *, for_update: bool = False) -> Question:
    """The question with this id if ``user`` may see it; 404 otherwise (never 403: ids are not confirmed)."""
    questions = question_visible_queryset(user)
    if for_update:
        questions = questions.select_for_update(of=("self",))
    question = questions.filter(pk=question_id).first()
    if question is None:
        raise Http404
    return question


def question_list_visible(*, user: User) -> list[Question]:
    """The newest questions ``user`` may see (``question_visible_queryset``): a student's own, a teacher's
    subjects and grade bands, a staff member's city or district. The home pages and ``GET /api/v1/questions``
    list exactly these."""
    return list(question_visible_queryset(user)[:QUESTIONS_LISTED])
