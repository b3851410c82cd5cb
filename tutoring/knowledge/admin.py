from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tutoring.knowledge.models import KnowledgePoint


@admin.register(KnowledgePoint)
class KnowledgePointAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "subject", "parent", "min_grade", "max_grade", "is_active"]
    list_filter = ["subject", "is_active", "min_grade"]
    search_fields = ["name", "code", "aliases", "description"]
    list_select_related = ["subject", "parent"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["updated_at"]
    ordering = ["subject", "position", "id"]
    fieldsets = [
        (None, {"fields": ["subject", "code", "name", "parent", "aliases", "is_active"]}),
        (_("grades"), {"fields": ["min_grade", "max_grade"]}),
        (_("description"), {"fields": ["description", "position", "updated_at"]}),
    ]
