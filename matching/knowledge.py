"""Knowledge points for a question's text: the votes of its nearest labelled neighbours (answered questions a
teacher or an import labelled, found by the same search that matches the question) and the taxonomy's own words
(names and aliases) found in the text. No Django: the taxonomy and the neighbours are handed in."""

from collections.abc import Sequence
from dataclasses import dataclass

from matching.text import normalise

# Calibrated with bench.knowledge (ChalkBase exercises, TAL-SCQ5K) by a grid over the first four constants.
NEIGHBOURS = 20  # the most similar labelled neighbours vote
NEIGHBOUR_FLOOR = 0.3  # a neighbour less similar than this (cosine) does not vote
VOTE_EXPONENT = 4  # a neighbour's vote: its similarity above the floor, scaled to 0-1, to this power
KEYWORD_WEIGHT = 0.1  # of the combined score; the neighbours' vote has the rest
OFF_GRADE = 0.5  # a point not taught in the question's grade counts this much
SUGGESTED = 3
MIN_CONFIDENCE = 0.05
MIN_TERM = 2  # a one-character name or alias says nothing on its own


@dataclass(frozen=True)
class Point:
    code: str
    terms: tuple[str, ...]  # its name and aliases
    grades: tuple[int, int] | None = None  # lowest and highest grade it is taught in


@dataclass(frozen=True)
class Suggestion:
    code: str
    confidence: float  # 0-1: the share of the neighbours' vote and of the words that point here


class Vocabulary:
    """A taxonomy's words, normalised once for many texts."""

    def __init__(self, points: Sequence[Point]) -> None:
        self.grades = {point.code: point.grades for point in points}
        terms: dict[str, set[str]] = {}
        for point in points:
            for term in point.terms:
                word = normalise(term)
                if len(word) >= MIN_TERM:
                    terms.setdefault(word, set()).add(point.code)
        self.terms = sorted(terms.items(), key=lambda item: -len(item[0]))

    def keyword_scores(self, text: str) -> dict[str, float]:
        """Each point whose name or alias the text contains, scored by its longest such word against the longest
        found (1 for the best): a longer word is a more specific point ("两位数乘两位数" over "乘法")."""
        text = normalise(text)
        found: dict[str, int] = {}
        for word, codes in self.terms:
            if word in text:
                for code in codes:
                    found.setdefault(code, len(word))  # longest first
        if not found:
            return {}
        longest = max(found.values())
        return {code: length / longest for code, length in found.items()}


def suggest(
    text: str,
    *,
    grade: int | None,
    neighbours: Sequence[tuple[float, Sequence[str]]],
    vocabulary: Vocabulary,
    limit: int = SUGGESTED,
) -> list[Suggestion]:
    """The likeliest knowledge points of ``text``, best first, with a confidence: ``neighbours`` are (similarity,
    their points) of labelled answered questions, any order. With no neighbour close enough only the words count,
    at KEYWORD_WEIGHT at most: a guess from words alone is never confident."""
    voters = sorted(
        ((similarity, codes) for similarity, codes in neighbours if similarity >= NEIGHBOUR_FLOOR and codes),
        key=lambda voter: -voter[0],
    )[:NEIGHBOURS]
    votes: dict[str, float] = {}
    total = 0.0
    for similarity, codes in voters:
        weight = ((similarity - NEIGHBOUR_FLOOR) / (1 - NEIGHBOUR_FLOOR)) ** VOTE_EXPONENT + 1e-6
        total += weight
        for code in codes:
            votes[code] = votes.get(code, 0.0) + weight
    scores = {code: KEYWORD_WEIGHT * score for code, score in vocabulary.keyword_scores(text).items()}
    for code, vote in votes.items():
        scores[code] = scores.get(code, 0.0) + (1 - KEYWORD_WEIGHT) * vote / total
    if grade is not None:
        for code in scores:
            grades = vocabulary.grades.get(code)
            if grades is not None and not grades[0] <= grade <= grades[1]:
                scores[code] *= OFF_GRADE
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [Suggestion(code, round(score, 4)) for code, score in ranked[:limit] if score >= MIN_CONFIDENCE]
