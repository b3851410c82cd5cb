"""Reranking FAISS candidates and deciding between "same question", "similar" and none.

Every candidate gets three signals: the dense cosine similarity (from the store), a lexical similarity (Dice of
character bigrams, matching/lexical.py) and whether its numbers and operators agree with the query's
(matching/numbers.py). `score = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical` decides "similar"; what is
shown is ordered by `ORDER_DENSE_WEIGHT * dense + (1 - ORDER_DENSE_WEIGHT) * lexical`, "same" first.

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

from matching.encoder import Encoder
from matching.lexical import lexical_similarity, sequence_similarity
from matching.numbers import quantities
from matching.store import Entry, VectorStore
from matching.text import normalise

Label = Literal["same", "similar"]
Outcome = Literal["same", "similar", "none"]

DENSE_WEIGHT = 0.7  # the "similar" score separates paraphrase pairs best near 0.7 (accuracy 0.689)
ORDER_DENSE_WEIGHT = 0.2  # lexical-heavy order puts same-template exercises first (group top-1 0.415)
SAME_DENSE = 0.925  # with SAME_SEQUENCE: "same" at precision 0.951 on LCQMC + PAWS-X pooled
SAME_SEQUENCE = 0.95
SIMILAR_SCORE = 0.67  # best predicts the best candidate is of the query's question-type group (accuracy 0.706)
CANDIDATES = 100  # FAISS results reranked by `match`: group recall 0.73 at 50, 0.78 at 100


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float
    dense: float
    lexical: float
    numbers_agree: bool
    label: Label


def combined_score(dense: float, lexical: float) -> float:
    """The score that decides "similar" (and is stored with a match)."""
    return DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical


def order_score(dense: float, lexical: float) -> float:
    """The score that orders what is shown: lexical overlap weighs more for putting same-type exercises first."""
    return ORDER_DENSE_WEIGHT * dense + (1 - ORDER_DENSE_WEIGHT) * lexical


def rank(query: str, candidates: Sequence[tuple[Entry, float]], *, limit: int = 5) -> list[Match]:
    """The candidates (entries with their dense similarity) that are the same question or similar, "same" ones
    first, then by score; at most `limit`. An empty list means none: send the question to a live teacher."""
    text = normalise(query)
    wanted = quantities(text)
    matches = []
    for entry, dense in candidates:
        other = normalise(entry.text)
        lexical = lexical_similarity(text, other)
        score = combined_score(dense, lexical)
        numbers_agree = quantities(other) == wanted
        if numbers_agree and dense >= SAME_DENSE and sequence_similarity(text, other) >= SAME_SEQUENCE:
            matches.append(Match(entry, score, dense, lexical, numbers_agree, "same"))
        elif score >= SIMILAR_SCORE:
            matches.append(Match(entry, score, dense, lexical, numbers_agree, "similar"))
    matches.sort(key=lambda match: (match.label != "same", -order_score(match.dense, match.lexical)))
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
    candidates = store.search(vector, subject=subject, grades=grades, k=CANDIDATES)
    return rank(text, candidates, limit=limit)
