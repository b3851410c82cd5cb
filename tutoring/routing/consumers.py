from typing import Any

from django.conf import settings
from django.utils import timezone

from tutoring.accounts.models import User
from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.core.errors import ServiceError
from tutoring.routing import selectors, services
from tutoring.routing.events import user_group
from tutoring.routing.serializers import AssignedTicketSerializer, DutySerializer, OfferSerializer, ShiftSerializer
from tutoring.sessions import services as sessions


@database_call
def duty_open(teacher: User, channel_name: str) -> dict[str, Any]:
    """Register the console, then read everything it shows."""
    services.duty_connect(teacher=teacher, channel_name=channel_name)
    profile = getattr(teacher, "teacher_profile", None)
    return {
        "type": "duty.snapshot",
        "now": timezone.now().isoformat(),
        "duty": DutySerializer(selectors.duty_get(teacher)).data,
        "offers": OfferSerializer(selectors.offer_list_open(teacher), many=True).data,
        "tickets": AssignedTicketSerializer(selectors.ticket_list_assigned(teacher), many=True).data,
        "shifts": ShiftSerializer(selectors.shift_list_coming(teacher), many=True).data,
        "heartbeat_seconds": settings.XUEWEN["DUTY_HEARTBEAT_SECONDS"],
        "volunteers": settings.XUEWEN["DUTY_VOLUNTEERS"],
        "subjects": [{"code": s.code, "name": s.name} for s in profile.subjects.all()] if profile else [],
        "grade_bands": [{"code": b.code, "name": b.name} for b in profile.grade_bands.all()] if profile else [],
    }


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class DutyConsumer(BaseConsumer):
    """A teacher's duty console: presence with heartbeats, offers in, accept / decline / finish out."""

    inbound_types = frozenset(
        {"ping", "duty.heartbeat", "duty.available", "offer.accept", "offer.decline", "ticket.finish"}
    )

    async def connect(self) -> None:
        if not self.user.is_teacher:
            await self.refuse(4403)
            return
        self.group = user_group(self.user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await duty_open(self.user, self.channel_name))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await database_call(services.duty_disconnect)(channel_name=self.channel_name)

    async def receive_duty_heartbeat(self, content: dict[str, Any]) -> None:
        if not await database_call(services.duty_heartbeat)(channel_name=self.channel_name):
            await self.send_json(await duty_open(self.user, self.channel_name))  # dropped as silent: back on

    async def receive_duty_available(self, content: dict[str, Any]) -> None:
        available = content.get("available")
        subject, band = content.get("subject"), content.get("grade_band")
        if not isinstance(available, bool) or not all(v is None or isinstance(v, str) for v in (subject, band)):
            await self.send_error("invalid_message", "duty.available needs a boolean 'available'.")
            return
        await self._call(
            services.duty_available_set,
            teacher=self.user,
            available=available,
            subject=subject,
            grade_band_code=band,
        )

    async def receive_offer_accept(self, content: dict[str, Any]) -> None:
        await self._offer_call(sessions.session_start, content)  # the question is theirs: the room opens

    async def receive_offer_decline(self, content: dict[str, Any]) -> None:
        await self._offer_call(services.offer_decline, content)

    async def receive_ticket_finish(self, content: dict[str, Any]) -> None:
        ticket_id = _positive_int(content.get("ticket_id"))
        if ticket_id is None:
            await self.send_error("invalid_message", "ticket.finish needs a positive integer 'ticket_id'.")
            return
        await self._call(sessions.session_end, teacher=self.user, ticket_id=ticket_id)

    async def _offer_call(self, service: Any, content: dict[str, Any]) -> None:
        offer_id = _positive_int(content.get("offer_id"))
        if offer_id is None:
            await self.send_error("invalid_message", f"{content['type']} needs a positive integer 'offer_id'.")
            return
        await self._call(service, teacher=self.user, offer_id=offer_id)

    async def _call(self, service: Any, **kwargs: Any) -> None:
        """Run a service; a refusal goes back to this console only, the connection stays as it was."""
        try:
            await database_call(service)(**kwargs)
        except ServiceError as error:
            await self.send_json(
                {"type": "error", "code": error.code, "message": str(error.message), **kwargs_ids(kwargs)}
            )

    async def offer_created(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def offer_closed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_assigned(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_finished(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def duty_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def session_opened(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


def kwargs_ids(kwargs: dict[str, Any]) -> dict[str, int]:
    """The ids of a refused call, so the console knows which offer or ticket the error is about."""
    return {name: value for name, value in kwargs.items() if name.endswith("_id")}
