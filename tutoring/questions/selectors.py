from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from tutoring.accounts.models import User
from tutoring.questions.models import Attachment, Question
from tutoring.questions.serializers import question_parts_prefetch

QUESTIONS_LISTED = 50  # the newest questions a list shows


def attachments_prefetch(prefix: str = "") -> Prefetch:
    """Questions' attachments in their order, in one query. The model's ordering starts with the question, which
    sorts by the questions' own ordering: a join of the questions and its compilation in every query, for rows
    that a prefetch groups by question anyway."""
    return Prefetch(f"{prefix}attachments", queryset=Attachment.objects.order_by("position"))


def question_displayed_queryset() -> QuerySet[Question]:
    """Questions with everything their serializer shows, the parts of the apps above included (its matches with
    their entries and answers, its sessions): five queries, however many matches."""
    return Question.objects.select_related("subject").prefetch_related(
        attachments_prefetch(), *question_parts_prefetch()
    )


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


def access_question(
    user: User | AnonymousUser, question_id: int, *, for_update: bool = False, displayed: bool = True
) -> Question:
    """The question with this id if ``user`` may see it; 404 otherwise (never 403: ids are not confirmed).
    With ``displayed=False`` only the row itself is read (one query, none of the parts the serializer shows):
    for a caller that checks access and hands the id to a service that locks and reads the question anew."""
    questions = question_visible_queryset(user)
    if not displayed:
        questions = questions.prefetch_related(None)
    if for_update:
        questions = questions.select_for_update(of=("self",))
    found = list(questions.filter(pk=question_id).order_by())  # one row or none: no sort to compile
    if not found:
        raise Http404
    return found[0]


def question_list_visible(*, user: User) -> list[Question]:
    """The newest questions ``user`` may see (``question_visible_queryset``): a student's own, a teacher's
    subjects and grade bands, a staff member's city or district. The home pages and ``GET /api/v1/questions``
    list exactly these."""
    return list(question_visible_queryset(user)[:QUESTIONS_LISTED])
