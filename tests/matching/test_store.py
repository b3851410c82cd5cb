from pathlib import Path

import numpy as np
import pytest

from matching import store as store_module
from matching.store import Entry, VectorStore


def unit_rows(count: int, dimension: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def filled_store() -> tuple[VectorStore, list[Entry], np.ndarray]:
    entries = [Entry(id=10 + number, subject="数学", grade=1 + number % 6, text=f"题{number}") for number in range(12)]
    entries.append(Entry(id=99, subject="物理", grade=8, text="物理题"))
    vectors = unit_rows(len(entries))
    store = VectorStore(8)
    store.add(entries, vectors)
    return store, entries, vectors


def test_search_finds_the_vector_itself_first_with_cosine_one() -> None:
    store, entries, vectors = filled_store()

    found = store.search(vectors[3], subject="数学", grades=None, k=3)

    assert found[0][0] == entries[3]
    assert found[0][1] == pytest.approx(1.0, abs=1e-3)
    assert len(found) == 3
    assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)


def test_search_keeps_to_the_subject_and_the_grade_range() -> None:
    store, entries, vectors = filled_store()

    found = store.search(vectors[0], subject="数学", grades=(2, 3), k=20)

    assert sorted(entry.id for entry, _ in found) == sorted(
        e.id for e in entries if e.subject == "数学" and 2 <= e.grade <= 3
    )
    assert store.search(vectors[0], subject="化学", grades=None, k=5) == []
    assert [entry.id for entry, _ in store.search(vectors[0], subject="物理", grades=None, k=5)] == [99]


def test_adding_an_id_again_replaces_it() -> None:
    store, _, vectors = filled_store()
    replacement = Entry(id=10, subject="物理", grade=9, text="改过的题")

    store.add([replacement], vectors[5:6])

    assert len(store) == 13
    assert store.search(vectors[0], subject="数学", grades=None, k=20)[0][0].id != 10
    assert store.search(vectors[5], subject="物理", grades=(9, 9), k=5) == [(replacement, pytest.approx(1.0, abs=1e-3))]


def test_remove_withdraws_ids_and_counts_only_those_present() -> None:
    store, entries, vectors = filled_store()

    removed = store.remove([10, 11, 12345])

    assert removed == 2
    assert store.ids() == {e.id for e in entries} - {10, 11}
    assert {entry.id for entry, _ in store.search(vectors[0], subject="数学", grades=None, k=20)}.isdisjoint({10, 11})


def test_add_rejects_vectors_of_the_wrong_shape() -> None:
    store = VectorStore(8)

    with pytest.raises(ValueError, match="shape"):
        store.add([Entry(1, "数学", 3, "题")], unit_rows(2))
    assert len(store) == 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store, _, vectors = filled_store()

    store.save(tmp_path / "index")
    loaded = VectorStore.load(tmp_path / "index")

    assert sorted(path.name for path in (tmp_path / "index").iterdir()) == ["store.npz"]
    assert loaded.dimension == 8
    assert loaded.ids() == store.ids()
    for subject in ("数学", "物理"):
        assert loaded.search(vectors[4], subject=subject, grades=(1, 9), k=5) == store.search(
            vectors[4], subject=subject, grades=(1, 9), k=5
        )


def test_large_subject_moves_to_ivf_and_still_adds_removes_saves(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "IVF_MIN_SIZE", 400)
    vectors = unit_rows(1000, dimension=16, seed=1)
    entries = [Entry(id=number, subject="数学", grade=number % 9 + 1, text=f"题{number}") for number in range(1000)]
    store = VectorStore(16)
    store.add(entries[:300], vectors[:300])
    assert store.search(vectors[0], subject="数学", grades=None, k=1)[0][0].id == 0

    store.add(entries[300:], vectors[300:])
    removed = store.remove(range(0, 1000, 2))
    store.save(tmp_path)
    loaded = VectorStore.load(tmp_path)

    assert removed == 500
    assert len(loaded) == 500
    found = loaded.search(vectors[7], subject="数学", grades=(8, 8), k=3)
    assert found[0][0] == entries[7]
    assert all(entry.grade == 8 and entry.id % 2 == 1 for entry, _ in found)


def test_a_subject_trained_up_front_takes_batches_without_retraining(monkeypatch) -> None:
    monkeypatch.setattr(store_module, "IVF_MIN_SIZE", 400)
    vectors = unit_rows(1000, dimension=16, seed=2)
    entries = [Entry(id=number, subject="数学", grade=number % 9 + 1, text=f"题{number}") for number in range(1000)]
    store = VectorStore(16)
    sample = np.random.default_rng(0).choice(1000, store_module.training_size(1000), replace=False)

    store.subject_train("数学", 1000, vectors[sample])
    store.subject_train("物理", 10, vectors[:0])  # below IVF_MIN_SIZE: nothing to train
    for start in range(0, 1000, 100):
        store.add(entries[start : start + 100], vectors[start : start + 100])

    assert (store_module.training_size(1000), store_module.training_size(399)) == (1000, 0)
    assert store._trained_sizes == {"数学": 1000}
    assert (store._indexes["数学"].nlist, store._indexes["数学"].ntotal) == (31, 1000)
    assert store.search(vectors[7], subject="数学", grades=(8, 8), k=1)[0][0] == entries[7]
    with pytest.raises(ValueError, match="already has vectors"):
        store.subject_train("数学", 1000, vectors[sample])


def test_lexical_search_relevance_and_similarity_cover_the_same_entries(tmp_path: Path) -> None:
    entries = [
        Entry(1, "数学", 3, "小明有15个苹果，吃了6个，还剩几个苹果？"),
        Entry(2, "数学", 4, "一个长方形的长是8厘米，宽是5厘米，周长是多少？"),
        Entry(3, "物理", 8, "苹果从树上掉下来是因为什么力？"),
    ]
    vectors = unit_rows(3)
    store = VectorStore(8)
    store.add(entries, vectors)

    found = store.lexical_search("还剩几个苹果", subject="数学", grades=(3, 4), k=5)

    assert [entry for entry, _ in found] == [entries[0]]
    assert store.relevance("还剩几个苹果", [entries[0], entries[1]]).tolist() == [found[0][1], 0.0]
    assert store.similarity(vectors[1], [entries[1], entries[0]]).tolist() == pytest.approx(
        [1.0, float(vectors[0] @ vectors[1])], abs=1e-3
    )

    store.remove([1])
    store.save(tmp_path)
    loaded = VectorStore.load(tmp_path)

    assert loaded.lexical_search("还剩几个苹果", subject="数学", grades=None, k=5) == []
    assert [entry for entry, _ in loaded.lexical_search("苹果", subject="物理", grades=None, k=5)] == [entries[2]]
    assert loaded.lexical_search("长方形周长", subject="数学", grades=None, k=5) == store.lexical_search(
        "长方形周长", subject="数学", grades=None, k=5
    )
