"""The lexical half of the search: BM25 over Chinese words, beside the dense index and over the same entries.

Dense vectors find paraphrases; they miss what words find: the same rare words and numbers in another order, with an
extra sentence, or with noise. The store asks both for candidates and ranks their union (matching/ranking.py).

- Words: jieba's segmentation (`rjieba`, the Rust port of jieba with the same dictionary and ~17x faster, so a million
  questions are segmented in seconds) of the normalised text; tokens with no letter, digit or character (punctuation)
  are dropped.
- Scores: Okapi BM25 with Lucene's idf (k1 1.2, b 0.75), each query word counted once. `relevance` divides a
  document's score by the query's score against itself, so 1.0 is "every word of the query, as concentrated as in the
  query", comparable across queries.
- Layout: one posting list per word, documents in slot order (a slot per indexed text, new texts get new slots): a
  compact base (CSR arrays: `_offsets` per word into `_rows` and `_weights`) plus the postings added since, merged into
  the base once they reach a tenth of it. Removing a text marks its slot dead; dead slots leave the postings at the
  next merge or save. Until then they count in the idf on both sides (document frequency and document count).
- Candidates: the words in at most `CANDIDATE_SHARE` of the documents (or `CANDIDATE_COUNT`) are summed into a score
  per slot (a word in most documents, 的 or 多少, adds little to the order and most of the cost); the best `k` within
  the subject and grades are then scored exactly with every word (`relevance`, by binary search in each posting
  list).

Not thread-safe: a worker process owns its store and this index with it.
"""

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import rjieba

from matching.text import normalise

K1 = 1.2
B = 0.75
CANDIDATE_SHARE = 0.05  # words in more documents than this share (and than CANDIDATE_COUNT) do not nominate
CANDIDATE_COUNT = 1000  # candidates, they only score them
MERGE_SHARE = 0.1  # postings added since the base are merged into it when they reach this share of it
MAX_WORD_LENGTH = 32
WORD = re.compile(r"\w")
_segmenter = rjieba.Jieba()


def words(text: str) -> list[str]:
    """The words of a text as the index reads them: jieba's segmentation of the normalised text, punctuation left out,
    each word at most MAX_WORD_LENGTH characters."""
    return [word[:MAX_WORD_LENGTH] for word in _segmenter.cut(normalise(text)) if WORD.search(word)]


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """`array` with room for at least `size` items (doubling), its contents kept."""
    if size <= len(array):
        return array
    grown = np.zeros(max(size, 2 * len(array), 1024), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


@dataclass(frozen=True)
class LexicalArrays:
    """What `LexicalIndex.arrays` saves and `LexicalIndex.from_arrays` loads: the live documents in the order of
    `ids`, their words by id (`vocabulary`, with `offsets` into `rows` and `frequencies` per word)."""

    ids: np.ndarray  # int64, a document's id
    subjects: np.ndarray  # int32, index into `subject_names`
    subject_names: list[str]
    grades: np.ndarray  # int16
    vocabulary: list[str]
    offsets: np.ndarray  # int64, len(vocabulary) + 1
    rows: np.ndarray  # int32, a position in `ids`, increasing within a word
    frequencies: np.ndarray  # uint16, the word's count in that document


class LexicalIndex:
    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._subject_numbers: dict[str, int] = {}
        self._slot_of: dict[int, int] = {}
        self._size = 0  # slots used
        self._ids = np.zeros(0, dtype=np.int64)
        self._subjects = np.zeros(0, dtype=np.int32)
        self._grades = np.zeros(0, dtype=np.int16)
        self._lengths = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._length_total = 0.0  # of live documents
        self._dead = 0  # removed documents whose postings are still in the lists (until the next merge)
        self._document_frequencies = np.zeros(0, dtype=np.int64)
        # Base postings, by word id: rows[offsets[w]:offsets[w + 1]] with their BM25 term weights (idf aside).
        self._offsets = np.zeros(1, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int32)
        self._frequencies = np.zeros(0, dtype=np.uint16)
        self._weights = np.zeros(0, dtype=np.float32)
        self._added: dict[int, tuple[list[int], list[int]]] = {}  # word id -> slots, frequencies since the base
        self._added_count = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    # Writing

    def add(self, ids: Sequence[int], subjects: Sequence[str], grades: Sequence[int], texts: Sequence[str]) -> None:
        """Index texts under their ids; an id already present is replaced."""
        self.remove(ids)
        for entry_id, subject, grade, text in zip(ids, subjects, grades, texts, strict=True):
            self._document_add(entry_id, subject, grade, words(text))
        if self._added_count > MERGE_SHARE * max(len(self._rows), 10_000):
            self._merge()

    def _document_add(self, entry_id: int, subject: str, grade: int, document: list[str]) -> None:
        slot = self._size
        self._size += 1
        for name in ("_ids", "_subjects", "_grades", "_lengths", "_alive"):
            setattr(self, name, _grown(getattr(self, name), self._size))
        self._ids[slot] = entry_id
        self._subjects[slot] = self._subject_numbers.setdefault(subject, len(self._subject_numbers))
        self._grades[slot] = grade
        self._lengths[slot] = len(document)
        self._alive[slot] = True
        self._slot_of[entry_id] = slot
        self._length_total += len(document)
        counts: dict[int, int] = {}
        for word in document:
            word_id = self._vocabulary.setdefault(word, len(self._vocabulary))
            counts[word_id] = counts.get(word_id, 0) + 1
        self._document_frequencies = _grown(self._document_frequencies, len(self._vocabulary))
        for word_id, count in counts.items():
            slots, frequencies = self._added.setdefault(word_id, ([], []))
            slots.append(slot)
            frequencies.append(min(count, 65_535))
            self._document_frequencies[word_id] += 1
        self._added_count += len(counts)

    def remove(self, ids: Iterable[int]) -> None:
        """Withdraw these ids; ids not indexed are ignored."""
        for entry_id in ids:
            slot = self._slot_of.pop(entry_id, None)
            if slot is not None:
                self._alive[slot] = False
                self._length_total -= float(self._lengths[slot])
                self._dead += 1

    def _merge(self) -> None:
        """Fold the postings added since the base into it, leave dead slots out, and weigh every posting again with
        the current average length."""
        word_count = len(self._vocabulary)
        base_words = np.repeat(np.arange(len(self._offsets) - 1), np.diff(self._offsets))
        added_words = np.fromiter(
            (word for word, (slots, _) in self._added.items() for _ in slots), np.int64, self._added_count
        )
        added_rows = np.fromiter((s for slots, _ in self._added.values() for s in slots), np.int32, self._added_count)
        added_frequencies = np.fromiter(
            (f for _, frequencies in self._added.values() for f in frequencies), np.uint16, self._added_count
        )
        all_words = np.concatenate([base_words, added_words])
        all_rows = np.concatenate([self._rows, added_rows])
        all_frequencies = np.concatenate([self._frequencies, added_frequencies])
        keep = self._alive[all_rows]
        all_words, all_rows, all_frequencies = all_words[keep], all_rows[keep], all_frequencies[keep]
        order = np.lexsort((all_rows, all_words))
        self._postings_set(word_count, all_words[order], all_rows[order], all_frequencies[order])
        self._added, self._added_count, self._dead = {}, 0, 0

    def _postings_set(self, word_count: int, word_ids: np.ndarray, rows: np.ndarray, frequencies: np.ndarray) -> None:
        """Make the base from postings sorted by word, then row."""
        counts = np.bincount(word_ids, minlength=word_count)
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._document_frequencies = _grown(counts.astype(np.int64), word_count)
        self._rows = rows.astype(np.int32)
        self._frequencies = frequencies.astype(np.uint16)
        self._weights = self._term_weights(self._frequencies, self._lengths[self._rows])

    @property
    def _average(self) -> float:
        """The average length of the live documents; the base's weights keep the one of their merge."""
        return self._length_total / len(self._slot_of) if self._slot_of else 1.0

    def _term_weights(self, frequencies: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        f = frequencies.astype(np.float32)
        return (f * (K1 + 1) / (f + K1 * (1 - B + B * lengths / self._average))).astype(np.float32)

    # Reading

    def _idf(self, word_id: int) -> float:
        """Lucene's idf; dead documents still in the posting lists count on both sides until the next merge."""
        frequency = float(self._document_frequencies[word_id])
        documents = len(self._slot_of) + self._dead
        return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))

    def _postings(self, word_id: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The word's slots (increasing) and term weights: the base's, then those added since."""
        if word_id + 1 < len(self._offsets):
            start, end = self._offsets[word_id], self._offsets[word_id + 1]
            yield self._rows[start:end], self._weights[start:end]
        if word_id in self._added:
            slots, frequencies = self._added[word_id]
            rows = np.array(slots, dtype=np.int32)
            yield rows, self._term_weights(np.array(frequencies), self._lengths[rows])

    def _query(self, text: str) -> tuple[list[tuple[int, float]], float]:
        """The query's known words with their idf, and its score against itself (what `relevance` divides by)."""
        document = words(text)
        counts: dict[str, int] = {}
        for word in document:
            counts[word] = counts.get(word, 0) + 1
        known = [(self._vocabulary[word], count) for word, count in counts.items() if word in self._vocabulary]
        weighted = [(word_id, self._idf(word_id)) for word_id, _ in known]
        norm = K1 * (1 - B + B * len(document) / self._average)
        itself = sum(
            idf * count * (K1 + 1) / (count + norm) for (_, count), (_, idf) in zip(known, weighted, strict=True)
        )
        return weighted, itself

    def _allowed(self, slots: np.ndarray, subject: str, grades: tuple[int, int] | None) -> np.ndarray:
        number = self._subject_numbers.get(subject, -1)
        allowed = self._alive[slots] & (self._subjects[slots] == number)
        if grades is not None:
            allowed &= (self._grades[slots] >= grades[0]) & (self._grades[slots] <= grades[1])
        return allowed

    def search(self, text: str, *, subject: str, grades: tuple[int, int] | None, k: int) -> list[tuple[int, float]]:
        """The k ids of this subject (and grades, both ends included) with the highest BM25 for the text, with their
        `relevance`, best first."""
        query, itself = self._query(text)
        limit = max(CANDIDATE_SHARE * len(self._slot_of), CANDIDATE_COUNT)
        nominating = [(word_id, idf) for word_id, idf in query if self._document_frequencies[word_id] <= limit]
        if not nominating:  # only common words: the rarest of them nominate
            nominating = sorted(query, key=lambda pair: -pair[1])[:2]
        if not nominating or k <= 0:
            return []
        scores = np.zeros(self._size, dtype=np.float32)
        for word_id, idf in nominating:
            for rows, weights in self._postings(word_id):
                scores[rows] += idf * weights
        touched = np.flatnonzero(scores)
        touched = touched[self._allowed(touched, subject, grades)]
        if len(touched) > k:
            touched = touched[np.argpartition(-scores[touched], k - 1)[:k]]
        exact = self._relevance_of_slots(query, itself, touched)
        order = np.argsort(-exact, kind="stable")
        return [(int(self._ids[touched[i]]), float(exact[i])) for i in order]

    def relevance(self, text: str, ids: Sequence[int]) -> np.ndarray:
        """BM25 of each id's text for the query, divided by the query's own score (0 for an id not indexed)."""
        query, itself = self._query(text)
        slots = np.array([self._slot_of.get(entry_id, -1) for entry_id in ids], dtype=np.int64)
        result = np.zeros(len(ids), dtype=np.float64)
        present = slots >= 0
        result[present] = self._relevance_of_slots(query, itself, slots[present])
        return result

    def _relevance_of_slots(self, query: list[tuple[int, float]], itself: float, slots: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(slots), dtype=np.float64)
        if not len(slots) or itself <= 0:
            return scores
        for word_id, idf in query:
            for rows, weights in self._postings(word_id):
                found = np.searchsorted(rows, slots)
                inside = found < len(rows)
                hit = np.zeros(len(slots), dtype=bool)
                hit[inside] = rows[found[inside]] == slots[inside]
                scores[hit] += idf * weights[found[hit]]
        return scores / itself

    # Saving and loading

    def arrays(self) -> LexicalArrays:
        """The live documents and their postings, compacted (dead slots and the postings added since merged)."""
        if self._added_count or self._dead:
            self._merge()
        live_slots = np.flatnonzero(self._alive[: self._size])
        position = np.full(self._size, -1, dtype=np.int64)
        position[live_slots] = np.arange(len(live_slots))
        return LexicalArrays(
            ids=self._ids[live_slots].copy(),
            subjects=self._subjects[live_slots].copy(),
            subject_names=sorted(self._subject_numbers, key=self._subject_numbers.__getitem__),
            grades=self._grades[live_slots].copy(),
            vocabulary=sorted(self._vocabulary, key=self._vocabulary.__getitem__),
            offsets=self._offsets.copy(),
            rows=position[self._rows].astype(np.int32),
            frequencies=self._frequencies.copy(),
        )

    @classmethod
    def from_arrays(cls, arrays: LexicalArrays) -> "LexicalIndex":
        index = cls()
        count = len(arrays.ids)
        index._size = count
        index._ids = arrays.ids.astype(np.int64)
        index._subjects = arrays.subjects.astype(np.int32)
        index._grades = arrays.grades.astype(np.int16)
        index._alive = np.ones(count, dtype=bool)
        index._subject_numbers = {name: number for number, name in enumerate(arrays.subject_names)}
        index._vocabulary = {word: number for number, word in enumerate(arrays.vocabulary)}
        index._slot_of = dict(zip(index._ids.tolist(), range(count), strict=True))
        index._lengths = np.bincount(arrays.rows, weights=arrays.frequencies, minlength=count).astype(np.float32)
        index._length_total = float(index._lengths.sum())
        word_ids = np.repeat(np.arange(len(arrays.offsets) - 1), np.diff(arrays.offsets))
        index._postings_set(len(arrays.vocabulary), word_ids, arrays.rows, arrays.frequencies)
        return index
