from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tutoring.core.api import ModelSerializer
from tutoring.library.models import Answer, Entry, Match
from tutoring.questions.serializers import SubjectField
from tutoring.schools.models import Subject


class AnswerSerializer(ModelSerializer):
    video_url = serializers.SerializerMethodField(help_text="MP4 (H.264/AAC), served with HTTP range requests.")
    poster_url = serializers.SerializerMethodField()

    class Meta:
        model = Answer
        fields = ["id", "kind", "status", "solution", "video_url", "poster_url", "duration_seconds"]

    def _url(self, answer: Answer, variant: str) -> str | None:
        if not getattr(answer, variant):
            return None
        return reverse("library:answer-file", kwargs={"answer_id": answer.pk, "variant": variant})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_video_url(self, answer: Answer) -> str | None:
        return self._url(answer, "video")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_poster_url(self, answer: Answer) -> str | None:
        return self._url(answer, "poster")


class EntrySerializer(ModelSerializer):
    subject: serializers.SlugRelatedField[Subject] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    answers = serializers.SerializerMethodField()
    knowledge_points = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = [
            "id",
            "text",
            "subject",
            "subject_name",
            "grade",
            "knowledge_points",
            "status",
            "external_id",
            "answers",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_knowledge_points(self, entry: Entry) -> list[str]:
        """The names of its knowledge points, best first (prefetch ``knowledge_point_tags__point``)."""
        return [tag.point.name for tag in entry.knowledge_point_tags.all()]

    @extend_schema_field(AnswerSerializer(many=True))
    def get_answers(self, entry: Entry) -> list[dict[str, Any]]:
        ready = [answer for answer in entry.answers.all() if answer.status == Answer.Status.READY]
        # With many=True the constructor returns a ListSerializer, whose data is a list; drf-stubs type the call as
        # an AnswerSerializer, whose data is one dict.
        return cast(list[dict[str, Any]], AnswerSerializer(ready, many=True).data)


class MatchSerializer(ModelSerializer):
    entry = EntrySerializer(read_only=True)

    class Meta:
        model = Match
        fields = ["id", "rank", "label", "score", "entry"]


class EntryCreateSerializer(serializers.Serializer):
    """Multipart input of ``POST /api/v1/library/entries``: a video and/or a worked solution."""

    text = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=100_000)
    subject = SubjectField()
    grade = serializers.IntegerField()
    knowledge_points = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    solution = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    video = serializers.FileField(required=False)
    photo = serializers.FileField(required=False)
    external_id = serializers.CharField(required=False, max_length=128)


class FeedbackSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=["resolved", "still_stuck"])
    match_id = serializers.IntegerField(required=False, allow_null=True)


class MatchQuerySerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=100_000)
    subject = SubjectField()
    grade = serializers.IntegerField()
