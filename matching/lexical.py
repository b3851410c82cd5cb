"""Lexical scores over the characters of normalised text (Chinese has no spaces, so characters are the words).

`lexical_similarity` is the reranking score: symmetric, in [0, 1], and needs no corpus statistics, so it works on the
candidates FAISS returns. `sequence_similarity` also sees order ("甲比乙多" against "乙比甲多", which share nearly
every bigram); the "same question" decision requires it. The lexical index over the whole library (BM25 over
words) is matching/lexical_index.py.
"""

from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher

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
