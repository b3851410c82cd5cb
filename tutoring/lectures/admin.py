from contextlib import suppress
from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.forms import FileField, ModelForm
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.admin import FactAdmin, FileInput, ReadOnlyPermissions, checkbox_choice_overrides
from tutoring.core.errors import ServiceError
from tutoring.insights.clusters import cluster_get, cluster_lecture_draft
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureFact, LectureSlide
from tutoring.lectures.selectors import LECTURER, MODERATOR, OBSERVER, VIEWER


class FilesInput(FileInput):
    allow_multiple_selected = True


class SlidesField(FileField):
    """Several files at once (Django's pattern for ``<input multiple>``): the list chosen, empty for none."""

    widget = FilesInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(SlidesField, self).clean(file, initial) for file in files]


class LectureForm(ModelForm):
    slides = SlidesField(
        label=_("slides"),
        required=False,
        help_text=_(
            "One PDF, or pictures (JPEG, PNG or WebP) in order; they replace the slides before. Only before the "
            "lecture starts."
        ),
    )
    user: User  # who fills the form in (set by LectureAdmin.get_form)

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
        if data.get("slides"):
            try:
                services.lecture_slides_check(lecture=self.instance, user=self.user, files=data["slides"])
            except ServiceError as error:
                self.add_error("slides", ValidationError(str(error.message), code=error.code))
        return data


class LectureSlideInline(ReadOnlyPermissions, admin.TabularInline):
    """The pages of the lecture's slides and the photos of the questions it covers, as the studio offers them."""

    model = LectureSlide
    extra = 0
    fields = ["preview", "number", "entry", "width", "height"]
    readonly_fields = ["preview"]

    @admin.display(description=_("preview"))
    def preview(self, slide: LectureSlide) -> str:
        url = reverse("lectures:slide-file", args=[slide.lecture_id, slide.pk, "thumbnail"])
        return format_html('<img src="{}" alt="" height="60">', url)


@admin.register(Lecture)
class LectureAdmin(admin.ModelAdmin):
    """Administrators schedule lectures here (the lecturer permission is granted on the user's page)."""

    form = LectureForm
    list_display = ["title", "lecturer", "subject", "grade_band", "city", "district", "school", "starts_at", "status"]
    list_filter = ["status", "subject", "grade_band"]
    search_fields = ["title", "lecturer__display_name", "lecturer__username"]
    autocomplete_fields = ["lecturer", "entries", "moderators"]
    formfield_overrides = checkbox_choice_overrides
    readonly_fields = ["slides_status"]
    inlines = [LectureSlideInline]
    actions = ["cancel"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new lecture from a hot cluster (``?cluster=``, one the user may read): its draft, for staff to choose
        the lecturer and the time."""
        initial = super().get_changeform_initial_data(request)
        cluster_id = request.GET.get("cluster", "")
        if cluster_id.isdigit():
            with suppress(Http404):  # not a cluster this user reads: the form starts empty
                initial.update(cluster_lecture_draft(cluster_get(user=request.user, cluster_id=int(cluster_id))))
        initial.pop("cluster", None)
        return initial

    def get_form(self, request: HttpRequest, obj: Lecture | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request: HttpRequest, obj: Lecture, form: Any, change: bool) -> None:
        # The admin site serves active staff only (AdminSite.has_permission): the user is signed in.
        services.lecture_save(lecture=obj, created_by=cast(User, request.user))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The covered questions are saved here: their photos become slides; then the slides uploaded."""
        super().save_related(request, form, formsets, change)
        services.lecture_entry_photos_sync(lecture=form.instance)
        if form.cleaned_data.get("slides"):
            services.lecture_slides_upload(
                lecture=form.instance, user=cast(User, request.user), files=form.cleaned_data["slides"]
            )

    @admin.display(description=_("slides"))
    def slides_status(self, lecture: Lecture) -> str:
        deck = selectors.lecture_slide_deck(lecture)
        if deck is None:
            return str(self.get_empty_value_display())
        if deck.error:
            return f"{deck.get_status_display()}：{deck.error}"
        return str(deck.get_status_display())

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
        "open": _("chat open"),
        "viewing": _("viewing key"),
        "seq": _("report number"),
        "intervals": _("stretches played (seconds of the video)"),
    }
    detail_values = {
        "role": {LECTURER: _("lecturer"), MODERATOR: _("moderator"), VIEWER: _("viewer"), OBSERVER: _("observer")}
    }
