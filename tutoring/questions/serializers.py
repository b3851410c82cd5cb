import copy
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tutoring.core.api import ModelSerializer
from tutoring.questions.models import Attachment, Question
from tutoring.schools.models import Subject


@dataclass(frozen=True)
class QuestionPart:
    """A field that an app above questions adds to every question as its viewers see it (the library its
    matches, sessions the question's room), with the related rows the field reads, prefetched once for a
    whole list of questions."""

    name: str
    field: serializers.Field
    prefetch: str | Prefetch


_PARTS: list[QuestionPart] = []


def question_part_add(part: QuestionPart) -> None:
    """Registered by the app that owns the part when it loads (AppConfig.ready): questions may not import the
    apps above it, yet a question's page, events and API show the whole question."""
    if all(existing.name != part.name for existing in _PARTS):
        _PARTS.append(part)


def question_parts_prefetch() -> list[str | Prefetch]:
    return [part.prefetch for part in _PARTS]


class AttachmentSerializer(ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The processed file (sanitized photo or AAC voice), once ready.")
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "kind",
            "position",
            "status",
            "url",
            "thumbnail_url",
            "width",
            "height",
            "duration_seconds",
            "recognized_text",
            "confidence",
            "error",
        ]

    def _file_url(self, attachment: Attachment, variant: str) -> str | None:
        if not getattr(attachment, variant):
            return None
        return reverse(
            "questions:attachment-file",
            kwargs={"question_id": attachment.question_id, "attachment_id": attachment.pk, "variant": variant},
        )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, attachment: Attachment) -> str | None:
        return self._file_url(attachment, "processed")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail_url(self, attachment: Attachment) -> str | None:
        return self._file_url(attachment, "thumbnail")


class QuestionSerializer(ModelSerializer):
    subject: serializers.SlugRelatedField[Subject] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    stage = serializers.SerializerMethodField(help_text="While processing: reading_photo or listening; otherwise null.")
    low_confidence = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "id",
            "subject",
            "subject_name",
            "grade",
            "status",
            "status_label",
            "stage",
            "typed_text",
            "text",
            "text_source",
            "text_confidence",
            "low_confidence",
            "failure_reason",
            "created_at",
            "understood_at",
            "attachments",
            "match_outcome",
            "matched_at",
        ]

    def get_fields(self) -> dict[str, Any]:
        """The question's own fields, then the parts the apps above it add (``question_part_add``)."""
        fields = super().get_fields()
        for part in _PARTS:
            fields[part.name] = copy.deepcopy(part.field)
        return fields

    @extend_schema_field(serializers.ChoiceField(choices=["reading_photo", "listening"], allow_null=True))
    def get_stage(self, question: Question) -> str | None:
        if question.status not in (Question.Status.RECEIVED, Question.Status.PROCESSING):
            return None
        pending = {a.kind for a in question.attachments.all() if a.status == Attachment.Status.PENDING}
        if Attachment.Kind.PHOTO in pending:
            return "reading_photo"
        if Attachment.Kind.VOICE in pending:
            return "listening"
        return None

    def get_low_confidence(self, question: Question) -> bool:
        return question.text_confidence is not None and question.text_confidence < settings.XUEWEN["LOW_CONFIDENCE"]


class SubjectField(serializers.CharField):
    """A subject as every input takes it: its code (``math``) or its name (``数学``), checked by the services
    (``subject_and_grade_check``), so an unknown one is ``unknown_subject`` everywhere."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, help_text="Subject code (math) or name (数学).", **kwargs)


class QuestionCreateSerializer(serializers.Serializer):
    """Multipart input of ``POST /api/v1/questions``."""

    subject = SubjectField()
    grade = serializers.IntegerField()
    idempotency_key = serializers.CharField(
        max_length=64, help_text="Made by the client once per question; a replay returns the first question."
    )
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True, max_length=100_000)
    photos = serializers.ListField(child=serializers.FileField(), required=False, max_length=100)
    voice = serializers.FileField(required=False)


class QuestionCorrectSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=100_000, trim_whitespace=True, allow_blank=True)
