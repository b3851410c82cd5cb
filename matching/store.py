"""The FAISS store of answered questions: one index per subject, grades filtered inside the search.

Layout. Each subject has its own index; a vector's FAISS label is `grade << 48 | id`, so "grades 4 to 6" is one
contiguous label range and FAISS filters it while it scans (`IDSelectorRange`), with no post-filtering that could
leave fewer than k results.

Index type by size (per subject):
- below `IVF_MIN_SIZE` vectors: exact search (`IndexScalarQuantizer` fp16 behind `IndexIDMap2`): every vector is
  scored, half the memory of float32, scores within 1e-3 of float32.
- from `IVF_MIN_SIZE` on: `IndexIVFScalarQuantizer` (8 bits a dimension, 4x smaller than float32), `nlist` about
  √n, `NPROBE` lists scanned; it is trained again (k-means and quantiser ranges) when the subject has grown 4x
  since the last training.
HNSW was not chosen: it cannot delete (withdrawn videos) and a grade filter on it loses recall.

Measured by bench/matching_speed on this 2-core machine with 1,000,000 generated questions (845,546 of them maths,
one IVF of 582 lists, trained at 338,000): dense search p50 2.5 ms / p99 3.8 ms inside a grade range, recall@10
0.980 against exact float32 search, 488 MiB of codes (PCA to 256 dimensions would halve them if needed); with the
lexical index, 91 s to build from vectors in memory, 4 s to load, 1,124 MiB resident once loaded. A rebuild from
the database trains each large subject once, for its final size (`subject_train`: 919 lists for those maths
questions), and adds pages as they are read.

Beside the FAISS indexes the store keeps the lexical index of the same entries (matching/lexical_index.py: BM25 over
jieba words), added to, withdrawn from and saved with them, so the two halves of a hybrid search never disagree on
what the library holds; `similarity` and `relevance` give either score for any entry. The lexical index also holds
the entries themselves (id, subject, grade and text, compactly), and `Entry` objects are made only for results.

Additions replace an id already present; removals are immediate. `save` writes one `.npz` file next to a temporary
name and renames it over the old one, so a worker starting at the same moment reads either the old or the new
store, never half of one. Not thread-safe: a worker process owns its store.
"""

import math
import os
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import faiss
import numpy as np

from matching.lexical_index import LexicalArrays, LexicalIndex

IVF_MIN_SIZE = 50_000
NPROBE = 16
STORE_FILE = "store.npz"
_GRADE_SHIFT = 48
_ID_MASK = (1 << _GRADE_SHIFT) - 1
_MAX_GRADE = 255
_TRAINING_SAMPLE_PER_LIST = 64


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    subject: str
    grade: int
    text: str


def _label(entry: Entry) -> int:
    if not 0 <= entry.id <= _ID_MASK or not 0 <= entry.grade <= _MAX_GRADE:
        raise ValueError(f"id must be in [0, 2**48) and grade in [0, {_MAX_GRADE}]: {entry.id}, {entry.grade}")
    return entry.grade << _GRADE_SHIFT | entry.id


def _exact_index(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(
        faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    )


def _ivf_lists(count: int) -> int:
    return max(1, int(math.sqrt(count)))


def training_size(count: int) -> int:
    """How many of a subject's `count` vectors train its IVF; 0 below IVF_MIN_SIZE, where search stays exact."""
    return 0 if count < IVF_MIN_SIZE else min(count, _ivf_lists(count) * _TRAINING_SAMPLE_PER_LIST)


def _ivf_index(sample: np.ndarray, count: int) -> faiss.Index:
    """An IVF index sized for `count` vectors, trained on `sample` (`training_size(count)` of them, drawn at random);
    the caller adds the vectors."""
    dimension = sample.shape[1]
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dimension),
        dimension,
        _ivf_lists(count),
        faiss.ScalarQuantizer.QT_8bit,
        faiss.METRIC_INNER_PRODUCT,
    )
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    # A hash table direct map lets remove_ids and reconstruct_batch find a label.
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # missing from faiss's stubs
    return index


@dataclass(frozen=True)
class _Stream:
    """`size` bytes that `write_to(write)` hands to `write` a piece at a time: saved as a byte array that is never
    held in memory whole."""

    size: int
    write_to: Callable[[Callable[[bytes], int]], object]


def _index_stream(index: faiss.Index) -> _Stream:
    """The bytes `faiss.serialize_index` would return (an index can be hundreds of MB), as FAISS writes them out; a
    first pass only counts them."""
    size = 0

    def count(chunk: bytes) -> int:
        nonlocal size
        size += len(chunk)
        return len(chunk)

    faiss.write_index(index, faiss.PyCallbackIOWriter(count))  # type: ignore[attr-defined]  # missing from faiss's stubs
    return _Stream(size, lambda write: faiss.write_index(index, faiss.PyCallbackIOWriter(write)))  # type: ignore[attr-defined]  # missing from faiss's stubs


class VectorStore:
    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._indexes: dict[str, faiss.Index] = {}
        self._trained_sizes: dict[str, int] = {}  # 0 while the subject's index is exact
        self._lexical = LexicalIndex()

    def __len__(self) -> int:
        return len(self._lexical)

    def ids(self) -> set[int]:
        return set(self._lexical.ids().tolist())

    def entries(self, ids: Sequence[int]) -> list[Entry]:
        """The entries of these ids (all in the store)."""
        documents = self._lexical.documents(ids)
        return [Entry(entry_id, *document) for entry_id, document in zip(ids, documents, strict=True)]

    def add(self, entries: Sequence[Entry], vectors: np.ndarray) -> None:
        """Index entries with their L2-normalised vectors (row i belongs to entries[i]); an id already present is
        replaced, and of repeated ids in one call the last wins."""
        if vectors.shape != (len(entries), self.dimension):
            raise ValueError(f"expected vectors of shape {(len(entries), self.dimension)}, got {vectors.shape}")
        latest = {entry.id: row for row, entry in enumerate(entries)}
        self.remove(latest)
        rows_by_subject: dict[str, list[int]] = defaultdict(list)
        for row in latest.values():
            rows_by_subject[entries[row].subject].append(row)
        for subject, rows in rows_by_subject.items():
            labels = np.array([_label(entries[row]) for row in rows], dtype=np.int64)
            self._subject_add(subject, labels, np.ascontiguousarray(vectors[rows], dtype=np.float32))
        added = [entries[row] for row in latest.values()]
        self._lexical.add(
            [entry.id for entry in added],
            [entry.subject for entry in added],
            [entry.grade for entry in added],
            [entry.text for entry in added],
        )

    def _subject_add(self, subject: str, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Add to the subject's index, or first rebuild it as IVF when it reaches IVF_MIN_SIZE or has grown 4x
        since its IVF was trained (the old vectors are read back from the index)."""
        index = self._indexes.get(subject)
        size = len(labels) + (index.ntotal if index is not None else 0)
        if size < IVF_MIN_SIZE or size < 4 * self._trained_sizes.get(subject, 0):
            if index is None:
                index = self._indexes[subject] = _exact_index(self.dimension)
                self._trained_sizes[subject] = 0
            index.add_with_ids(vectors, labels)
            return
        if index is not None and index.ntotal:
            ids, grades = self._lexical.subject_documents(subject)
            present = grades << _GRADE_SHIFT | ids
            labels = np.concatenate([present, labels])
            vectors = np.concatenate([index.reconstruct_batch(present), vectors])
        sample = np.random.default_rng(0).choice(len(vectors), training_size(len(vectors)), replace=False)
        rebuilt = _ivf_index(vectors[np.sort(sample)], len(vectors))
        rebuilt.add_with_ids(vectors, labels)
        self._indexes[subject] = rebuilt
        self._trained_sizes[subject] = len(labels)

    def subject_train(self, subject: str, count: int, sample: np.ndarray) -> None:
        """Prepare an empty subject for `count` vectors added a batch at a time (a rebuild): from IVF_MIN_SIZE on, its
        IVF is trained now on `sample` (`training_size(count)` of those vectors, drawn at random), so the batches go
        straight into it, with no retraining that would read every vector back into memory."""
        if subject in self._indexes:
            raise ValueError(f"subject {subject} already has vectors")
        if training_size(count):
            self._indexes[subject] = _ivf_index(sample, count)
            self._trained_sizes[subject] = count

    def remove(self, ids: Iterable[int]) -> int:
        """Withdraw these ids; ids not in the store are ignored. Returns how many were removed."""
        present = self._lexical.present(dict.fromkeys(ids))
        labels_by_subject: dict[str, list[int]] = defaultdict(list)
        for entry in self.entries(present):
            labels_by_subject[entry.subject].append(_label(entry))
        self._lexical.remove(present)
        for subject, labels in labels_by_subject.items():
            self._indexes[subject].remove_ids(np.array(labels, dtype=np.int64))  # type: ignore[arg-type]  # faiss's wrapper takes an id array too; its stubs list only IDSelector
        return sum(map(len, labels_by_subject.values()))

    def search(
        self, vector: np.ndarray, *, subject: str, grades: tuple[int, int] | None, k: int
    ) -> list[tuple[Entry, float]]:
        """The k entries of this subject (and grades, both ends included) nearest to an L2-normalised vector, with
        their cosine similarity, best first."""
        index = self._indexes.get(subject)
        if index is None or index.ntotal == 0 or k <= 0:
            return []
        low, high = (int(grade) for grade in grades) if grades is not None else (0, _MAX_GRADE)
        selector = faiss.IDSelectorRange(max(low, 0) << _GRADE_SHIFT, (min(high, _MAX_GRADE) + 1) << _GRADE_SHIFT)
        # Set field by field, as faiss's keyword constructor does (its stubs know only the fields).
        if isinstance(index, faiss.IndexIVF):
            ivf_parameters = faiss.SearchParametersIVF()
            ivf_parameters.nprobe = NPROBE
            parameters: faiss.SearchParameters = ivf_parameters
        else:
            parameters = faiss.SearchParameters()
        parameters.sel = selector
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dimension)
        scores, labels = index.search(query, k, params=parameters)
        found = labels[0] >= 0
        entries = self.entries((labels[0][found] & _ID_MASK).tolist())
        return list(zip(entries, scores[0][found].tolist(), strict=True))

    def lexical_search(
        self, text: str, *, subject: str, grades: tuple[int, int] | None, k: int
    ) -> list[tuple[Entry, float]]:
        """The k entries of this subject (and grades) with the highest BM25 for the text, with their relevance (BM25
        over the query's own), best first."""
        found = self._lexical.search(text, subject=subject, grades=grades, k=k)
        return list(zip(self.entries([entry_id for entry_id, _ in found]), [score for _, score in found], strict=True))

    def relevance(self, text: str, entries: Sequence[Entry]) -> np.ndarray:
        """The BM25 relevance of each entry for the text (as `lexical_search` gives it)."""
        return self._lexical.relevance(text, [entry.id for entry in entries])

    def similarity(self, vector: np.ndarray, entries: Sequence[Entry]) -> np.ndarray:
        """The cosine similarity of an L2-normalised vector to each entry's stored vector (as `search` gives it)."""
        result = np.zeros(len(entries), dtype=np.float32)
        by_subject: dict[str, list[int]] = defaultdict(list)
        for position, entry in enumerate(entries):
            by_subject[entry.subject].append(position)
        for subject, positions in by_subject.items():
            labels = np.array([_label(entries[position]) for position in positions], dtype=np.int64)
            stored = self._indexes[subject].reconstruct_batch(labels)
            result[positions] = stored @ np.asarray(vector, dtype=np.float32)
        return result

    def save(self, directory: Path) -> None:
        """Write the store to `directory/store.npz` atomically (temporary file, fsync, rename). The arrays are written
        one after the other, laid out as `np.savez` does, and each index is streamed from FAISS into the file, so
        saving needs little memory beyond the store itself."""
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{STORE_FILE}.{os.getpid()}.tmp"
        with temporary.open("wb") as file:
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, value in self._arrays():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        if isinstance(value, np.ndarray):
                            np.lib.format.write_array(member, value, allow_pickle=False)
                        else:
                            header = {"descr": "|u1", "fortran_order": False, "shape": (value.size,)}
                            np.lib.format.write_array_header_1_0(member, header)
                            value.write_to(member.write)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(directory / STORE_FILE)

    def _arrays(self) -> Iterator[tuple[str, np.ndarray | _Stream]]:
        """The store's arrays by name, each made only when it is about to be written; the indexes, the large ones, as
        streams. The entries themselves are the lexical index's documents."""
        subjects = sorted(self._indexes)
        yield "dimension", np.array(self.dimension)
        yield "subjects", np.array(subjects, dtype=str)
        yield "trained_sizes", np.array([self._trained_sizes[subject] for subject in subjects], dtype=np.int64)
        for number, subject in enumerate(subjects):
            yield f"index_{number}", _index_stream(self._indexes[subject])
        lexical = self._lexical.arrays()
        yield "lexical_ids", lexical.ids
        yield "lexical_subjects", lexical.subjects
        yield "lexical_subject_names", np.array(lexical.subject_names, dtype=str)
        yield "lexical_grades", lexical.grades
        yield "lexical_text_ends", lexical.text_ends
        yield "lexical_texts", lexical.texts
        vocabulary = [word.encode() for word in lexical.vocabulary]
        yield "lexical_word_lengths", np.fromiter(map(len, vocabulary), np.int32, len(vocabulary))
        yield "lexical_words", np.frombuffer(b"".join(vocabulary), dtype=np.uint8)
        yield "lexical_offsets", lexical.offsets
        yield "lexical_rows", lexical.rows
        yield "lexical_frequencies", lexical.frequencies

    @classmethod
    def load(cls, directory: Path) -> Self:
        with np.load(directory / STORE_FILE, allow_pickle=False) as arrays:
            store = cls(int(arrays["dimension"]))
            subjects = [str(subject) for subject in arrays["subjects"]]
            for number, subject in enumerate(subjects):
                store._indexes[subject] = faiss.deserialize_index(arrays[f"index_{number}"])
                store._trained_sizes[subject] = int(arrays["trained_sizes"][number])
            store._lexical = LexicalIndex.from_arrays(
                LexicalArrays(
                    ids=arrays["lexical_ids"],
                    subjects=arrays["lexical_subjects"],
                    subject_names=[str(name) for name in arrays["lexical_subject_names"]],
                    grades=arrays["lexical_grades"],
                    text_ends=arrays["lexical_text_ends"],
                    texts=arrays["lexical_texts"],
                    vocabulary=_strings(arrays["lexical_words"].tobytes(), arrays["lexical_word_lengths"]),
                    offsets=arrays["lexical_offsets"],
                    rows=arrays["lexical_rows"],
                    frequencies=arrays["lexical_frequencies"],
                )
            )
        return store


def _strings(blob: bytes, lengths: np.ndarray) -> list[str]:
    """UTF-8 strings stored one after the other, with their byte lengths."""
    ends = np.cumsum(lengths).tolist()
    return [blob[start:end].decode() for start, end in zip([0, *ends[:-1]], ends, strict=True)]
