from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from tutoring.core.admin import ReadOnlyAdmin, file_input_overrides
from tutoring.library.models import Answer, Entry, EntryKnowledgePoint, Feedback, Match


class AnswerInline(admin.StackedInline):  # each field labelled (a table's cells are not)
    model = Answer
    extra = 0
    fields = ["kind", "status", "solution", "duration_seconds", "error"]
    readonly_fields = ["status", "duration_seconds", "error"]


class EntryKnowledgePointInline(admin.StackedInline):  # each field labelled, as AnswerInline
    model = EntryKnowledgePoint
    extra = 0
    fields = ["point", "source", "confidence", "rank"]
    readonly_fields = ["confidence"]
    autocomplete_fields = ["point"]


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["id", "text", "subject", "grade", "status", "external_id", "updated_at"]
    list_filter = ["status", "subject", "grade"]
    search_fields = ["text", "external_id"]
    inlines = [EntryKnowledgePointInline, AnswerInline]
    formfield_overrides = file_input_overrides

    def save_model(self, request: HttpRequest, obj: Entry, form: ModelForm, change: bool) -> None:
        if "text" in form.changed_data:
            obj.vector_forget()
        super().save_model(request, obj, form, change)


@admin.register(Match)
class MatchAdmin(ReadOnlyAdmin):
    list_display = ["question", "rank", "label", "score", "entry"]
    list_filter = ["label"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["question", "choice", "match", "created_at"]
    list_filter = ["choice"]
