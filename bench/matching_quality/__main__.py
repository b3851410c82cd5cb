"""Run the matching quality bench; see the package docstring for what it measures and prints."""

import argparse
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.matching_quality.data import (
    PAIR_FILES,
    Pair,
    Question,
    corpus_load,
    groups_load,
    pairs_load,
    vectors_cached,
)
from bench.matching_quality.tables import table
from matching import ranking
from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.lexical import Bm25, lexical_similarity, sequence_similarity
from matching.numbers import quantities
from matching.ranking import combined_score, order_score, outcome, rank
from matching.store import Entry, VectorStore
from matching.text import normalise

PRECISION_TARGET = 0.95
SUBJECT = "all"
_FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})
_NUMBER = re.compile(r"\d+")
_OPPOSITES = {"加": "减", "减": "加", "多": "少", "少": "多"}
_OPERATOR_WORD = re.compile(r"多少|[加减多少]")


@dataclass(frozen=True)
class Decisions:
    same: np.ndarray
    truth: np.ndarray

    @property
    def accuracy(self) -> float:
        return float((self.same == self.truth).mean())

    @property
    def precision(self) -> float:
        return float(self.truth[self.same].mean()) if self.same.any() else float("nan")

    @property
    def recall(self) -> float:
        return float(self.same[self.truth].mean())


@dataclass(frozen=True)
class PairSet:
    name: str
    truth: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    sequence: np.ndarray
    numbers_agree: np.ndarray
    ours: np.ndarray
    bm25: np.ndarray


@dataclass(frozen=True)
class Retrieval:
    hits: dict[str, tuple[float, float]]  # method -> (top-1, top-5)
    dense: list[np.ndarray]  # per query: dense similarity of each candidate
    lexical: list[np.ndarray]
    in_group: list[np.ndarray]
    outcomes: dict[str, int]


def top_hits(flags: Sequence[np.ndarray]) -> tuple[float, float]:
    return float(np.mean([row[:1].any() for row in flags])), float(np.mean([row[:5].any() for row in flags]))


def retrieval_measure(questions: list[Question], vectors: np.ndarray, groups: dict[str, str]) -> Retrieval:
    store = VectorStore(vectors.shape[1])
    store.add([Entry(number, SUBJECT, 0, question.text) for number, question in enumerate(questions)], vectors)
    bm25 = Bm25([normalise(question.text) for question in questions])
    group_of = [groups.get(question.id) for question in questions]
    flags: dict[str, list[np.ndarray]] = {"BM25 (char 1+2-grams)": [], "dense only": [], "ours, shown": []}
    dense_rows, lexical_rows, in_group_rows = [], [], []
    outcomes = {"same": 0, "similar": 0, "none": 0}
    for query in (number for number, question in enumerate(questions) if question.id in groups):
        group = group_of[query]
        scores = bm25.scores(normalise(questions[query].text))
        scores[query] = -np.inf
        best = np.argpartition(-scores, 5)[:5]
        flags["BM25 (char 1+2-grams)"].append(np.array([group_of[j] == group for j in best[np.argsort(-scores[best])]]))
        found = store.search(vectors[query], subject=SUBJECT, grades=None, k=ranking.CANDIDATES + 1)
        candidates = [(entry, dense) for entry, dense in found if entry.id != query][: ranking.CANDIDATES]
        in_group = np.array([group_of[entry.id] == group for entry, _ in candidates])
        flags["dense only"].append(in_group)
        text = normalise(questions[query].text)
        dense_rows.append(np.array([dense for _, dense in candidates]))
        lexical_rows.append(np.array([lexical_similarity(text, normalise(entry.text)) for entry, _ in candidates]))
        in_group_rows.append(in_group)
        shown = rank(questions[query].text, candidates, limit=5)
        flags["ours, shown"].append(np.array([group_of[m.entry.id] == group for m in shown], dtype=bool))
        outcomes[outcome(shown)] += 1
    ordered = [
        flags_row[np.argsort(-order_score(dense, lexical), kind="stable")]
        for dense, lexical, flags_row in zip(dense_rows, lexical_rows, in_group_rows, strict=True)
    ]
    hits = {name: top_hits(rows) for name, rows in flags.items()}
    hits["ours, ordered by score"] = top_hits(ordered)
    return Retrieval(hits, dense_rows, lexical_rows, in_group_rows, outcomes)


def bm25_pair_scores(pairs: list[Pair]) -> np.ndarray:
    """Symmetric BM25 similarity in [0, ~1]: each text's BM25 against the other over its BM25 against itself."""
    texts = [normalise(text) for pair in pairs for text in (pair.first, pair.second)]
    bm25 = Bm25(texts)
    scores = np.empty(len(pairs))
    for number in range(len(pairs)):
        first, second = 2 * number, 2 * number + 1
        forward, backward = bm25.scores(texts[first]), bm25.scores(texts[second])
        scores[number] = (
            forward[second] / max(forward[first], 1e-9) + backward[first] / max(backward[second], 1e-9)
        ) / 2
    return scores


def pair_set_measure(name: str, encoder: Encoder) -> PairSet:
    pairs = pairs_load(name)
    firsts = vectors_cached(encoder, [pair.first for pair in pairs])
    seconds = vectors_cached(encoder, [pair.second for pair in pairs])
    dense = (firsts * seconds).sum(axis=1)
    ours = np.array(
        [
            outcome(rank(pair.first, [(Entry(0, SUBJECT, 0, pair.second), float(similarity))])) == "same"
            for pair, similarity in zip(pairs, dense, strict=True)
        ]
    )
    normalised = [(normalise(pair.first), normalise(pair.second)) for pair in pairs]
    return PairSet(
        name=name,
        truth=np.array([pair.same for pair in pairs]),
        dense=dense,
        lexical=np.array([lexical_similarity(first, second) for first, second in normalised]),
        sequence=np.array([sequence_similarity(first, second) for first, second in normalised]),
        numbers_agree=np.array([quantities(first) == quantities(second) for first, second in normalised]),
        ours=ours,
        bm25=bm25_pair_scores(pairs),
    )


def threshold_for_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """The lowest threshold whose "same" decisions reach the precision target (the highest recall that does);
    where none does, the one with the best precision."""
    order = np.argsort(-scores, kind="stable")
    true_positives = np.cumsum(truth[order])
    precision = true_positives / np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(precision >= PRECISION_TARGET)
    cut = reaching.max() if len(reaching) else int(np.argmax(precision))
    return float(scores[order][cut])


def best_accuracy(scores: np.ndarray, truth: np.ndarray) -> float:
    thresholds = np.quantile(scores, np.linspace(0, 1, 201))
    return max(float(((scores >= threshold) == truth).mean()) for threshold in thresholds)


def variants(text: str) -> dict[str, str]:
    """A reformatted copy (numbering, full width, OCR-like spaces after Chinese characters: must stay "same")
    and, where the text allows, copies with one number changed or one operator word swapped (must not be)."""
    spaced = "".join(character if character.isascii() else character + " " for character in text[:12]) + text[12:]
    made = {"reformatted": "1. " + spaced.translate(_FULL_WIDTH)}
    text = normalise(text)  # so that the exercise's own numbering is not the number changed
    number = _NUMBER.search(text)
    if number:
        made["number changed"] = text[: number.start()] + str(int(number.group()) + 1) + text[number.end() :]
    for found in _OPERATOR_WORD.finditer(text):
        if found.group() in _OPPOSITES:
            made["operator swapped"] = text[: found.start()] + _OPPOSITES[found.group()] + text[found.end() :]
            break
    return made


def variants_measure(questions: list[Question], encoder: Encoder) -> dict[str, dict[str, float]]:
    source = [question for question in questions if question.source == "cmath"]
    store = VectorStore(encoder.dimension)
    store.add(
        [Entry(number, SUBJECT, question.grade, question.text) for number, question in enumerate(source)],
        vectors_cached(encoder, [question.text for question in source]),
    )
    queries = [(number, kind, text) for number, q in enumerate(source) for kind, text in variants(q.text).items()]
    vectors = vectors_cached(encoder, [text for _, _, text in queries])
    counts: dict[str, dict[str, float]] = {}
    for (number, kind, text), vector in zip(queries, vectors, strict=True):
        matches = rank(text, store.search(vector, subject=SUBJECT, grades=None, k=ranking.CANDIDATES))
        row = counts.setdefault(kind, {"questions": 0, "same": 0, "same, its source": 0, "similar": 0, "none": 0})
        row["questions"] += 1
        row[outcome(matches)] += 1
        row["same, its source"] += bool(matches) and matches[0].label == "same" and matches[0].entry.id == number
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_quality", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="encoder setting: the default or a model folder")
    arguments = parser.parse_args()
    started = time.perf_counter()
    encoder = encoder_get(arguments.model)
    questions = corpus_load()
    groups = groups_load()
    print(f"model {encoder.name} ({encoder.dimension} dimensions); {len(questions)} questions, {len(groups)} in groups")
    vectors = vectors_cached(encoder, [question.text for question in questions])
    retrieval = retrieval_measure(questions, vectors, groups)
    pair_sets = [pair_set_measure(name, encoder) for name in PAIR_FILES]
    variant_counts = variants_measure(questions, encoder)

    print(f"\nRetrieval: {len(retrieval.dense)} group members searched among {len(questions)} questions")
    table(["method", "top-1", "top-5"], [[name, *hits] for name, hits in retrieval.hits.items()])
    shares = {name: count / len(retrieval.dense) for name, count in retrieval.outcomes.items()}
    print("Outcome for those queries (other members are same-type questions with other data, so 'same' is rare):")
    table(["same", "similar", "none"], [[shares["same"], shares["similar"], shares["none"]]])

    truth = np.concatenate([pair_set.truth for pair_set in pair_sets])
    bm25_threshold = threshold_for_precision(np.concatenate([pair_set.bm25 for pair_set in pair_sets]), truth)
    rows = []
    for pair_set in [*pair_sets, None]:
        chosen = pair_sets if pair_set is None else [pair_set]
        label = "both" if pair_set is None else pair_set.name
        part_truth = np.concatenate([p.truth for p in chosen])
        ours = Decisions(np.concatenate([p.ours for p in chosen]), part_truth)
        bm25_scores = np.concatenate([p.bm25 for p in chosen])
        bm25 = Decisions(bm25_scores >= bm25_threshold, part_truth)
        ours_scores = np.concatenate([combined_score(p.dense, p.lexical) for p in chosen])
        for method, decisions, scores in (("ours", ours, ours_scores), ("BM25", bm25, bm25_scores)):
            separation = best_accuracy(scores, part_truth)
            rows.append([label, method, decisions.accuracy, decisions.precision, decisions.recall, separation])
    print(f"Pairs: the 'same question' decision (BM25 threshold {bm25_threshold:.3f}, calibrated like ours)")
    table(["set", "method", "accuracy", "precision", "recall", "best accuracy of score"], rows)

    print("In-domain: variants of the 600 cmath word problems searched among the originals")
    headers = ["variant", "questions", "same", "same, its source", "similar", "none"]
    table(
        headers,
        [
            [kind, row[headers[1]], *(row[key] / row[headers[1]] for key in headers[2:])]
            for kind, row in variant_counts.items()
        ],
    )

    calibration_print(retrieval, pair_sets)
    print(f"{time.perf_counter() - started:.0f} s")


def same_calibrate(pair_sets: list[PairSet]) -> tuple[float, float, Decisions]:
    """SAME_DENSE and SAME_SEQUENCE with the highest recall whose precision reaches the target, both sets pooled."""
    dense = np.concatenate([pair_set.dense for pair_set in pair_sets])
    sequence = np.concatenate([pair_set.sequence for pair_set in pair_sets])
    agree = np.concatenate([pair_set.numbers_agree for pair_set in pair_sets])
    truth = np.concatenate([pair_set.truth for pair_set in pair_sets])
    best = (ranking.SAME_DENSE, ranking.SAME_SEQUENCE, Decisions(np.zeros_like(truth), truth))
    for dense_threshold in np.arange(0.90, 1.0001, 0.005):
        for sequence_threshold in np.arange(0.50, 1.0001, 0.025):
            decisions = Decisions(agree & (dense >= dense_threshold) & (sequence >= sequence_threshold), truth)
            if decisions.precision >= PRECISION_TARGET and decisions.recall > best[2].recall:
                best = (float(dense_threshold), float(sequence_threshold), decisions)
    return best


def weight_calibrate(retrieval: Retrieval, pair_sets: list[PairSet]) -> dict[float, tuple[float, float]]:
    """For each weight of the dense score: the group top-1 hit rate of candidates ordered by that score (what
    ORDER_DENSE_WEIGHT is chosen by), and the best accuracy of that score on both pair sets pooled (what
    DENSE_WEIGHT, the weight in the score that decides "similar", is chosen by)."""
    truth = np.concatenate([pair_set.truth for pair_set in pair_sets])
    dense = np.concatenate([pair_set.dense for pair_set in pair_sets])
    lexical = np.concatenate([pair_set.lexical for pair_set in pair_sets])
    figures = {}
    for weight in np.arange(0.2, 0.81, 0.1):
        top1 = np.mean(
            [
                in_group[np.argmax(weight * group_dense + (1 - weight) * group_lexical)]
                for group_dense, group_lexical, in_group in zip(
                    retrieval.dense, retrieval.lexical, retrieval.in_group, strict=True
                )
            ]
        )
        figures[round(float(weight), 1)] = (float(top1), best_accuracy(weight * dense + (1 - weight) * lexical, truth))
    return figures


def similar_calibrate(retrieval: Retrieval) -> tuple[float, float, float, float]:
    """The SIMILAR_SCORE that best tells, from its score, whether the top-1 candidate is of the query's group:
    (threshold, accuracy, share of queries shown something, share of those whose top-1 is in the group)."""
    best = [
        (float(np.max(scores)), bool(in_group[np.argmax(scores)]))
        for scores, in_group in (
            (combined_score(dense, lexical), in_group)
            for dense, lexical, in_group in zip(retrieval.dense, retrieval.lexical, retrieval.in_group, strict=True)
        )
    ]
    scores = np.array([score for score, _ in best])
    hits = np.array([hit for _, hit in best])
    thresholds = np.arange(0.30, 0.951, 0.01)
    accuracies = [float(((scores >= threshold) == hits).mean()) for threshold in thresholds]
    threshold = float(thresholds[int(np.argmax(accuracies))])
    shown = scores >= threshold
    return threshold, max(accuracies), float(shown.mean()), float(hits[shown].mean())


def calibration_print(retrieval: Retrieval, pair_sets: list[PairSet]) -> None:
    same_dense, same_sequence, same = same_calibrate(pair_sets)
    weights = weight_calibrate(retrieval, pair_sets)
    similar, accuracy, shown, in_group = similar_calibrate(retrieval)
    print("Calibration (what the eval data asks for now, beside the constants in matching/ranking.py)")
    by_weight = ", ".join(f"{weight}: {top1:.3f}/{accuracy:.3f}" for weight, (top1, accuracy) in weights.items())
    deciding = max(weights, key=lambda weight: weights[weight][1])
    ordering = max(weights, key=lambda weight: weights[weight][0])
    pooled = f"highest recall at precision >= {PRECISION_TARGET}, both pair sets pooled, numbers agreeing"
    reached = f"there precision {same.precision:.3f}, recall {same.recall:.3f}"
    split = f"'shown' best tells 'top-1 in its group' ({accuracy:.3f}): shown {shown:.3f}, in group {in_group:.3f}"
    rows = [
        ["DENSE_WEIGHT", ranking.DENSE_WEIGHT, deciding, f"best pairs accuracy (weight: top-1/accuracy {by_weight})"],
        ["ORDER_DENSE_WEIGHT", ranking.ORDER_DENSE_WEIGHT, ordering, "best group top-1"],
        ["SAME_DENSE", ranking.SAME_DENSE, same_dense, pooled],
        ["SAME_SEQUENCE", ranking.SAME_SEQUENCE, same_sequence, reached],
        ["SIMILAR_SCORE", ranking.SIMILAR_SCORE, similar, split],
    ]
    table(["constant", "in code", "calibrated", "how"], rows)


if __name__ == "__main__":
    main()
