from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "tutoring.routing"
    label = "routing"
    verbose_name = _("live routing")

    def ready(self) -> None:
        """A question that waits for a teacher is queued, one solved or given up leaves the queue: questions may not
        import routing, so routing listens to its moves."""
        from tutoring.questions.lifecycle import question_status_listen
        from tutoring.routing.services import question_moved

        question_status_listen(question_moved)
