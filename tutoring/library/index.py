"""This process's copy of the search index, kept in step with the database (the truth).

A matching worker loads the last snapshot from ``XUEWEN["INDEX_DIR"]`` when it starts, then
catches up with every entry changed since the snapshot was taken; before each search it
catches up again (one indexed query when nothing changed). Snapshots are written by
``rebuild_index`` and periodically by beat, atomically, so any number of processes share them.
"""

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.store import Entry as IndexEntry
from matching.store import VectorStore
from tutoring.library.models import Answer, Entry

logger = logging.getLogger(__name__)

# Clocks of application servers differ a little: changes are re-read with this overlap (idempotent).
CLOCK_OVERLAP = timedelta(seconds=120)
BATCH = 512
META = "meta.json"


@dataclass
class IndexState:
    store: VectorStore
    synced_to: datetime | None


_lock = threading.Lock()
_state: IndexState | None = None


def model_name() -> str:
    return settings.XUEWEN["MATCHING_MODEL"] or DEFAULT_MODEL


def encoder() -> Encoder:
    return encoder_get(model_name())


def searchable_entries() -> QuerySet[Entry]:
    """Active entries with at least one ready answer: only those are offered to students."""
    ready = Answer.objects.filter(entry=OuterRef("pk"), status=Answer.Status.READY)
    return Entry.objects.filter(Exists(ready), status=Entry.Status.ACTIVE)


def index_get() -> VectorStore:
    """The index of this process, loaded on first use and caught up with the database."""
    global _state
    with _lock:
        if _state is None:
            _state = _snapshot_load() or IndexState(VectorStore(encoder().dimension), None)
        _catch_up(_state)
        return _state.store


def _index_entry(entry: Entry) -> IndexEntry:
    return IndexEntry(id=entry.pk, subject=entry.subject.code, grade=entry.grade, text=entry.text)


def _index_add(store: VectorStore, entries: list[Entry]) -> None:
    if entries:
        store.add([_index_entry(e) for e in entries], encoder().encode([e.text for e in entries]))


def _catch_up(state: IndexState) -> None:
    started = timezone.now()
    changed = Entry.objects.select_related("subject").order_by("pk")
    if state.synced_to is not None:
        changed = changed.filter(updated_at__gte=state.synced_to - CLOCK_OVERLAP)
    searchable = set(searchable_entries().filter(pk__in=changed.values("pk")).values_list("pk", flat=True))
    added = 0
    batch: list[Entry] = []
    gone: list[int] = []
    for entry in changed.iterator(chunk_size=BATCH):
        if entry.pk in searchable:
            batch.append(entry)
        else:
            gone.append(entry.pk)
        if len(batch) == BATCH:
            _index_add(state.store, batch)
            added, batch = added + len(batch), []
    _index_add(state.store, batch)
    added += len(batch)
    removed = state.store.remove(gone) if gone else 0
    state.synced_to = started
    if added or removed:
        logger.info("index.caught_up", extra={"added": added, "removed": removed, "size": len(state.store)})


def _snapshot_load() -> IndexState | None:
    directory = Path(settings.XUEWEN["INDEX_DIR"])
    try:
        meta = json.loads((directory / META).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("model") != model_name():
        logger.warning("index.snapshot_model_mismatch", extra={"snapshot": meta.get("model"), "model": model_name()})
        return None
    store = VectorStore.load(directory / "store")
    logger.info("index.loaded", extra={"size": len(store)})
    return IndexState(store, datetime.fromisoformat(meta["synced_to"]))


def snapshot_save(state: IndexState) -> None:
    directory = Path(settings.XUEWEN["INDEX_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    state.store.save(directory / "store")
    meta = {"model": model_name(), "synced_to": state.synced_to.isoformat() if state.synced_to else None}
    temporary = directory / (META + ".tmp")
    temporary.write_text(json.dumps(meta))
    temporary.replace(directory / META)


def index_snapshot_save() -> int:
    """Write this process's caught-up index to disk; returns its size."""
    store = index_get()
    with _lock:
        assert _state is not None
        snapshot_save(_state)
    return len(store)


def index_rebuild(*, progress=None) -> int:  # type: ignore[no-untyped-def]
    """Build the index afresh from the database, save it and use it in this process."""
    global _state
    started = timezone.now()
    state = IndexState(VectorStore(encoder().dimension), None)
    entries = searchable_entries().select_related("subject").order_by("pk")
    batch: list[Entry] = []
    for entry in entries.iterator(chunk_size=BATCH):
        batch.append(entry)
        if len(batch) == BATCH:
            _index_add(state.store, batch)
            if progress:
                progress(len(batch))
            batch = []
    _index_add(state.store, batch)
    if progress:
        progress(len(batch))
    state.synced_to = started
    snapshot_save(state)
    with _lock:
        _state = state
    return len(state.store)


def index_reset() -> None:
    """Forget this process's copy (tests, or after INDEX_DIR changes)."""
    global _state
    with _lock:
        _state = None
