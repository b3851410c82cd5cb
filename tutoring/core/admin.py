from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only (live state, logs, facts): administrators read them."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
