from rest_framework import serializers

from tutoring.lectures.models import Lecture
from tutoring.schools.models import Subject


class LectureSerializer(serializers.ModelSerializer):
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
