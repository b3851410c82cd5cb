from tutoring.core.events import send_event_on_commit
from tutoring.questions.models import Question
from tutoring.questions.selectors import question_displayed_queryset
from tutoring.questions.serializers import QuestionSerializer


def question_group(question_id: int) -> str:
    return f"question.{question_id}"


def question_status_event_send(question: Question) -> Question:
    """Tell the question's websocket group its current state, after commit. Returns the question as it was
    read for them (with everything its serializer shows), for a caller that shows it too."""
    shown = question_displayed_queryset().get(pk=question.pk)
    send_event_on_commit(
        question_group(question.pk), {"type": "question.status", "question": QuestionSerializer(shown).data}
    )
    return shown
