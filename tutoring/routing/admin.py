from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.utils.translation import gettext_lazy as _

from tutoring.core.admin import ReadOnlyAdmin
from tutoring.routing.models import Duty, Offer, RoutingFact, Shift, Ticket


class ShiftForm(ModelForm):
    class Meta:
        model = Shift
        fields = ["teacher", "subject", "grade_band", "city", "district", "school", "starts_at", "ends_at", "capacity"]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        teacher, starts, ends = data.get("teacher"), data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            raise ValidationError(_("A shift must end after it starts."))
        district, school, city = data.get("district"), data.get("school"), data.get("city")
        if district and city and district.city_id != city.pk:
            raise ValidationError(_("The district is not in this city."))
        if school and (district is None or school.district_id != district.pk):
            raise ValidationError(_("Choose the school's district too."))
        profile = getattr(teacher, "teacher_profile", None) if teacher else None
        if teacher and (
            profile is None
            or not profile.subjects.filter(pk=getattr(data.get("subject"), "pk", None)).exists()
            or not profile.grade_bands.filter(pk=getattr(data.get("grade_band"), "pk", None)).exists()
        ):
            raise ValidationError(_("The teacher does not teach this subject and grade band."))
        if teacher and starts and ends:
            overlapping = Shift.objects.filter(teacher=teacher, starts_at__lt=ends, ends_at__gt=starts)
            if self.instance.pk:
                overlapping = overlapping.exclude(pk=self.instance.pk)
            if overlapping.exists():
                raise ValidationError(_("The teacher already has a shift at this time."))
        return data


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    form = ShiftForm
    list_display = [
        "teacher",
        "subject",
        "grade_band",
        "starts_at",
        "ends_at",
        "capacity",
        "city",
        "district",
        "school",
    ]
    list_filter = ["subject", "grade_band", "city", "district"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["teacher"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Duty)
class DutyAdmin(ReadOnlyAdmin):
    list_display = ["teacher", "on_duty", "available", "subject", "grade_band", "load", "capacity", "offered"]
    list_filter = ["on_duty", "subject", "grade_band"]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = [
        "question",
        "subject",
        "grade",
        "status",
        "queued_at",
        "failures",
        "widen_level",
        "needs_attention",
        "teacher",
    ]
    list_filter = ["needs_attention", "status", "subject", "widen_level"]
    raw_id_fields = ["question", "teacher"]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "teacher", "policy", "status", "created_at", "expires_at", "responded_at"]
    list_filter = ["status", "policy"]


@admin.register(RoutingFact)
class RoutingFactAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "teacher", "ticket", "offer", "data"]
    list_filter = ["kind"]
    date_hierarchy = "at"
