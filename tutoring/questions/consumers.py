from typing import Any

from django.http import Http404

from tutoring.accounts.models import User
from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.questions.events import question_group
from tutoring.questions.models import Question
from tutoring.questions.selectors import access_question
from tutoring.questions.serializers import QuestionSerializer
from tutoring.routing.selectors import ticket_position, ticket_queued_for_question


@database_call
def question_state(user: User, question_id: int) -> list[dict[str, Any]] | None:
    """The events that bring a client up to date: the question, and its place in the queue while it waits."""
    try:
        question = access_question(user, question_id)
    except Http404:
        return None
    state = [{"type": "question.status", "question": QuestionSerializer(question).data}]
    # Only a question waiting for a teacher has a ticket in the queue (routing.services.question_moved).
    ticket = ticket_queued_for_question(question.pk) if question.status == Question.Status.WAITING_TEACHER else None
    if ticket is not None:
        state.append({"type": "queue.position", "queue": ticket_position(ticket)})
    return state


class QuestionConsumer(BaseConsumer):
    """Live status of one question: the current state on connect, then every change."""

    async def connect(self) -> None:
        question_id = self.scope["url_route"]["kwargs"]["question_id"]
        self.group = question_group(question_id)
        # Join first, then read: no change can slip between the snapshot and the events.
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await question_state(self.user, question_id)
        if state is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.refuse(4404)
            return
        await self.accept()
        for event in state:
            await self.send_json(event)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def question_status(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def queue_position(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def session_opened(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
