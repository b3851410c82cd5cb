from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tutoring.core.admin import FactAdmin, ReadOnlyAdmin
from tutoring.sessions.models import Recording, Role, SessionFact, TutoringSession


@admin.register(TutoringSession)
class TutoringSessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "question", "teacher", "student", "status", "started_at", "ended_at", "rating"]
    list_filter = ["status", "ended_reason", "rating"]
    search_fields = ["teacher__username", "teacher__display_name", "question__text"]


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = ["session", "status", "attempts", "duration_seconds", "size_bytes", "rendered_at", "error"]
    list_filter = ["status"]
    exclude = ["video", "poster"]  # stored where only the checked file view serves them, linked below instead
    readonly_fields = ["video_file", "poster_file"]

    @admin.display(description=_("video"))
    def video_file(self, recording: Recording) -> str:
        return self._file_link(recording, "video")

    @admin.display(description=_("poster"))
    def poster_file(self, recording: Recording) -> str:
        return self._file_link(recording, "poster")

    def _file_link(self, recording: Recording, variant: str) -> str:
        if not getattr(recording, variant):
            return self.get_empty_value_display()
        url = reverse("sessions:recording-file", kwargs={"session_id": recording.session_id, "variant": variant})
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("Open"))


@admin.register(SessionFact)
class SessionFactAdmin(FactAdmin):
    list_display = ["at", "kind", "session", "user", "details"]
    list_filter = ["kind"]
    detail_labels = {
        "ticket_id": _("waiting question"),
        "role": _("role"),
        "reason": _("end reason"),
        "duration_seconds": _("duration in seconds"),
        "events": _("event count"),
        "score": _("rating"),
        "comment": _("rating comment"),
        "text": _("text"),
        "subject": _("subject"),
        "grade": _("grade"),
        "knowledge_points": _("knowledge points"),
        "entry_id": _("answered question"),
    }
    detail_values = {"role": dict(Role.choices), "reason": dict(TutoringSession.EndReason.choices)}
