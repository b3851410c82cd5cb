"""Create the session bench's rooms in the database named by DATABASE_URL and write who is in them as JSON.

Run as ``python -m bench.session.seed SESSIONS OUT.json`` with the platform's environment: each room has one
teacher and one student (the routing bench's people) and an assigned ticket, as an accepted offer leaves it.
"""

import json
import sys
from pathlib import Path

import django


def rooms_create(count: int) -> list[dict]:
    from django.utils import timezone

    from bench.routing.seed import people_create
    from tutoring.routing.models import Ticket
    from tutoring.schools.models import GradeBand, Subject
    from tutoring.sessions.models import TutoringSession

    people = people_create(count, count, 1)
    now = timezone.now()
    math, band = Subject.objects.get(code="math"), GradeBand.objects.get(code="primary-middle")
    pairs = list(zip(people["teachers"], people["students"], strict=True))
    tickets = Ticket.objects.bulk_create(
        Ticket(
            question_id=student["question"],
            subject=math,
            grade=3,
            grade_band=band,
            status=Ticket.Status.ASSIGNED,
            teacher_id=teacher["id"],
            assigned_at=now,
        )
        for teacher, student in pairs
    )
    rooms = TutoringSession.objects.bulk_create(
        TutoringSession(
            ticket=ticket, question_id=ticket.question_id, teacher_id=teacher["id"], student_id=student["id"]
        )
        for ticket, (teacher, student) in zip(tickets, pairs, strict=True)
    )
    return [
        {"id": room.pk, "teacher": teacher["cookie"], "student": student["cookie"]}
        for room, (teacher, student) in zip(rooms, pairs, strict=True)
    ]


if __name__ == "__main__":
    django.setup()
    Path(sys.argv[2]).write_text(json.dumps(rooms_create(int(sys.argv[1]))))
