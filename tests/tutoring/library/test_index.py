import numpy as np
import pytest
from django.core.management import call_command

from tests.factories import EntryFactory, subject
from tutoring.library.index import VECTOR_DTYPE, encoder, index_get, index_reset, model_name
from tutoring.library.models import Entry
from tutoring.library.services import entry_save

pytestmark = pytest.mark.django_db

APPLES = "小明有12个苹果，吃了5个，还剩几个？"
TIMES = "一个数的3倍加5等于20，这个数是多少？"
LIGHT = "光在真空中的传播速度是多少？"


def stored(text: str) -> bytes:
    """A text's vector as the database holds it."""
    return encoder().encode([text]).astype(VECTOR_DTYPE).tobytes()


def vector(entry: Entry) -> np.ndarray:
    entry.refresh_from_db()
    return np.frombuffer(entry.vector, dtype=VECTOR_DTYPE)


def nearest(text_of_vector: str, *, subject: str = "math") -> tuple[int, float]:
    """The indexed entry nearest to a text's stored vector, with its score rounded to 2 places."""
    query = np.frombuffer(stored(text_of_vector), dtype=VECTOR_DTYPE).astype(np.float32)
    [(entry, score)] = index_get().search(query, subject=subject, grades=None, k=1)
    return entry.id, round(score, 2)


def test_a_catch_up_encodes_a_new_entry_and_stores_its_vector_without_touching_updated_at():
    entry = EntryFactory(text=APPLES)
    updated_at = entry.updated_at

    index_get()

    entry.refresh_from_db()
    assert (bytes(entry.vector), entry.vector_model, entry.updated_at) == (stored(APPLES), model_name(), updated_at)


def test_another_process_reads_the_stored_vector_instead_of_encoding_again():
    entry = EntryFactory(text=APPLES)
    index_get()  # the first process encodes and stores the vector
    # What is stored is what every other process indexes: here a different question's vector, to tell them apart.
    Entry.objects.filter(pk=entry.pk).update(vector=stored(TIMES))
    index_reset()  # another process, with no snapshot

    assert nearest(TIMES) == (entry.pk, 1.0)


def test_rebuild_index_reads_stored_vectors_and_encodes_only_missing_or_stale_ones(capsys):
    kept = EntryFactory(text=APPLES, vector=stored(LIGHT), vector_model=model_name())
    stale = EntryFactory(text=TIMES, grade=4, vector=stored(APPLES), vector_model="an-older-model")
    missing = EntryFactory(text=LIGHT, subject=subject("physics"), grade=8)
    EntryFactory(text=LIGHT, grade=8, status=Entry.Status.WITHDRAWN)

    call_command("rebuild_index", verbosity=0)

    assert capsys.readouterr().out == "Encoded 2 and indexed 3 answered questions.\n"
    assert bytes(vector(kept)) == stored(LIGHT)
    np.testing.assert_allclose(vector(stale), np.frombuffer(stored(TIMES), dtype=VECTOR_DTYPE), atol=1e-3)
    np.testing.assert_allclose(vector(missing), np.frombuffer(stored(LIGHT), dtype=VECTOR_DTYPE), atol=1e-3)
    assert list(Entry.objects.order_by("pk").values_list("vector_model", flat=True)) == [model_name()] * 3 + [""]
    assert nearest(LIGHT) == (kept.pk, 1.0)  # the stored vector, not its text's
    assert nearest(TIMES) == (stale.pk, 1.0)
    assert nearest(LIGHT, subject="physics") == (missing.pk, 1.0)


def test_rebuild_index_reencode_encodes_every_active_entry_again(capsys):
    entry = EntryFactory(text=APPLES, vector=stored(TIMES), vector_model=model_name())

    call_command("rebuild_index", "--reencode", verbosity=0)

    assert capsys.readouterr().out == "Encoded 1 and indexed 1 answered questions.\n"
    assert bytes(vector(entry)) == stored(APPLES)
    assert nearest(APPLES) == (entry.pk, 1.0)


def test_a_changed_text_forgets_the_old_vector_and_the_next_catch_up_encodes_the_new_one():
    entry, _ = entry_save(text=APPLES, subject="math", grade=3, solution="7个", external_id="e1")
    index_get()

    entry_save(text=TIMES, subject="math", grade=3, solution="5", external_id="e1")

    entry.refresh_from_db()
    assert (entry.vector, entry.vector_model) == (None, "")
    assert nearest(TIMES) == (entry.pk, 1.0)
    assert bytes(vector(entry)) == stored(TIMES)
