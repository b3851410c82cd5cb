"""Create the lecture bench's lecture in the database named by DATABASE_URL and write who watches it as JSON.

Run as ``python -m bench.lecture.seed STUDENTS LOG_MINUTES OUT.json`` with the platform's environment: a live
maths lecture for grade 3 of the bench city (the routing bench's people: its teacher, with the lecturer
permission, gives it; its students watch), started ``LOG_MINUTES`` ago, whose log holds what a lecturer who
drew without a pause all that time left: 20 stroke chunks a second (a one-second stroke of 20 chunks of three
points), a new page every three minutes and an undo every 50 strokes, inserted in bulk.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import django

EVENTS_PER_SECOND = 20
CHUNKS_PER_STROKE = 20
PAGE_SECONDS = 180
UNDO_EVERY_STROKES = 50


def log_rows(minutes: float) -> list[tuple[int, str, dict]]:
    """(at_ms, type, data) of a lecturer drawing for ``minutes`` in board protocol v1, in order."""
    rows: list[tuple[int, str, dict]] = []
    step_ms = 1000 // EVENTS_PER_SECOND
    page = -1
    for tick in range(round(minutes * 60 * EVENTS_PER_SECOND)):
        at_ms = tick * step_ms
        if at_ms // (PAGE_SECONDS * 1000) != page:
            page = at_ms // (PAGE_SECONDS * 1000)
            rows.append((at_ms, "board.page", {"page": page}))
        stroke, chunk = divmod(tick, CHUNKS_PER_STROKE)
        x, y = 100 + (stroke * 37) % 1000, 100 + (stroke * 53) % 1400
        rows.append(
            (
                at_ms,
                "board.stroke",
                {
                    "stroke": f"t{stroke}",
                    "page": page,
                    "tool": "pen",
                    "color": "#1a1a1a",
                    "width": 4,
                    "points": [[x + 3 * chunk + n, y + 2 * chunk + n, chunk * step_ms + n * 16] for n in range(3)],
                    "end": chunk == CHUNKS_PER_STROKE - 1,
                },
            )
        )
        if chunk == CHUNKS_PER_STROKE - 1 and stroke % UNDO_EVERY_STROKES == UNDO_EVERY_STROKES - 1:
            rows.append((at_ms, "board.undo", {"target": f"t{stroke}"}))
    return rows


def lecture_create(students: int, minutes: float) -> dict:
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from bench.routing.seed import people_create
    from tutoring.accounts.models import User
    from tutoring.lectures.models import Lecture, LectureEvent
    from tutoring.schools.models import City, GradeBand, Subject

    people = people_create(students, 1, 1)
    lecturer = User.objects.get(pk=people["teachers"][0]["id"])
    lecturer.user_permissions.add(Permission.objects.get(codename="give_lectures"))
    now = timezone.now()
    rows = log_rows(minutes)
    lecture = Lecture.objects.create(
        title="基准讲座：一元一次方程",
        lecturer=lecturer,
        subject=Subject.objects.get(code="math"),
        grade_band=GradeBand.objects.get(code="primary-middle"),
        city=City.objects.get(name="基准市"),
        starts_at=now - timedelta(minutes=minutes),
        planned_minutes=max(60, round(minutes) + 30),
        status=Lecture.Status.LIVE,
        started_at=now - timedelta(minutes=minutes),
        last_seq=len(rows),
    )
    LectureEvent.objects.bulk_create(
        (
            LectureEvent(lecture=lecture, seq=seq, at_ms=at_ms, type=kind, data=data)
            for seq, (at_ms, kind, data) in enumerate(rows, start=1)
        ),
        batch_size=5000,
    )
    return {
        "lecture": lecture.pk,
        "events": len(rows),
        "page": max(data["page"] for _, kind, data in rows if kind == "board.page"),
        "lecturer": people["teachers"][0]["cookie"],
        "students": [student["cookie"] for student in people["students"]],
    }


if __name__ == "__main__":
    django.setup()
    Path(sys.argv[3]).write_text(json.dumps(lecture_create(int(sys.argv[1]), float(sys.argv[2]))))
