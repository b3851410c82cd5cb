from collections.abc import Mapping
from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.admin import ReadOnlyAdmin, ReadOnlyPermissions
from tutoring.core.errors import ServiceError
from tutoring.lectures.models import LectureFact
from tutoring.library.models import Entry, Feedback
from tutoring.routing.models import RoutingFact
from tutoring.sessions.models import AudioChunk, SessionEvent, SessionFact
from tutoring.stipends import services
from tutoring.stipends.models import (
    Adjustment,
    AuditEntry,
    LedgerLine,
    Objection,
    Publication,
    SchoolMonth,
    Statement,
    StatementDay,
    StipendRule,
)
from tutoring.stipends.pricing import yuan

# The stipends' JSON (facts read, details, settings, what an audit entry changed), shown with its keys and known
# values named in the interface's language; a key not named here is shown as it is.
TABLES: dict[str, Any] = {  # ``ledger.Upto`` and a ledger line's ``facts``: the tables of facts
    "routing": RoutingFact._meta.verbose_name_plural,
    "session": SessionFact._meta.verbose_name_plural,
    "event": SessionEvent._meta.verbose_name_plural,
    "voice": AudioChunk._meta.verbose_name_plural,
    "lecture": LectureFact._meta.verbose_name_plural,
    "feedback": Feedback._meta.verbose_name_plural,
}
LABELS: dict[str, Any] = {
    **TABLES,
    "student": _("student"),
    "events": SessionEvent._meta.verbose_name_plural,
    "voice_frames": AudioChunk._meta.verbose_name_plural,
    "active_ms": _("activity (ms)"),
    "by_hour": _("counted per hour (ms)"),
    "intervals": _("intervals counted"),
    "joins": _("joins"),
    "live": _("live"),
    "entry": Entry._meta.verbose_name,
    "entries": Entry._meta.verbose_name_plural,
    "idle_gap_seconds": _("longest pause counted (s)"),
    "min_session_seconds": _("shortest length counted (s)"),
    "status": _("status"),
    "hash": _("content hash"),
    "ends_at": _("publicity ends at"),
    "statements": _("monthly statements"),
    "upto": _("facts read up to"),
    "teacher": _("teacher"),
    "amount_fen": _("amount (fen)"),
    "base_fen": _("before the quality factor (fen)"),
    "permille": _("quality factor (‰)"),
    "credit": _("credit points"),
    "workload_ms": _("workload (ms)"),
    "statement": _("content hash"),
    "reason": _("reason"),
    "answer": _("answer"),
    "from": _("late facts of"),
    "school": _("school"),
    "month": _("month"),
    "teachers": _("teacher"),
}
STATUSES: dict[str, Any] = {**dict(StipendRule.Status.choices), **dict(SchoolMonth.Status.choices)}
ACTIONS: dict[str, Any] = {  # what an audit entry records, named as the step the pages offer
    "rule_activated": StipendRule.Status.ACTIVE.label,
    "statements_built": Statement._meta.verbose_name_plural,
    "late_facts_carried": _("late facts of"),
    "review_started": _("Start the review"),
    "adjustment_added": _("Add the correction"),
    "publicized": _("Publish to the school's teachers (公示)"),
    "review_reopened": _("Back to review to correct"),
    "objection_raised": _("Send the objection"),
    "objection_answered": _("Send the answer"),
    "approved": _("Approve (principal)"),
    "reported": _("Lock and report to the district"),
}
TARGETS: dict[str, Any] = {  # an audit entry's "<what>:<id>"
    "school_month": SchoolMonth._meta.verbose_name,
    "month": _("month"),
    "rule": StipendRule._meta.verbose_name,
    "objection": Objection._meta.verbose_name,
    "adjustment": Adjustment._meta.verbose_name,
}


def _value(value: Any, *, depth: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, str):
        return str(STATUSES.get(value, value))
    if isinstance(value, list):
        return (" – " if depth else "、").join(_value(item, depth=depth + 1) for item in value)
    if isinstance(value, dict):
        return "；".join(f"{LABELS.get(key, key)} {_value(item, depth=depth + 1)}" for key, item in value.items())
    return str(value)


def labelled(data: Mapping[str, Any], keys: Mapping[str, Any] = LABELS) -> SafeString:
    """A JSON object, a key a line: its name, then its value (lists joined, objects inline, statuses named)."""
    return format_html_join(
        mark_safe("<br>"), "{}：{}", ((keys.get(key, key), _value(value)) for key, value in data.items())
    )


@admin.register(LedgerLine)
class LedgerLineAdmin(ReadOnlyAdmin):
    """A line is a reading of the facts, rebuilt by ``ledger_build``, never edited."""

    list_display = ("day", "teacher", "kind", "about", "counted_ms", "students", "rating", "flag")
    list_filter = ("kind", "flag", "day")
    search_fields = ("teacher__username", "source")
    date_hierarchy = "day"
    exclude = ("source", "facts", "details", "counting")
    readonly_fields = ("about", "facts_read", "details_shown", "counting_shown")

    @admin.display(description=_("source"), ordering="source")
    def about(self, line: LedgerLine) -> str:
        """ "session:12" as the kind of line and the row it is about."""
        prefix, _separator, number = line.source.rpartition(":")
        return f"{line.get_kind_display()} #{number}" if prefix else line.get_kind_display()

    @admin.display(description=_("facts"))
    def facts_read(self, line: LedgerLine) -> SafeString:
        return labelled(line.facts, TABLES)

    @admin.display(description=_("details"))
    def details_shown(self, line: LedgerLine) -> SafeString:
        return labelled(line.details)

    @admin.display(description=_("counting settings"))
    def counting_shown(self, line: LedgerLine) -> SafeString:
        return labelled(line.counting)


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
    exclude = ("quality", "facts_upto")
    readonly_fields = ("quality_shown", "facts_read")

    @admin.display(description=_("quality factor by rule version"))
    def quality_shown(self, statement: Statement) -> SafeString:
        versions = {rule_id: f"{_('rule version')} #{rule_id}" for rule_id in statement.quality}
        return labelled(statement.quality, versions)

    @admin.display(description=_("facts read up to"))
    def facts_read(self, statement: Statement) -> SafeString:
        return labelled(statement.facts_upto, TABLES)


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


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    """What went out, archived: the figures are the canonical JSON behind ``content_hash``, kept out of the page."""

    list_display = ("school_month", "kind", "content_hash", "stored_as", "actor", "created_at")
    list_filter = ("kind",)
    exclude = ("figures", "file")
    readonly_fields = ("stored_as",)

    @admin.display(description=_("file"))
    def stored_as(self, publication: Publication) -> str:
        """Where the file is kept (files are never served from a public address)."""
        return str(publication.file.name)


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(ACTIONS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action_shown", "about", "before_shown", "after_shown")
    list_filter = (ActionFilter,)
    exclude = ("action", "target", "before", "after")
    readonly_fields = ("action_shown", "about", "before_shown", "after_shown")

    @admin.display(description=_("action"), ordering="action")
    def action_shown(self, entry: AuditEntry) -> str:
        return str(ACTIONS.get(entry.action, entry.action))

    @admin.display(description=_("about"))
    def about(self, entry: AuditEntry) -> str:
        """ "school_month:5" as what it is and its number (a month: "2026-11")."""
        what, _separator, which = entry.target.partition(":")
        if what == "month":
            return f"{TARGETS[what]} {which}"
        return f"{TARGETS.get(what, what)} #{which}"

    @admin.display(description=_("before"))
    def before_shown(self, entry: AuditEntry) -> SafeString:
        return labelled(entry.before)

    @admin.display(description=_("after"))
    def after_shown(self, entry: AuditEntry) -> SafeString:
        return labelled(entry.after)
