from typing import Any

from channels.db import database_sync_to_async
from django.http import Http404

from tutoring.core.consumers import BaseConsumer
from tutoring.questions.events import question_group
from tutoring.questions.selectors import access_question
from tutoring.questions.serializers import QuestionSerializer


@database_sync_to_async
def question_state(user: Any, question_id: int) -> dict[str, Any] | None:
    try:
        return QuestionSerializer(access_question(user, question_id)).data
    except Http404:
        return None


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
        await self.send_json({"type": "question.status", "question": state})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def question_status(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
