"""Hybrid candidates, reranked, and the decision between "same question", "similar" and none.

Candidates are the union of the dense index's nearest (FAISS, CANDIDATES) and the lexical index's best (BM25 over
jieba words, LEXICAL_CANDIDATES) in the question's subject and grades; each gets both scores from the store. Ranking
adds a lexical similarity (Dice of character bigrams, matching/lexical.py) and whether the candidate's numbers and
operators agree with the query's (matching/numbers.py). `score = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) *
lexical` decides "similar"; what is shown is ordered by `order_score` (ORDER_WEIGHTS of dense, BM25 relevance and
Dice), "same" first.

- "same" (offer its video first): the numbers agree, dense >= SAME_DENSE and the texts agree in order
  (`sequence_similarity` >= SAME_SEQUENCE): near-verbatim, the way a student retypes or photographs a textbook
  question.
- "similar" (show as related): score >= SIMILAR_SCORE.
- otherwise the candidate is dropped; no candidate left means none: the question goes to a live teacher.

The thresholds below are calibrated for the default encoder by `python -m bench.matching_quality` (another model
needs its own: run it with `--model PATH`); docs/matching-calibration.md has the figures behind each.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from matching.encoder import Encoder
from matching.lexical import lexical_similarity, sequence_similarity
from matching.numbers import quantities
from matching.store import Entry, VectorStore
from matching.text import normalise

Label = Literal["same", "similar"]
Outcome = Literal["same", "similar", "none"]

DENSE_WEIGHT = 0.7  # of the score that decides "similar" (the rest is the bigram Dice)
SIMILAR_SCORE = 0.40  # shows something for 96.5 % of group queries, nothing for 96.9 % of unrelated ones
ORDER_WEIGHTS = (0.5, 0.2, 0.3)  # dense, BM25 relevance, Dice: what is shown comes in this order
SAME_DENSE = 0.925  # with SAME_SEQUENCE: "same" at run time right 96 % and 100 % (paraphrase, reworded)
SAME_SEQUENCE = 0.95
CANDIDATES = 100  # FAISS results reranked by `match`
LEXICAL_CANDIDATES = 100  # BM25 results added to them


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    dense: float  # cosine similarity of the embeddings
    relevance: float  # BM25 over the query's own BM25 (matching/lexical_index.py)


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float
    dense: float
    lexical: float
    relevance: float
    numbers_agree: bool
    label: Label


def combined_score(dense: float, lexical: float) -> float:
    """The score that decides "similar" (and is stored with a match)."""
    return DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical


def order_score(dense: float, relevance: float, lexical: float) -> float:
    """The score that orders what is shown: the embeddings find paraphrases, the words (BM25 relevance, at most 1)
    and the bigrams put same-template exercises first."""
    dense_weight, relevance_weight, lexical_weight = ORDER_WEIGHTS
    return dense_weight * dense + relevance_weight * min(relevance, 1.0) + lexical_weight * lexical


def candidates(
    text: str,
    vector: np.ndarray,
    *,
    subject: str,
    grades: tuple[int, int] | None,
    store: VectorStore,
    exclude: int | None = None,
) -> list[Candidate]:
    """The union of the dense and the lexical candidates of the subject and grades, each with both scores; the entry
    `exclude` (a query that is itself in the library) left out."""
    extra = int(exclude is not None)
    dense = {
        entry.id: (entry, similarity)
        for entry, similarity in store.search(vector, subject=subject, grades=grades, k=CANDIDATES + extra)
        if entry.id != exclude
    }
    lexical = {
        entry.id: (entry, relevance)
        for entry, relevance in store.lexical_search(text, subject=subject, grades=grades, k=LEXICAL_CANDIDATES + extra)
        if entry.id != exclude
    }
    dense_only = [entry for entry_id, (entry, _) in dense.items() if entry_id not in lexical]
    lexical_only = [entry for entry_id, (entry, _) in lexical.items() if entry_id not in dense]
    relevance_of = dict(
        zip((entry.id for entry in dense_only), store.relevance(text, dense_only).tolist(), strict=True)
    )
    relevance_of.update((entry_id, relevance) for entry_id, (_, relevance) in lexical.items())
    similarity_of = {entry_id: similarity for entry_id, (_, similarity) in dense.items()}
    similarity_of.update(
        zip((entry.id for entry in lexical_only), store.similarity(vector, lexical_only).tolist(), strict=True)
    )
    entries = [entry for entry, _ in dense.values()] + lexical_only
    return [Candidate(entry, float(similarity_of[entry.id]), float(relevance_of[entry.id])) for entry in entries]


def rank(query: str, candidates: Sequence[Candidate], *, limit: int = 5) -> list[Match]:
    """The candidates that are the same question or similar, "same" ones first, then by score; at most `limit`. An
    empty list means none: send the question to a live teacher."""
    text = normalise(query)
    wanted = quantities(text)
    matches = []
    for candidate in candidates:
        entry, dense, relevance = candidate.entry, candidate.dense, candidate.relevance
        other = normalise(entry.text)
        lexical = lexical_similarity(text, other)
        score = combined_score(dense, lexical)
        numbers_agree = quantities(other) == wanted
        if numbers_agree and dense >= SAME_DENSE and sequence_similarity(text, other) >= SAME_SEQUENCE:
            matches.append(Match(entry, score, dense, lexical, relevance, numbers_agree, "same"))
        elif score >= SIMILAR_SCORE:
            matches.append(Match(entry, score, dense, lexical, relevance, numbers_agree, "similar"))
    matches.sort(key=lambda match: (match.label != "same", -order_score(match.dense, match.relevance, match.lexical)))
    return matches[:limit]


def outcome(matches: Sequence[Match]) -> Outcome:
    if not matches:
        return "none"
    return "same" if matches[0].label == "same" else "similar"


def match(
    text: str,
    *,
    subject: str,
    grades: tuple[int, int] | None,
    store: VectorStore,
    encoder: Encoder,
    limit: int = 5,
) -> list[Match]:
    """Encode the question, search its subject and grades, rerank: the whole matching step for one question."""
    vector = encoder.encode([text])[0]
    found = candidates(text, vector, subject=subject, grades=grades, store=store)
    return rank(text, found, limit=limit)
