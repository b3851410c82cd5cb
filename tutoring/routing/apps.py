from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "tutoring.routing"
    label = "routing"

    def ready(self) -> None:
        """A question that waits for a teacher is queued, one solved or given up leaves the queue: questions may not
        import routing, so routing listens to its moves."""
        from tutoring.questions.lifecycle import question_status_listen
        from tutoring.routing.services import question_moved

        question_status_listen(question_moved)
