from typing import Any

from django.db.models import Manager
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media.board import BOARD_HEIGHT, BOARD_WIDTH, PAGES
from tutoring.core.api import ModelSerializer
from tutoring.questions.serializers import SubjectField
from tutoring.routing.serializers import OfferedQuestionSerializer
from tutoring.sessions.models import ChatAttachment, Recording, TutoringSession


@extend_schema_field(OpenApiTypes.INT)
class LatestSessionField(serializers.Field):
    """The room of a question's latest session, if any (a part of every question: ``question_part_add``)."""

    def __init__(self, **kwargs: Any) -> None:
        help_text = "The room of the question's latest session, if any."
        super().__init__(source="sessions", read_only=True, allow_null=True, help_text=help_text, **kwargs)

    def to_representation(self, value: "Manager[TutoringSession]") -> int | None:
        return max((session.pk for session in value.all()), default=None)


class SessionSerializer(ModelSerializer):
    """A room's state as a client starts from it; ``role`` and ``presence`` come in the context."""

    role = serializers.SerializerMethodField()
    presence = serializers.SerializerMethodField()
    teacher_name = serializers.CharField(source="teacher.__str__", read_only=True)
    student_name = serializers.CharField(source="student.__str__", read_only=True)
    question = OfferedQuestionSerializer(read_only=True)
    rating = serializers.SerializerMethodField()
    board = serializers.SerializerMethodField()
    knowledge_points = serializers.SerializerMethodField(
        help_text="The teacher's knowledge points for the library, else those suggested for the question."
    )

    class Meta:
        model = TutoringSession
        fields = [
            "id",
            "status",
            "role",
            "teacher_name",
            "student_name",
            "started_at",
            "ended_at",
            "ended_reason",
            "student_draw",
            "student_speak",
            "presence",
            "question",
            "rating",
            "board",
            "knowledge_points",
        ]

    def get_role(self, session: TutoringSession) -> str | None:
        return self.context.get("role")

    def get_presence(self, session: TutoringSession) -> dict[str, bool] | None:
        return self.context.get("presence")

    def get_rating(self, session: TutoringSession) -> dict | None:
        return None if session.rating is None else {"score": session.rating, "comment": session.rating_comment}

    def get_knowledge_points(self, session: TutoringSession) -> list[str]:
        if session.knowledge_points:
            return list(session.knowledge_points)
        tags = session.question.knowledge_point_tags.select_related("point").order_by("rank")
        return [tag.point.name for tag in tags]

    def get_board(self, session: TutoringSession) -> dict[str, int]:
        return {"width": BOARD_WIDTH, "height": BOARD_HEIGHT, "pages": PAGES}


class RecordingSerializer(ModelSerializer):
    video_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField(help_text="The replay's sound: the MP4 itself.")
    events_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = ["status", "error", "video_url", "poster_url", "audio_url", "duration_seconds", "events_url"]

    def _file(self, recording: Recording, variant: str) -> str | None:
        if not getattr(recording, variant):
            return None
        return reverse("sessions:recording-file", kwargs={"session_id": recording.session_id, "variant": variant})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_video_url(self, recording: Recording) -> str | None:
        return self._file(recording, "video")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_poster_url(self, recording: Recording) -> str | None:
        return self._file(recording, "poster")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_audio_url(self, recording: Recording) -> str | None:
        return self._file(recording, "video")

    def get_events_url(self, recording: Recording) -> str:
        return reverse("sessions:events", kwargs={"session_id": recording.session_id})


class ChatAttachmentSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ChatAttachment
        fields = ["id", "kind", "url", "thumbnail_url", "width", "height", "duration_seconds"]

    def _file(self, attachment: ChatAttachment, variant: str) -> str | None:
        if not getattr(attachment, variant):
            return None
        return reverse(
            "sessions:attachment-file",
            kwargs={"session_id": attachment.session_id, "attachment_id": attachment.pk, "variant": variant},
        )

    @extend_schema_field(serializers.CharField())
    def get_url(self, attachment: ChatAttachment) -> str | None:
        return self._file(attachment, "processed")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail_url(self, attachment: ChatAttachment) -> str | None:
        return self._file(attachment, "thumbnail")


class RatingSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)


class QuestionCorrectionSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, trim_whitespace=True, max_length=2000)
    subject = SubjectField(required=False)
    grade = serializers.IntegerField(required=False)
    knowledge_points = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=20)
