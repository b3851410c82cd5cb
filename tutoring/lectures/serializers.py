from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tutoring.core.api import ModelSerializer
from tutoring.lectures.models import Lecture, LectureQuestionPhoto, LectureSlide, LectureSlideDeck
from tutoring.schools.models import Subject


class LectureSerializer(ModelSerializer):
    """A lecture as its students and teachers see it; ``signed_up`` (a set of lecture ids) comes in the context."""

    subject: serializers.SlugRelatedField[Subject] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    grade_band_name = serializers.CharField(source="grade_band.name", read_only=True)
    lecturer_name = serializers.CharField(source="lecturer.__str__", read_only=True)
    signed_up = serializers.SerializerMethodField(help_text="Whether the user signed up (预约).")

    class Meta:
        model = Lecture
        fields = [
            "id",
            "title",
            "description",
            "status",
            "subject",
            "subject_name",
            "grade_band_name",
            "lecturer_name",
            "starts_at",
            "planned_minutes",
            "started_at",
            "ended_at",
            "signed_up",
        ]

    def get_signed_up(self, lecture: Lecture) -> bool:
        return lecture.pk in self.context.get("signed_up", ())


class ReplayWatchedSerializer(serializers.Serializer):
    """Input of ``POST /api/v1/lectures/<id>/replay/watched``: the ``seq``-th report of one viewing of the replay,
    the stretches of the video played (``[start, end]`` in seconds)."""

    viewing = serializers.CharField(max_length=64, help_text="A key the page makes when it opens the replay.")
    seq = serializers.IntegerField(help_text="The report's number in this viewing, from 1.")
    intervals = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="The stretches played, [start, end] in seconds of the video.",
    )


class ReplayWatchedResultSerializer(serializers.Serializer):
    seconds = serializers.FloatField(help_text="Seconds played in this report (stored once per viewing and number).")


class LectureQuestionPhotoSerializer(ModelSerializer):
    """A photo uploaded to ask with: the student's ``question.ask`` names its ``id`` as ``photo``."""

    class Meta:
        model = LectureQuestionPhoto
        fields = ["id", "width", "height"]


class LectureSlideSerializer(ModelSerializer):
    """A slide the lecturer may put on a page (``board.background`` with its id): a page of the slides (``number``)
    or a covered question's photo (``entry``)."""

    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = LectureSlide
        fields = ["id", "number", "entry", "width", "height", "url", "thumbnail_url"]

    def _file(self, slide: LectureSlide, variant: str) -> str:
        return reverse(
            "lectures:slide-file", kwargs={"lecture_id": slide.lecture_id, "slide_id": slide.pk, "variant": variant}
        )

    @extend_schema_field(serializers.CharField())
    def get_url(self, slide: LectureSlide) -> str:
        return self._file(slide, "image")

    @extend_schema_field(serializers.CharField())
    def get_thumbnail_url(self, slide: LectureSlide) -> str:
        return self._file(slide, "thumbnail")


class LectureSlidesSerializer(serializers.Serializer):
    """The lecture's slides: how far the uploaded ones are (null before any upload, else pending, rendering,
    ready or failed with the reason) and those it may show now."""

    status = serializers.ChoiceField(choices=LectureSlideDeck.Status.choices, allow_null=True)
    error = serializers.CharField(allow_blank=True)
    slides = LectureSlideSerializer(many=True)
