from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.admin import FactAdmin, ReadOnlyAdmin
from tutoring.core.errors import ServiceError
from tutoring.routing import services
from tutoring.routing.models import Duty, Offer, RoutingFact, Shift, Ticket


class ShiftForm(ModelForm):
    class Meta:
        model = Shift
        fields = ["teacher", "subject", "grade_band", "city", "district", "school", "starts_at", "ends_at", "capacity"]

    def clean(self) -> dict[str, Any]:
        """The shift rules of ``shift_check``, once every field it needs is valid (field errors come first). The
        admin checks and saves in one transaction, so the check holds until ``shift_save``."""
        data = super().clean() or {}
        required = ("teacher", "subject", "grade_band", "city", "starts_at", "ends_at")
        if all(data.get(name) for name in required):
            try:
                services.shift_check(
                    **{name: data[name] for name in required},
                    district=data.get("district"),
                    school=data.get("school"),
                    shift_id=self.instance.pk,
                )
            except ServiceError as error:
                raise ValidationError(str(error.message), code=error.code) from None
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

    def save_model(self, request: HttpRequest, obj: Shift, form: Any, change: bool) -> None:
        # The admin site serves active staff only (AdminSite.has_permission): the user is signed in.
        services.shift_save(shift=obj, created_by=cast(User, request.user))


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
class RoutingFactAdmin(FactAdmin):
    list_display = ["at", "kind", "teacher", "ticket", "offer", "details"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    detail_labels = {
        "question_id": _("question"),
        "policy": _("offer policy"),
        "waited_seconds": _("waited (seconds)"),
        "offer_seconds": _("offer answered in (seconds)"),
        "answered_seconds": _("answered in (seconds)"),
        "reason": _("reason"),
        "level": _("search widened"),
        "failures": _("failed offers"),
        "shift_id": _("duty shift"),
    }
    detail_values = {
        "policy": dict(Offer.Policy.choices),
        "reason": {
            "timeout": _("no answer in time"),
            "teacher_left": _("the teacher went off duty"),
            "silent": _("the console went silent"),
            "shift_ended": _("the shift ended"),
            "left": _("went off duty"),
        },
    }
