from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from tutoring.accounts.models import User
from tutoring.library.models import Answer, Entry


def library_editor(user: User | AnonymousUser) -> bool:
    """Teachers and administrators add answered questions to the library."""
    return user.is_authenticated and (user.is_teacher or user.is_superuser or user.role == User.Role.ADMINISTRATOR)


def entry_list(
    *, subject: str | None = None, grade: int | None = None, created_by: User | None = None, limit: int = 100
) -> list[Entry]:
    entries: QuerySet[Entry] = Entry.objects.select_related("subject").prefetch_related("answers")
    if created_by is not None:
        entries = entries.filter(created_by=created_by)
    if subject:
        entries = entries.filter(subject__code=subject)
    if grade:
        entries = entries.filter(grade=grade)
    return list(entries[:limit])


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
