from django.contrib import admin
from django.http import HttpRequest

from tutoring.stipends.models import LedgerLine


@admin.register(LedgerLine)
class LedgerLineAdmin(admin.ModelAdmin):
    """Read-only: a line is a reading of the facts, rebuilt by ``ledger_build``, never edited."""

    list_display = ("day", "teacher", "kind", "source", "counted_ms", "students", "rating", "flag")
    list_filter = ("kind", "flag", "day")
    search_fields = ("teacher__username", "source")
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LedgerLine | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LedgerLine | None = None) -> bool:
        return False
