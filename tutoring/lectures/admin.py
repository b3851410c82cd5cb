from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.admin import FactAdmin, checkbox_choice_overrides
from tutoring.core.errors import ServiceError
from tutoring.lectures import services
from tutoring.lectures.models import Lecture, LectureFact
from tutoring.lectures.selectors import LECTURER, MODERATOR, OBSERVER, VIEWER


class LectureForm(ModelForm):
    class Meta:
        model = Lecture
        fields = [
            "title",
            "description",
            "lecturer",
            "subject",
            "grade_band",
            "city",
            "district",
            "school",
            "starts_at",
            "planned_minutes",
            "knowledge_points",
            "entries",
            "moderators",
        ]

    def clean(self) -> dict[str, Any]:
        """The rules of ``lecture_check``, once every field it needs is valid (field errors come first)."""
        data = super().clean() or {}
        required = ("lecturer", "subject", "grade_band", "city")
        if all(data.get(name) for name in required):
            scope = {name: data.get(name) for name in (*required, "district", "school")}
            try:
                services.lecture_check(Lecture(**scope))
            except ServiceError as error:
                raise ValidationError(str(error.message), code=error.code) from None
        return data


@admin.register(Lecture)
class LectureAdmin(admin.ModelAdmin):
    """Administrators schedule lectures here (the lecturer permission is granted on the user's page)."""

    form = LectureForm
    list_display = ["title", "lecturer", "subject", "grade_band", "city", "district", "school", "starts_at", "status"]
    list_filter = ["status", "subject", "grade_band"]
    search_fields = ["title", "lecturer__display_name", "lecturer__username"]
    autocomplete_fields = ["lecturer", "entries", "moderators"]
    formfield_overrides = checkbox_choice_overrides
    actions = ["cancel"]

    def save_model(self, request: HttpRequest, obj: Lecture, form: Any, change: bool) -> None:
        # The admin site serves active staff only (AdminSite.has_permission): the user is signed in.
        services.lecture_save(lecture=obj, created_by=cast(User, request.user))

    @admin.action(description=_("Cancel the chosen lectures (the students who signed up are told)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Lecture]) -> None:
        for lecture in queryset:
            try:
                services.lecture_cancel(lecture_id=lecture.pk, by=cast(User, request.user))
            except ServiceError as error:
                self.message_user(request, f"{lecture}: {error.message}", level="error")


@admin.register(LectureFact)
class LectureFactAdmin(FactAdmin):
    list_display = ["at", "kind", "lecture", "user", "details"]
    list_filter = ["kind"]
    detail_labels = {
        "starts_at": _("starts at"),
        "was": _("was to start at"),
        "role": _("role"),
        "seconds": _("seconds watched"),
        "duration_seconds": _("duration in seconds"),
        "events": _("event count"),
        "entries": _("answered questions"),
        "question": _("question"),
        "text": _("text"),
        "poll": _("quick check"),
        "poll_kind": _("kind"),
        "options": _("options"),
        "choice": _("option"),
        "number": _("number"),
        "answers": _("answers"),
        "viewing": _("viewing key"),
        "seq": _("report number"),
        "intervals": _("stretches played (seconds of the video)"),
    }
    detail_values = {
        "role": {LECTURER: _("lecturer"), MODERATOR: _("moderator"), VIEWER: _("viewer"), OBSERVER: _("observer")}
    }
