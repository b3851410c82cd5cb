from rest_framework import serializers

from tutoring.core.api import ModelSerializer
from tutoring.questions.models import Question
from tutoring.questions.serializers import AttachmentSerializer
from tutoring.routing.models import Duty, Offer, Shift, Ticket


class OfferedQuestionSerializer(ModelSerializer):
    """What a teacher sees of a routed question: its content, never who the student is."""

    subject_name = serializers.CharField(source="subject.name", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = ["id", "subject_name", "grade", "text", "attachments", "created_at"]


class OfferSerializer(ModelSerializer):
    question = OfferedQuestionSerializer(source="ticket.question", read_only=True)
    waiting_since = serializers.DateTimeField(source="ticket.queued_at", read_only=True)

    class Meta:
        model = Offer
        fields = ["id", "ticket", "policy", "status", "created_at", "expires_at", "waiting_since", "question"]


class AssignedTicketSerializer(ModelSerializer):
    question = OfferedQuestionSerializer(read_only=True)
    session_id = serializers.SerializerMethodField(help_text="The session room, once it is open.")

    class Meta:
        model = Ticket
        fields = ["id", "status", "queued_at", "assigned_at", "question", "session_id"]

    def get_session_id(self, ticket: Ticket) -> int | None:
        session = getattr(ticket, "session", None)  # the reverse one-to-one, absent until the room opens
        return session.pk if session is not None else None


class ShiftSerializer(ModelSerializer):
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    grade_band_name = serializers.CharField(source="grade_band.name", read_only=True)

    class Meta:
        model = Shift
        fields = ["id", "subject_name", "grade_band_name", "starts_at", "ends_at", "capacity"]


class DutySerializer(ModelSerializer):
    subject_name = serializers.CharField(source="subject.name", read_only=True, default=None)
    grade_band_name = serializers.CharField(source="grade_band.name", read_only=True, default=None)

    class Meta:
        model = Duty
        fields = ["available", "on_duty", "subject_name", "grade_band_name", "capacity", "load", "offered"]
