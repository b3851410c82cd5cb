from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from tutoring.accounts.models import User
from tutoring.knowledge.models import KnowledgePoint
from tutoring.library.models import Answer, Entry, EntryKnowledgePoint, Feedback
from tutoring.schools.selectors import subject_find


def entry_tags_prefetch(prefix: str = "") -> Prefetch:
    """An entry's knowledge-point tags with their points, best first, in one query (what its serializer shows)."""
    tags = EntryKnowledgePoint.objects.select_related("point").order_by("rank")
    return Prefetch(f"{prefix}knowledge_point_tags", queryset=tags)


def library_editor(user: User | AnonymousUser) -> bool:
    """Teachers and administrators add answered questions to the library."""
    return user.is_authenticated and (user.is_teacher or user.is_superuser or user.role == User.Role.ADMINISTRATOR)


def entry_list(
    *, subject: str | None = None, grade: int | None = None, created_by: User | None = None, limit: int = 100
) -> list[Entry]:
    entries: QuerySet[Entry] = Entry.objects.select_related("subject").prefetch_related(
        "answers", entry_tags_prefetch()
    )
    if created_by is not None:
        entries = entries.filter(created_by=created_by)
    entries = _of_subject(entries, subject)
    if grade:
        entries = entries.filter(grade=grade)
    return list(entries[:limit])


def _of_subject(entries: QuerySet[Entry], subject: str | None) -> QuerySet[Entry]:
    """The entries of a subject named by its code or its name (none for an unknown one); all without one."""
    if not subject:
        return entries
    found = subject_find(subject)
    return entries.filter(subject=found) if found is not None else entries.none()


def access_entry_for_change(user: User, entry_id: int) -> Entry:
    """An entry its creator or an administrator may change; 404 for anyone else."""
    entry = Entry.objects.filter(pk=entry_id).first()
    administrator = user.is_superuser or user.role == User.Role.ADMINISTRATOR
    if entry is None or not (administrator or (entry.created_by_id == user.pk and user.is_teacher)):
        raise Http404
    return entry


def access_answer(user: User | AnonymousUser, answer_id: int) -> Answer:
    """A ready answer of an active entry: library answers teach everyone signed in."""
    answer = Answer.objects.filter(pk=answer_id, status=Answer.Status.READY, entry__status=Entry.Status.ACTIVE).first()
    if answer is None or not user.is_authenticated:
        raise Http404
    return answer


def library_reader(user: User | AnonymousUser) -> bool:
    """Teachers, teaching-research staff and administrators browse the library."""
    return library_editor(user) or (user.is_authenticated and user.is_research_staff)


def entry_browse_list(
    *, subject: str = "", grade: int | None = None, knowledge_point: str = "", text: str = ""
) -> QuerySet[Entry]:
    """Active entries, newest first, of a subject (its code or name) and grade, with a knowledge point (exactly)
    and every word of ``text`` (in any case), each with its ready answers (``ready_answers``: videos first) and
    how many students it helped (``helped_count``)."""
    entries = _of_subject(Entry.objects.filter(status=Entry.Status.ACTIVE), subject)
    if grade:
        entries = entries.filter(grade=grade)
    for word in text.split():
        entries = entries.filter(text__icontains=word)
    if knowledge_point:
        entries = _with_knowledge_point(entries, knowledge_point)
    ready = Answer.objects.filter(status=Answer.Status.READY).order_by("-kind", "id")  # "video" before "solution"
    return (
        entries.select_related("subject")
        .prefetch_related(Prefetch("answers", queryset=ready, to_attr="ready_answers"), entry_tags_prefetch())
        .annotate(helped_count=Coalesce(_students_helped(), 0))
        .order_by("-created_at", "-pk")
    )


def _with_knowledge_point(entries: QuerySet[Entry], point: str) -> QuerySet[Entry]:
    """The entries tagged with the point named exactly ``point`` (its name or its code)."""
    tagged = EntryKnowledgePoint.objects.filter(Q(point__name=point) | Q(point__code=point)).values("entry")
    return entries.filter(pk__in=tagged)


def _students_helped() -> Subquery:
    """For the entry of the outer query: the distinct students whose last verdict on their question was 解决了 by
    a match of this entry (a student who said 还是不会 afterwards was not helped)."""
    last_verdict = Feedback.objects.filter(question=OuterRef("question")).order_by("-created_at", "-id").values("pk")
    return Subquery(
        Feedback.objects.filter(
            match__entry=OuterRef("pk"), choice=Feedback.Choice.RESOLVED, pk=Subquery(last_verdict[:1])
        )
        .values("match__entry")
        .annotate(students=Count("question__student", distinct=True))
        .values("students")
    )


def entry_knowledge_point_list() -> list[str]:
    """The names of the knowledge points the active entries are tagged with, once each, sorted: suggestions for
    the library's filter."""
    points = KnowledgePoint.objects.filter(entries__status=Entry.Status.ACTIVE)
    return sorted(set(points.values_list("name", flat=True)))
