from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    name = "tutoring.sessions"
    label = "tutoring_sessions"  # "sessions" is django.contrib.sessions
    verbose_name = _("sessions")

    def ready(self) -> None:
        """A question shows the room of its latest session: questions may not import sessions, so sessions adds it."""
        from tutoring.questions.serializers import QuestionPart, question_part_add
        from tutoring.sessions.serializers import LatestSessionField

        question_part_add(QuestionPart("session_id", LatestSessionField(), "sessions"))
