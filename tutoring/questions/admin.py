from django.contrib import admin

from tutoring.core.admin import ReadOnlyPermissions
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint


class AttachmentInline(ReadOnlyPermissions, admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["kind", "position", "status", "content_type", "size_bytes", "recognized_text", "confidence", "error"]


class QuestionKnowledgePointInline(ReadOnlyPermissions, admin.TabularInline):
    model = QuestionKnowledgePoint
    extra = 0
    fields = ["point", "source", "confidence", "created_at"]
    readonly_fields = ["point", "source", "confidence", "created_at"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "grade", "status", "text_source", "text_confidence", "created_at"]
    list_filter = ["status", "subject", "grade", "text_source"]
    search_fields = ["text"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "student",
        "subject",
        "grade",
        "idempotency_key",
        "status",
        "typed_text",
        "text_source",
        "text_confidence",
        "failure_reason",
        "created_at",
        "understood_at",
    ]
    inlines = [QuestionKnowledgePointInline, AttachmentInline]
