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

Calibration: `python -m bench.matching_quality` on ../shared/eval with the default encoder (USE multilingual v3)
prints these figures and the values below; for another model (the encoder setting pointed at a model folder) run
it with `--model PATH` and copy its "calibrated" column here: thresholds belong to the model.

- SAME_DENSE, SAME_SEQUENCE: the highest recall whose precision of "same" reaches 0.95 on LCQMC and PAWS-X pooled
  (10,786 pairs): precision 0.951, recall 0.074 (LCQMC 0.989 / 0.061, PAWS-X 0.873 / 0.137). The trade-off is
  deliberate. LCQMC alone reaches precision 0.95 at recall 0.28 with a looser rule (dense >= 0.965, bigram Dice
  >= 0.625), but then PAWS-X, whose pairs differ by swapped names and places with the same characters, falls to
  precision 0.5; an order-aware, near-verbatim rule is what holds 0.95 on both (PAWS-X has 8 identical-text pairs
  labelled different, which caps its own precision near 0.89). A missed "same" costs little, the video still
  shows as similar; a false "same" tells a student another question is theirs. In domain (600 cmath problems)
  a reformatted copy (numbering, full width, OCR spaces) is "same" 100 %, a copy with one number changed or 加/减,
  多/少 swapped is "same" 0 % and "similar" 100 %.
- DENSE_WEIGHT 0.7: the score that decides "similar" separates LCQMC/PAWS-X pairs best towards a high dense weight
  (best accuracy 0.689 at 0.7, 0.700 at 0.8, 0.630 at 0.2); SIMILAR_SCORE below is calibrated for 0.7.
- ORDER_DENSE_WEIGHT 0.2: ordering FAISS's 100 candidates, lexical overlap puts same-template exercises first: group
  top-1 / top-5 0.415 / 0.606 at 0.2, against 0.391 / 0.572 ordered by the deciding score (0.7); BM25 over the whole
  corpus reaches 0.424 / 0.633, partly because it is not limited to the dense candidates. An IDF-weighted Dice (uni-
  and bigrams, document frequencies of the corpus) in place of the plain one was tried: 0.419 / 0.611 at best, not
  worth keeping corpus statistics in the store. The "same" decision does not use either weight (precision 0.951).
- SIMILAR_SCORE 0.67: the threshold on the best candidate's score that best predicts whether it is of the
  query's question-type group (accuracy 0.706). 35 % of group queries are then shown something, 64 % of those
  with a same-group question first; the rest go to a live teacher.
- CANDIDATES 100: the group hit rate still rises from 50 (recall of a group member 0.73) to 100 (0.78); reranking
  100 costs about 5 ms.
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

DENSE_WEIGHT = 0.7
ORDER_DENSE_WEIGHT = 0.2
SAME_DENSE = 0.925
SAME_SEQUENCE = 0.95
SIMILAR_SCORE = 0.67
CANDIDATES = 100  # FAISS results reranked by `match`


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
