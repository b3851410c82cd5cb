from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.admin import ReadOnlyAdmin, ReadOnlyPermissions
from tutoring.core.errors import ServiceError
from tutoring.stipends import services
from tutoring.stipends.models import (
    Adjustment,
    AuditEntry,
    LedgerLine,
    Objection,
    SchoolMonth,
    Statement,
    StatementDay,
    StipendRule,
)
from tutoring.stipends.pricing import yuan


@admin.register(LedgerLine)
class LedgerLineAdmin(ReadOnlyAdmin):
    """A line is a reading of the facts, rebuilt by ``ledger_build``, never edited."""

    list_display = ("day", "teacher", "kind", "source", "counted_ms", "students", "rating", "flag")
    list_filter = ("kind", "flag", "day")
    search_fields = ("teacher__username", "source")
    date_hierarchy = "day"


@admin.register(StipendRule)
class StipendRuleAdmin(admin.ModelAdmin):
    """Drafts are written here and put in force by the action; a version in force is read only."""

    list_display = ("__str__", "effective_from", "status", "class_hour_minutes", "evening_fen", "activated_at")
    list_filter = ("status",)
    actions = ["activate"]
    exclude = ("created_by", "status", "activated_at")
    readonly_fields = ("preview",)

    @admin.display(description=_("What this draft would have paid in the last month stated"))
    def preview(self, rule: StipendRule) -> str:
        if rule.pk is None or rule.status != StipendRule.Status.DRAFT:
            return str(self.get_empty_value_display())
        rows = services.rule_preview(rule)
        if not rows:
            return gettext("No month is stated for this place yet.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            gettext("School"),
            gettext("Teacher"),
            gettext("Stated (yuan)"),
            gettext("With this draft (yuan)"),
            gettext("Stated credit"),
            gettext("Credit with this draft"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row["school"],
                        row["teacher"],
                        yuan(row["stated_fen"]),
                        yuan(row["draft_fen"]),
                        row["stated_credit"],
                        row["draft_credit"],
                    )
                    for row in rows
                ),
            ),
        )

    def has_change_permission(self, request: HttpRequest, obj: StipendRule | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.status == StipendRule.Status.DRAFT)

    def has_delete_permission(self, request: HttpRequest, obj: StipendRule | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == StipendRule.Status.DRAFT)

    def save_model(self, request: HttpRequest, obj: StipendRule, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = cast(User, request.user)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Put the chosen draft versions in force"))
    def activate(self, request: HttpRequest, queryset: QuerySet[StipendRule]) -> None:
        for rule in queryset:
            try:
                services.rule_activate(rule=rule, user=cast(User, request.user))
            except ServiceError as error:
                self.message_user(request, f"{rule}: {error.message}", level="error")


class StatementDayInline(ReadOnlyPermissions, admin.TabularInline):
    model = StatementDay
    extra = 0


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("month", "school", "teacher", "workload_ms", "amount_fen", "credit", "built_at")
    list_filter = ("month",)
    search_fields = ("teacher__username",)
    inlines = [StatementDayInline]


@admin.register(SchoolMonth)
class SchoolMonthAdmin(ReadOnlyAdmin):
    list_display = ("month", "school", "status", "publicity_ends_at", "approved_by", "reported_at")
    list_filter = ("status", "month")


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    list_display = ("month", "school", "teacher", "amount_fen", "credit", "reason", "author", "carried_from")
    list_filter = ("month",)


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("school_month", "teacher", "reason", "created_at", "answer", "answered_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "target", "before", "after")
    list_filter = ("action",)
