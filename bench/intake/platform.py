"""The intake bench's platform: students seeded, one daphne, and one media worker started on demand."""

from collections.abc import Sequence

import psycopg

from bench.platform import Platform


class IntakePlatform(Platform):
    def __init__(self, *, students: int) -> None:
        super().__init__(
            name="intake",
            seed=["-m", "bench.intake.seed", str(students)],
            # The students of the load phases each send a few questions a minute more than the default allows.
            environment={"XUEWEN_QUESTIONS_PER_MINUTE": "1000"},
        )

    def media_worker_start(self) -> None:
        """One Celery worker with one process for the ``media`` (and ``default``) queue."""
        self.worker_start("worker", "media,default")

    def questions_stored(self, idempotency_keys: Sequence[str]) -> int:
        """How many of these questions are in the database with their photo."""
        with psycopg.connect(self.database_url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM questions_question AS question WHERE idempotency_key = ANY(%s)"
                " AND EXISTS (SELECT FROM questions_attachment WHERE question_id = question.id)",
                [list(idempotency_keys)],
            ).fetchone()
        return int(row[0]) if row else 0
