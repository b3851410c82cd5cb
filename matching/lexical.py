"""Lexical scores over the characters of normalised text (Chinese has no spaces, so characters are the words).

`lexical_similarity` is the reranking score: symmetric, in [0, 1], and needs no corpus statistics, so it works on the
candidates FAISS returns. `sequence_similarity` also sees order ("甲比乙多" against "乙比甲多", which share nearly
every bigram); the "same question" decision requires it. `Bm25` is plain Okapi BM25 over a whole corpus: the
baseline the quality benchmark compares against.
"""

from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

NGRAM_SIZES = (1, 2)


def char_ngrams(text: str, sizes: Sequence[int] = NGRAM_SIZES) -> list[str]:
    """Every character n-gram of each size, in order: "3倍加" -> ["3", "倍", "加", "3倍", "倍加"]."""
    return [text[start : start + size] for size in sizes for start in range(len(text) - size + 1)]


def lexical_similarity(first: str, second: str) -> float:
    """Dice coefficient of the character-bigram multisets: 2·|A∩B| / (|A|+|B|); 1.0 for equal texts."""
    a, b = Counter(char_ngrams(first, (2,))), Counter(char_ngrams(second, (2,)))
    total = a.total() + b.total()
    return 2 * (a & b).total() / total if total else float(first == second)


def sequence_similarity(first: str, second: str) -> float:
    """difflib's ratio, 2·M / (|a|+|b|) with M the characters in matching blocks taken in order; 1.0 for equal texts."""
    return SequenceMatcher(None, first, second, autojunk=False).ratio()


class Bm25:
    """Okapi BM25 (Lucene's idf, k1 and b) over character uni- and bigrams, with a numpy inverted index."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        counts = [Counter(char_ngrams(document)) for document in documents]
        lengths = np.array([count.total() for count in counts], dtype=np.float64)
        average = lengths.mean() if len(lengths) and lengths.mean() > 0 else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for index, count in enumerate(counts):
            norm = k1 * (1 - b + b * lengths[index] / average)
            for gram, frequency in count.items():
                rows, weights = postings.setdefault(gram, ([], []))
                rows.append(index)
                weights.append(frequency * (k1 + 1) / (frequency + norm))
        self.size = len(documents)
        self._postings = {
            gram: (np.array(rows, dtype=np.int64), np.array(weights) * self._idf(len(rows)))
            for gram, (rows, weights) in postings.items()
        }

    def _idf(self, document_frequency: int) -> float:
        return float(np.log(1 + (self.size - document_frequency + 0.5) / (document_frequency + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        """BM25 of the query (its distinct n-grams) against every document, in document order."""
        scores = np.zeros(self.size)
        for gram in set(char_ngrams(query)):
            if gram in self._postings:
                rows, weights = self._postings[gram]
                scores[rows] += weights
        return scores
