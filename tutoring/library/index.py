"""This process's copy of the search index, kept in step with the database (the truth).

A matching worker loads the last snapshot from ``XUEWEN["INDEX_DIR"]`` when it starts, then
catches up with every entry changed since the snapshot was taken; before each search it
catches up again (one indexed query when nothing changed). Snapshots are written by
``rebuild_index`` and periodically by beat, atomically, so any number of processes share them.

Each entry's embedding is stored with it (``Entry.vector``, float16, and the model that made it).
Whoever first needs the vector of an entry for the current model (a catch-up, ``rebuild_index``,
``import_answers``) encodes it and writes it back; everyone else reads it, so a text is encoded
once, not once per worker, and a rebuild reads a million vectors instead of encoding them for an
hour. Every process indexes the float16 values, whoever encoded them.
"""

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import BinaryField, Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.store import Entry as IndexEntry
from matching.store import VectorStore, training_size
from tutoring.library.models import Answer, Entry
from tutoring.questions.models import Question

logger = logging.getLogger(__name__)

# Clocks of application servers differ a little: changes are re-read with this overlap (idempotent).
CLOCK_OVERLAP = timedelta(seconds=120)
BATCH = 512  # entries encoded, or read during a catch-up, at a time
REBUILD_BATCH = 4096  # entries read at a time while rebuilding from stored vectors
META = "meta.json"
SNAPSHOT_FORMAT = 3  # 2: the store holds the lexical index too; 3: its documents hold the entries. Another is rebuilt
VECTOR_DTYPE = np.float16
# What the index needs of an entry, read as tuples (no model instances): a million rows in seconds.
ROW_FIELDS = ("pk", "subject__code", "grade", "text", "vector", "vector_model")

Row = tuple[int, str, int, str, bytes | None, str]


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


def entries_to_encode(*, reencode: bool = False) -> QuerySet[Entry]:
    """Active entries with no vector from the current model (every active entry with ``reencode``)."""
    entries = Entry.objects.filter(status=Entry.Status.ACTIVE)
    if reencode:
        return entries
    return entries.filter(Q(vector__isnull=True) | ~Q(vector_model=model_name()))


def index_get() -> VectorStore:
    """The index of this process, loaded on first use and caught up with the database."""
    global _state
    with _lock:
        if _state is None:
            _state = _snapshot_load() or _build()
        _catch_up(_state)
        return _state.store


def _pages(entries: QuerySet[Entry], fields: Sequence[str], size: int = BATCH) -> Iterator[list[Any]]:
    """The entries as tuples of ``fields`` (the first is "pk"), ``size`` at a time in primary-key order. Each page is
    its own query after the last key seen, so no cursor stays open while pages are encoded and written back."""
    last = 0
    while page := list(entries.filter(pk__gt=last).order_by("pk").values_list(*fields)[:size]):
        yield page
        last = page[-1][0]


def _encode_and_store(model: type[Entry | Question], texts: Sequence[tuple[int, str]]) -> np.ndarray:
    """Encode (pk, text) pairs and store each vector with its entry or question, if that row still has that text (a
    concurrent edit wins, and its new text is encoded by the next reader). One UPDATE per batch; ``updated_at`` stays
    as it is. Returns the vectors as stored: the float16 values, as float32."""
    name = model_name()
    vectors = encoder().encode([text for _, text in texts]).astype(VECTOR_DTYPE)
    for start in range(0, len(texts), BATCH):
        part = list(zip(texts[start : start + BATCH], vectors[start : start + BATCH], strict=True))
        model.objects.filter(pk__in=[pk for (pk, _), _ in part]).update(
            vector=Case(
                *(When(pk=pk, text=text, then=Value(vector.tobytes())) for (pk, text), vector in part),
                default=F("vector"),
                output_field=BinaryField(),
            ),
            vector_model=Case(
                *(When(pk=pk, text=text, then=Value(name)) for (pk, text), _ in part),
                default=F("vector_model"),
                output_field=CharField(),
            ),
        )
    return vectors.astype(np.float32)


def stored_vectors(
    model: type[Entry | Question], rows: Sequence[tuple[int, str, bytes | memoryview | None, str]]
) -> np.ndarray:
    """The vectors of (pk, text, vector, vector_model) rows: stored ones as they are, missing or stale ones (another
    model) encoded and stored."""
    name = model_name()
    stale = [position for position, row in enumerate(rows) if row[2] is None or row[3] != name]
    encoded = iter(_encode_and_store(model, [rows[position][:2] for position in stale]) if stale else [])
    wanted = set(stale)
    return np.array(
        [
            # A row without a stored vector is always in `wanted`; the `is None` test tells the type checker so.
            next(encoded) if position in wanted or row[2] is None else np.frombuffer(row[2], VECTOR_DTYPE)
            for position, row in enumerate(rows)
        ],
        dtype=np.float32,
    )


def _vectors(rows: Sequence[Row]) -> np.ndarray:
    return stored_vectors(Entry, [(row[0], row[3], row[4], row[5]) for row in rows])


def _index_add(store: VectorStore, rows: Sequence[Row]) -> None:
    if rows:
        store.add([IndexEntry(id=row[0], subject=row[1], grade=row[2], text=row[3]) for row in rows], _vectors(rows))


def _catch_up(state: IndexState) -> None:
    started = timezone.now()
    changed = Entry.objects.all()
    if state.synced_to is not None:
        changed = changed.filter(updated_at__gte=state.synced_to - CLOCK_OVERLAP)
    gone = set(changed.values_list("pk", flat=True))
    added = 0
    for rows in _pages(searchable_entries().filter(pk__in=changed.values("pk")), ROW_FIELDS):
        _index_add(state.store, rows)
        added += len(rows)
        gone.difference_update(row[0] for row in rows)
    removed = state.store.remove(gone) if gone else 0
    state.synced_to = started
    if added or removed:
        logger.info("index.caught_up", extra={"added": added, "removed": removed, "size": len(state.store)})


def entry_vectors_fill(*, reencode: bool = False, progress: Callable[[int], object] | None = None) -> int:
    """Encode and store the vectors active entries lack for the current model (all of them with ``reencode``, after
    the model's files changed under the same name), in batches; returns how many were encoded. Idempotent: run again
    after an interruption, it goes on with what is left."""
    count = 0
    for texts in _pages(entries_to_encode(reencode=reencode), ("pk", "text")):
        _encode_and_store(Entry, texts)
        count += len(texts)
        if progress:
            progress(len(texts))
    return count


def _snapshot_load() -> IndexState | None:
    directory = Path(settings.XUEWEN["INDEX_DIR"])
    try:
        meta = json.loads((directory / META).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("model") != model_name() or meta.get("format") != SNAPSHOT_FORMAT:
        logger.warning(
            "index.snapshot_outdated",
            extra={"snapshot": meta.get("model"), "model": model_name(), "format": meta.get("format")},
        )
        return None
    store = VectorStore.load(directory / "store")
    logger.info("index.loaded", extra={"size": len(store)})
    return IndexState(store, datetime.fromisoformat(meta["synced_to"]))


def snapshot_save(state: IndexState) -> None:
    directory = Path(settings.XUEWEN["INDEX_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    state.store.save(directory / "store")
    meta = {
        "model": model_name(),
        "format": SNAPSHOT_FORMAT,
        "synced_to": state.synced_to.isoformat() if state.synced_to else None,
    }
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


def _dimension() -> int:
    """The vectors' dimension: from a stored vector of the current model, or else from the encoder (loading it)."""
    stored = Entry.objects.filter(vector_model=model_name(), vector__isnull=False).values_list("vector", flat=True)
    vector = stored.first()
    return len(vector) // np.dtype(VECTOR_DTYPE).itemsize if vector is not None else encoder().dimension


def _build(progress: Callable[[int], object] | None = None) -> IndexState:
    """A fresh index of every searchable entry (stored vectors; missing ones are encoded). A subject large enough for
    IVF is trained first on a random sample of its vectors, then the entries are added a page at a time, so building
    never holds more than the index and one page."""
    started = timezone.now()
    store = VectorStore(_dimension())
    entries = searchable_entries()
    for subject, count in entries.order_by().values_list("subject__code").annotate(count=Count("pk")):
        if sample_size := training_size(count):
            picked = entries.filter(subject__code=subject).order_by("?").values("pk")[:sample_size]
            sample = list(Entry.objects.filter(pk__in=picked).values_list(*ROW_FIELDS))
            store.subject_train(subject, count, _vectors(sample))
    for rows in _pages(entries, ROW_FIELDS, REBUILD_BATCH):
        _index_add(store, rows)
        if progress:
            progress(len(rows))
    return IndexState(store, started)


def index_rebuild(*, progress: Callable[[int], object] | None = None) -> int:
    """Build the index afresh from the database, save it and use it in this process."""
    global _state
    state = _build(progress)
    snapshot_save(state)
    with _lock:
        _state = state
    return len(state.store)


def index_reset() -> None:
    """Forget this process's copy (tests, or after INDEX_DIR changes)."""
    global _state
    with _lock:
        _state = None
