from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibraryConfig(AppConfig):
    name = "tutoring.library"
    label = "library"
    verbose_name = _("Library of answered questions")

    def ready(self) -> None:
        """A question shows its matches, and an understood question is matched: questions may not import the
        library, so the library tells it here."""
        from django.db.models import Prefetch

        from tutoring.library.models import Answer, Match
        from tutoring.library.selectors import entry_tags_prefetch
        from tutoring.library.serializers import MatchSerializer
        from tutoring.library.services import question_understood
        from tutoring.questions.lifecycle import question_status_listen
        from tutoring.questions.serializers import QuestionPart, question_part_add

        # Ordered within a question and an entry only, as the prefetches group them: the models' orderings start
        # with the question and the entry, each a join and a sort by that model's own ordering.
        answers = Answer.objects.order_by("kind", "id")
        matches = (
            Match.objects.select_related("entry__subject")
            .order_by("rank")
            .prefetch_related(Prefetch("entry__answers", queryset=answers), entry_tags_prefetch("entry__"))
        )
        question_part_add(
            QuestionPart("matches", MatchSerializer(many=True, read_only=True), Prefetch("matches", queryset=matches))
        )
        question_status_listen(question_understood)
