from django.contrib import admin

from tutoring.core.admin import ReadOnlyAdmin
from tutoring.sessions.models import Recording, SessionFact, TutoringSession


@admin.register(TutoringSession)
class TutoringSessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "question", "teacher", "student", "status", "started_at", "ended_at", "rating"]
    list_filter = ["status", "ended_reason", "rating"]
    search_fields = ["teacher__username", "teacher__display_name", "question__text"]


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = ["session", "status", "attempts", "duration_seconds", "size_bytes", "rendered_at", "error"]
    list_filter = ["status"]


@admin.register(SessionFact)
class SessionFactAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "session", "user", "data"]
    list_filter = ["kind"]
