"""Which database serves what: the insights' rollups are read from the replica when one is configured
(``REPLICA_DATABASE_URL``, alias ``replica``); writes, locked reads and every other read go to the primary, and
only the primary is migrated."""

from typing import Any

from django.conf import settings
from django.db.models import Model

REPLICA = "replica"
READ_FROM_REPLICA = {"insights"}


class ReplicaRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.app_label in READ_FROM_REPLICA and REPLICA in settings.DATABASES:
            return REPLICA
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return None

    def allow_relation(self, first: Model, second: Model, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
