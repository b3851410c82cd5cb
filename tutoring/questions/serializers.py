from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tutoring.library.serializers import MatchSerializer
from tutoring.questions.models import Attachment, Question


class AttachmentSerializer(serializers.ModelSerializer):
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


class QuestionSerializer(serializers.ModelSerializer):
    subject = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    stage = serializers.SerializerMethodField(help_text="While processing: reading_photo or listening; otherwise null.")
    low_confidence = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    matches = MatchSerializer(many=True, read_only=True)
    session_id = serializers.SerializerMethodField(help_text="The room of the question's latest session, if any.")

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
            "matches",
            "session_id",
        ]

    def get_session_id(self, question: Question) -> int | None:
        return max((session.pk for session in question.sessions.all()), default=None)

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


class QuestionCreateSerializer(serializers.Serializer):
    """Multipart input of ``POST /api/v1/questions``."""

    subject = serializers.CharField(max_length=32, help_text="Subject code, e.g. math.")
    grade = serializers.IntegerField()
    idempotency_key = serializers.CharField(
        max_length=64, help_text="Made by the client once per question; a replay returns the first question."
    )
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True, max_length=100_000)
    photos = serializers.ListField(child=serializers.FileField(), required=False, max_length=100)
    voice = serializers.FileField(required=False)


class QuestionCorrectSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=100_000, trim_whitespace=True, allow_blank=True)
