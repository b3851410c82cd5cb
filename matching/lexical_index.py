"""The lexical half of the search: BM25 over Chinese words, beside the dense index and over the same entries.

Dense vectors find paraphrases; they miss what words find: the same rare words and numbers in another order, with an
extra sentence, or with noise. The store asks both for candidates and ranks their union (matching/ranking.py).

- Words: jieba's segmentation (`rjieba`, the Rust port of jieba with the same dictionary and ~17x faster, so a million
  questions are segmented in seconds) of the normalised text; tokens with no letter, digit or character (punctuation)
  are dropped.
- Scores: Okapi BM25 with Lucene's idf (k1 1.2, b 0.75), each query word counted once. `relevance` divides a
  document's score by the query's score against itself, so 1.0 is "every word of the query, as concentrated as in the
  query", comparable across queries.
- Documents: a slot per indexed text (new texts get new slots) with its id, subject, grade, length and text; the
  store reads its entries from here (`documents`). Texts are kept as GB18030 bytes in one array (lossless for every
  code point, two bytes a Chinese character and one for ASCII: 246 bytes for the average corpus question, against
  about 560 as a Python string with its entry object and dict slot).
- Postings: one posting list per word, slots increasing, with the word's count in each (at most 255; BM25 saturates
  long before): 5 bytes a posting, the term weights computed per query from the counts and the current average
  length. The postings are two compact sets of CSR arrays (`_Postings`: offsets per word into rows and counts): the
  base, and the tail of those added since, joined into the base once it reaches a tenth of it. Adding a batch is
  vectorised (numpy), so a million texts are indexed in about a minute. Removing a text marks its slot dead; when
  the tail is joined (or the index saved) dead slots leave the postings and the slots are renumbered, in order.
  Until then they count in the idf on both sides (document frequency and document count).
- Ids: the base's ids sorted (with their slots) for a binary search, and a dict for the slots made since.
- Candidates: the query's words nominate, rarest first, while their postings stay within `NOMINATION_POSTINGS`;
  words in more than `CANDIDATE_SHARE` of the documents (and more than `CANDIDATE_COUNT`) never do: a word in most
  documents, 的 or 多少, adds little to the order and most of the cost. The nominated slots' partial scores pick the
  best `k` within the subject and grades; those are then scored exactly with every word (`relevance`, by binary
  search in each posting list).

Not thread-safe: a worker process owns its store and this index with it.
"""

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import rjieba

from matching.text import normalise

K1 = 1.2
B = 0.75
CANDIDATE_SHARE = 0.05  # words in more documents than this share (and than CANDIDATE_COUNT) do not nominate
CANDIDATE_COUNT = 1000  # candidates, they only score them
NOMINATION_POSTINGS = 200_000  # the nominating words' postings, at most (the rarest word always nominates)
MERGE_SHARE = 0.1  # the tail is joined into the base when it reaches this share of it
MAX_COUNT = 255  # a word's count in one document, as stored
MAX_WORD_LENGTH = 32
SEGMENT_BATCH = 10_000  # texts segmented at a time while adding
_MERGE_FLOOR = 10_000  # postings: below this the tail waits, however small the base
_ROW_BITS = 32
TEXT_ENCODING = "gb18030"
WORD = re.compile(r"\w")
_segmenter = rjieba.Jieba()


def words(text: str) -> list[str]:
    """The words of a text as the index reads them: jieba's segmentation of the normalised text, punctuation left out,
    each word at most MAX_WORD_LENGTH characters."""
    # isalnum() first: the same answer for nearly every word, and far cheaper than the pattern
    return [word[:MAX_WORD_LENGTH] for word in _segmenter.cut(normalise(text)) if word.isalnum() or WORD.search(word)]


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """`array` with room for at least `size` items (doubling), its contents kept."""
    if size <= len(array):
        return array
    grown = np.zeros(max(size, 2 * len(array), 1024), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


@dataclass(frozen=True)
class _Postings:
    """Posting lists in CSR form: word w's slots are rows[offsets[w]:offsets[w + 1]], increasing, with their counts."""

    offsets: np.ndarray  # int64
    rows: np.ndarray  # int32
    counts: np.ndarray  # uint8

    @classmethod
    def empty(cls, word_count: int = 0) -> "_Postings":
        return cls(np.zeros(word_count + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint8))

    def __len__(self) -> int:
        return len(self.rows)

    def widened(self, word_count: int) -> "_Postings":
        """The same postings over a vocabulary grown to `word_count` words."""
        missing = word_count + 1 - len(self.offsets)
        if missing <= 0:
            return self
        return _Postings(np.concatenate([self.offsets, np.full(missing, self.offsets[-1])]), self.rows, self.counts)

    def of(self, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        if word_id + 1 >= len(self.offsets):
            return self.rows[:0], self.counts[:0]
        start, end = self.offsets[word_id], self.offsets[word_id + 1]
        return self.rows[start:end], self.counts[start:end]

    def joined(self, later: "_Postings") -> "_Postings":
        """These postings and `later`'s, whose slots all come after these, in one set (no sorting needed)."""
        word_count = max(len(self.offsets), len(later.offsets)) - 1
        first, second = self.widened(word_count), later.widened(word_count)
        first_counts = np.diff(first.offsets)
        offsets = first.offsets + second.offsets
        # Within each word the later postings follow the earlier ones: mark where they go (a byte a posting, so a
        # join of a million questions' postings needs little beside the result), then fill both in order.
        marks = np.zeros(len(first) + len(second) + 1, dtype=np.int8)
        np.add.at(marks, offsets[:-1] + first_counts, 1)
        np.add.at(marks, offsets[1:], -1)
        later_at = np.cumsum(marks[:-1], dtype=np.int8).view(bool)
        rows = np.empty(len(later_at), dtype=np.int32)
        counts = np.empty(len(later_at), dtype=np.uint8)
        rows[later_at], counts[later_at] = second.rows, second.counts
        earlier_at = ~later_at
        rows[earlier_at], counts[earlier_at] = first.rows, first.counts
        return _Postings(offsets, rows, counts)

    def renumbered(self, position: np.ndarray) -> "_Postings":
        """The postings of the slots with a position (>= 0), each slot renumbered to its position."""
        keep = position[self.rows] >= 0
        before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
        return _Postings(before[self.offsets], position[self.rows[keep]].astype(np.int32), self.counts[keep])


@dataclass(frozen=True)
class LexicalArrays:
    """What `LexicalIndex.arrays` saves and `LexicalIndex.from_arrays` loads: the live documents in the order of
    `ids`, their texts, and their words by id (`vocabulary`, with `offsets` into `rows` and `frequencies` per word)."""

    ids: np.ndarray  # int64, a document's id
    subjects: np.ndarray  # int32, index into `subject_names`
    subject_names: list[str]
    grades: np.ndarray  # int16
    text_ends: np.ndarray  # int64, where each text ends in `texts`
    texts: np.ndarray  # uint8, the texts in TEXT_ENCODING, one after the other
    vocabulary: list[str]
    offsets: np.ndarray  # int64, len(vocabulary) + 1
    rows: np.ndarray  # int32, a position in `ids`, increasing within a word
    frequencies: np.ndarray  # uint8, the word's count in that document (at most MAX_COUNT)


class LexicalIndex:
    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._subject_numbers: dict[str, int] = {}
        self._size = 0  # slots used
        self._live = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._subjects = np.zeros(0, dtype=np.int32)
        self._grades = np.zeros(0, dtype=np.int16)
        self._lengths = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._text_ends = np.zeros(0, dtype=np.int64)
        self._texts = np.zeros(0, dtype=np.uint8)
        self._length_total = 0.0  # of live documents
        self._dead = 0  # removed documents whose postings are still in the lists (until the tail is joined)
        self._document_frequencies = np.zeros(0, dtype=np.int64)  # postings per word, dead ones included
        self._base = _Postings.empty()
        self._tail = _Postings.empty()
        # id -> slot: the base's ids in order with their slots, and the slots made since (or moved into the tail)
        self._sorted_ids = np.zeros(0, dtype=np.int64)
        self._sorted_slots = np.zeros(0, dtype=np.int64)
        self._recent: dict[int, int] = {}

    def __len__(self) -> int:
        return self._live

    # Writing

    def add(self, ids: Sequence[int], subjects: Sequence[str], grades: Sequence[int], texts: Sequence[str]) -> None:
        """Index texts under their ids (distinct); an id already present is replaced."""
        self.remove(ids)
        count = len(ids)
        if not count:
            return
        lengths, word_ids = self._words_read(texts)
        slots = np.arange(self._size, self._size + count, dtype=np.int64)
        keys, counts = np.unique(word_ids << _ROW_BITS | np.repeat(slots, lengths), return_counts=True)
        added_words = keys >> _ROW_BITS
        word_count = len(self._vocabulary)
        batch = _Postings(
            np.concatenate([[0], np.cumsum(np.bincount(added_words, minlength=word_count))]).astype(np.int64),
            (keys & ((1 << _ROW_BITS) - 1)).astype(np.int32),
            np.minimum(counts, MAX_COUNT).astype(np.uint8),
        )
        self._slots_add(ids, subjects, grades, lengths, [text.encode(TEXT_ENCODING) for text in texts])
        self._document_frequencies = _grown(self._document_frequencies, word_count)
        self._document_frequencies[:word_count] += np.diff(batch.offsets)
        self._tail = self._tail.joined(batch)
        if len(self._tail) >= MERGE_SHARE * max(len(self._base), _MERGE_FLOOR):
            self._merge()

    def _words_read(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's word count, and the word ids of all the texts one after the other (new words join the
        vocabulary); segmented SEGMENT_BATCH texts at a time, so a large batch never holds all its words as strings."""
        lengths, word_ids = [], []
        for start in range(0, len(texts), SEGMENT_BATCH):
            documents = [words(text) for text in texts[start : start + SEGMENT_BATCH]]
            every_word = list(itertools.chain.from_iterable(documents))
            for word in dict.fromkeys(every_word):
                self._vocabulary.setdefault(word, len(self._vocabulary))
            lengths.append(np.fromiter(map(len, documents), np.int64, len(documents)))
            word_ids.append(np.fromiter(map(self._vocabulary.__getitem__, every_word), np.int64, len(every_word)))
        return np.concatenate(lengths), np.concatenate(word_ids)

    def _slots_add(
        self,
        ids: Sequence[int],
        subjects: Sequence[str],
        grades: Sequence[int],
        lengths: np.ndarray,
        encoded: list[bytes],
    ) -> None:
        start, count = self._size, len(ids)
        self._size += count
        for name in ("_ids", "_subjects", "_grades", "_lengths", "_alive", "_text_ends"):
            setattr(self, name, _grown(getattr(self, name), self._size))
        used = int(self._text_ends[start - 1]) if start else 0
        self._text_ends[start : self._size] = used + np.cumsum(np.fromiter(map(len, encoded), np.int64, count))
        self._texts = _grown(self._texts, int(self._text_ends[self._size - 1]))
        self._texts[used : self._text_ends[self._size - 1]] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self._ids[start : self._size] = ids
        self._subjects[start : self._size] = [
            self._subject_numbers.setdefault(subject, len(self._subject_numbers)) for subject in subjects
        ]
        self._grades[start : self._size] = grades
        self._lengths[start : self._size] = lengths
        self._alive[start : self._size] = True
        self._recent.update(zip(ids, range(start, self._size), strict=True))
        self._live += count
        self._length_total += float(lengths.sum())

    def remove(self, ids: Iterable[int]) -> None:
        """Withdraw these ids; ids not indexed are ignored."""
        ids = list(ids)
        slots = self._slots(ids)
        slots = slots[slots >= 0]
        for entry_id in ids:
            self._recent.pop(entry_id, None)
        self._alive[slots] = False
        self._length_total -= float(self._lengths[slots].sum())
        self._live -= len(slots)
        self._dead += len(slots)

    def _slots(self, ids: Sequence[int]) -> np.ndarray:
        """The live slot of each id, -1 for an id not indexed."""
        wanted = np.fromiter(ids, np.int64, len(ids))
        slots = np.full(len(wanted), -1, dtype=np.int64)
        if len(self._sorted_ids) and len(wanted):
            found = np.minimum(np.searchsorted(self._sorted_ids, wanted), len(self._sorted_ids) - 1)
            hit = self._sorted_ids[found] == wanted
            slots[hit] = self._sorted_slots[found[hit]]
        for position, entry_id in enumerate(ids):
            slots[position] = self._recent.get(entry_id, slots[position])
        present = slots >= 0
        slots[present] = np.where(self._alive[slots[present]], slots[present], -1)
        return slots

    def _merge(self) -> None:
        """Join the tail into the base; when texts were removed, leave their slots out and renumber the rest (in
        order); index the ids for `_slots`."""
        joined = self._base.joined(self._tail) if len(self._tail) else self._base
        if self._dead:
            live = np.flatnonzero(self._alive[: self._size])
            position = np.full(self._size, -1, dtype=np.int64)
            position[live] = np.arange(len(live))
            joined = joined.renumbered(position)
            self._slots_keep(live)
        word_count = len(self._vocabulary)
        self._base, self._tail, self._dead = joined, _Postings.empty(word_count), 0
        self._document_frequencies = _grown(np.diff(joined.offsets), word_count)
        order = np.argsort(self._ids[: self._size], kind="stable")
        self._sorted_ids, self._sorted_slots = self._ids[order], order
        self._recent = {}

    def _slots_keep(self, live: np.ndarray) -> None:
        """Keep only these slots (increasing), renumbered from 0."""
        starts = np.concatenate([[0], self._text_ends[: self._size - 1]])
        texts = [self._texts[start:end] for start, end in zip(starts[live], self._text_ends[live], strict=True)]
        self._texts = np.concatenate([np.zeros(0, dtype=np.uint8), *texts])
        self._text_ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)))
        for name in ("_ids", "_subjects", "_grades", "_lengths", "_alive"):
            setattr(self, name, getattr(self, name)[live])
        self._size = len(live)

    @property
    def _average(self) -> float:
        """The average length of the live documents."""
        return self._length_total / self._live if self._live else 1.0

    def _term_weights(self, counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
        f = counts.astype(np.float32)
        return f * (K1 + 1) / (f + np.float32(K1) * (1 - B + B * self._lengths[rows] / np.float32(self._average)))

    # Reading

    def ids(self) -> np.ndarray:
        """The ids indexed, in slot order."""
        return self._ids[: self._size][self._alive[: self._size]]

    def present(self, ids: Iterable[int]) -> list[int]:
        """Those of the ids that are indexed."""
        ids = list(ids)
        return [entry_id for entry_id, slot in zip(ids, self._slots(ids).tolist(), strict=True) if slot >= 0]

    def documents(self, ids: Sequence[int]) -> list[tuple[str, int, str]]:
        """The subject, grade and text of each id (all indexed)."""
        slots = self._slots(ids)
        if (slots < 0).any():
            raise KeyError(f"not indexed: {[entry_id for entry_id, slot in zip(ids, slots, strict=True) if slot < 0]}")
        subject_names = list(self._subject_numbers)
        found = []
        for slot in slots.tolist():
            start = int(self._text_ends[slot - 1]) if slot else 0
            text = self._texts[start : self._text_ends[slot]].tobytes().decode(TEXT_ENCODING)
            found.append((subject_names[self._subjects[slot]], int(self._grades[slot]), text))
        return found

    def subject_documents(self, subject: str) -> tuple[np.ndarray, np.ndarray]:
        """The ids and grades of the subject's documents."""
        slots = np.flatnonzero(self._allowed(np.arange(self._size), subject, None))
        return self._ids[slots], self._grades[slots].astype(np.int64)

    def _idf(self, word_id: int) -> float:
        """Lucene's idf; dead documents still in the posting lists count on both sides until the tail is joined."""
        frequency = float(self._document_frequencies[word_id])
        documents = self._live + self._dead
        return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))

    def _postings(self, word_id: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The word's slots (increasing) and counts: the base's, then the tail's."""
        for postings in (self._base, self._tail):
            rows, counts = postings.of(word_id)
            if len(rows):
                yield rows, counts

    def _query(self, text: str) -> tuple[list[tuple[int, float]], float]:
        """The query's known words with their idf, and its score against itself (what `relevance` divides by)."""
        document = words(text)
        counts = Counter(document)
        known = [(self._vocabulary[word], count) for word, count in counts.items() if word in self._vocabulary]
        weighted = [(word_id, self._idf(word_id)) for word_id, _ in known]
        norm = K1 * (1 - B + B * len(document) / self._average)
        itself = sum(
            idf * count * (K1 + 1) / (count + norm) for (_, count), (_, idf) in zip(known, weighted, strict=True)
        )
        return weighted, itself

    def _nominating(self, query: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """The query words that nominate candidates: rarest first, within CANDIDATE_SHARE (or CANDIDATE_COUNT) and
        NOMINATION_POSTINGS; the two rarest when every word is common."""
        limit = max(CANDIDATE_SHARE * self._live, CANDIDATE_COUNT)
        rarest = sorted(query, key=lambda pair: self._document_frequencies[pair[0]])
        allowed = [pair for pair in rarest if self._document_frequencies[pair[0]] <= limit]
        if not allowed:
            return rarest[:2]
        postings = np.cumsum([self._document_frequencies[word_id] for word_id, _ in allowed])
        return allowed[: max(1, int(np.searchsorted(postings, NOMINATION_POSTINGS, side="right")))]

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
        nominating = self._nominating(query)
        if not nominating or k <= 0:
            return []
        scores = np.zeros(self._size, dtype=np.float32)
        for word_id, idf in nominating:
            for rows, counts in self._postings(word_id):
                scores[rows] += np.float32(idf) * self._term_weights(counts, rows)
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
        slots = self._slots(ids)
        result = np.zeros(len(ids), dtype=np.float64)
        present = slots >= 0
        result[present] = self._relevance_of_slots(query, itself, slots[present])
        return result

    def _relevance_of_slots(self, query: list[tuple[int, float]], itself: float, slots: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(slots), dtype=np.float64)
        if not len(slots) or itself <= 0:
            return scores
        for word_id, idf in query:
            for rows, counts in self._postings(word_id):
                found = np.minimum(np.searchsorted(rows, slots), len(rows) - 1)
                hit = rows[found] == slots
                scores[hit] += idf * self._term_weights(counts[found[hit]], slots[hit])
        return scores / itself

    # Saving and loading

    def arrays(self) -> LexicalArrays:
        """The live documents and their postings, compacted (dead slots left out and the tail joined)."""
        if len(self._tail) or self._dead:
            self._merge()
        size = self._size
        base = self._base.widened(len(self._vocabulary))
        return LexicalArrays(
            ids=self._ids[:size],
            subjects=self._subjects[:size],
            subject_names=list(self._subject_numbers),
            grades=self._grades[:size],
            text_ends=self._text_ends[:size],
            texts=self._texts[: self._text_ends[size - 1] if size else 0],
            vocabulary=list(self._vocabulary),
            offsets=base.offsets,
            rows=base.rows,
            frequencies=base.counts,
        )

    @classmethod
    def from_arrays(cls, arrays: LexicalArrays) -> "LexicalIndex":
        index = cls()
        count = len(arrays.ids)
        index._size = index._live = count
        index._ids = arrays.ids.astype(np.int64, copy=False)
        index._subjects = arrays.subjects.astype(np.int32, copy=False)
        index._grades = arrays.grades.astype(np.int16, copy=False)
        index._alive = np.ones(count, dtype=bool)
        index._text_ends = arrays.text_ends.astype(np.int64, copy=False)
        index._texts = arrays.texts.astype(np.uint8, copy=False)
        index._subject_numbers = {name: number for number, name in enumerate(arrays.subject_names)}
        index._vocabulary = {word: number for number, word in enumerate(arrays.vocabulary)}
        counts = np.minimum(arrays.frequencies, MAX_COUNT).astype(np.uint8, copy=False)
        index._lengths = np.bincount(arrays.rows, weights=counts, minlength=count).astype(np.float32)
        index._length_total = float(index._lengths.sum())
        index._base = _Postings(
            arrays.offsets.astype(np.int64, copy=False), arrays.rows.astype(np.int32, copy=False), counts
        )
        index._merge()
        return index
