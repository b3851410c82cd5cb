"""The constants of matching/ranking.py that the tasks ask for now, tried on the candidates the bench kept.

Each setting is replayed over every query's candidates (their features, as `rank` computes them), so the figures are
those `rank` would give with those constants:

- ORDER_WEIGHTS, DENSE_WEIGHT and SIMILAR_SCORE: the best smallest gain of top-1 over BM25 on the paraphrase and group
  tasks, among the settings that show nothing for at least UNRELATED_NOTHING of the unrelated queries and show
  something for all but REWORDED_NOTHING of the reworded ones;
- SAME_DENSE and SAME_SEQUENCE: the most "same" said (all tasks together) with a run-time precision of at least
  PRECISION_TARGET on every task.
"""

import itertools

import numpy as np

from bench.matching_quality.retrieval import BM25_NAME, TaskResult
from bench.matching_quality.tables import table
from matching import ranking

PRECISION_TARGET = 0.95
UNRELATED_NOTHING = 0.95
REWORDED_NOTHING = 0.01
_STEPS = np.round(np.arange(0, 1.001, 0.1), 1)


class _Replay:
    """One task's candidates as arrays, rows grouped by query in order."""

    def __init__(self, result: TaskResult) -> None:
        features = result.features.arrays()
        self.name = result.task.name
        self.dense = features["dense"]
        self.relevance = np.minimum(features["relevance"], 1.0)
        self.lexical = features["lexical"]
        self.sequence = features["sequence"]
        self.numbers_agree = features["numbers_agree"]
        self.answer = features["answer"]
        self.queries = len(result.task.queries)
        query = features["query"]
        self.starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
        self.segment = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, len(query)]))
        self.bm25_top1 = result.methods[BM25_NAME].figures()["top-1"]

    def first(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query with candidates: whether anything is shown (a finite key) and whether the first shown (highest
        key) answers it."""
        best = np.maximum.reduceat(key, self.starts)
        shown = np.isfinite(best)
        first = (key == best[self.segment]) & np.isfinite(key)
        answered = np.logical_or.reduceat(first & self.answer, self.starts)
        return shown, answered & shown

    def same(self, dense: float, sequence: float) -> np.ndarray:
        return self.numbers_agree & (self.dense >= dense) & (self.sequence >= sequence)

    def shown(self, decide: float, similar: float, weights: tuple[float, ...]) -> tuple[float, float]:
        """top-1 and the share shown nothing with these constants (and the "same" thresholds in code)."""
        score = decide * self.dense + (1 - decide) * self.lexical
        order = weights[0] * self.dense + weights[1] * self.relevance + weights[2] * self.lexical
        same = self.same(ranking.SAME_DENSE, ranking.SAME_SEQUENCE)
        key = np.where(same, 10 + order, np.where(score >= similar, order, -np.inf))
        shown, answered = self.first(key)
        return answered.sum() / self.queries, 1 - shown.sum() / self.queries

    def same_said(self, dense: float, sequence: float) -> tuple[int, float]:
        """How many first results are called "same" with these thresholds, and their precision."""
        order = np.dot(ranking.ORDER_WEIGHTS, [self.dense, self.relevance, self.lexical])
        said, correct = self.first(np.where(self.same(dense, sequence), order, -np.inf))
        return int(said.sum()), float(correct.sum() / said.sum()) if said.any() else 1.0


def _order_calibrate(replays: dict[str, _Replay]) -> tuple[tuple[float, float, tuple[float, ...]], dict[str, tuple]]:
    best: tuple[float, tuple[float, float, tuple[float, ...]], dict[str, tuple]] | None = None
    weights = [(a, b, round(1 - a - b, 1)) for a, b in itertools.product(_STEPS, _STEPS) if a + b <= 1.0001]
    for decide, similar, order in itertools.product((0.6, 0.7, 0.8), np.arange(0.30, 0.61, 0.05), weights):
        figures = {name: replay.shown(decide, similar, order) for name, replay in replays.items()}
        if figures["unrelated"][1] < UNRELATED_NOTHING or figures["reworded"][1] >= REWORDED_NOTHING:
            continue
        gain = min(figures[name][0] - replays[name].bm25_top1 for name in ("paraphrase", "groups"))
        if best is None or gain > best[0]:
            best = (gain, (decide, round(float(similar), 2), order), figures)
    assert best is not None, "no setting meets the limits on unrelated and reworded queries"
    return best[1], best[2]


def _same_calibrate(replays: dict[str, _Replay]) -> tuple[float, float, dict[str, tuple[int, float]]]:
    best: tuple[int, float, float, dict[str, tuple[int, float]]] = (-1, 0.0, 0.0, {})
    for dense, sequence in itertools.product(np.arange(0.90, 1.0001, 0.005), np.arange(0.80, 1.0001, 0.025)):
        figures = {name: replay.same_said(dense, sequence) for name, replay in replays.items()}
        said = sum(count for count, _ in figures.values())
        if all(precision >= PRECISION_TARGET for _, precision in figures.values()) and said > best[0]:
            best = (said, round(float(dense), 3), round(float(sequence), 3), figures)
    return best[1], best[2], best[3]


def calibration_print(results: list[TaskResult]) -> None:
    replays = {result.task.name: _Replay(result) for result in results}
    (decide, similar, order), figures = _order_calibrate(replays)
    in_code = {
        name: replay.shown(ranking.DENSE_WEIGHT, ranking.SIMILAR_SCORE, ranking.ORDER_WEIGHTS)
        for name, replay in replays.items()
    }
    same_dense, same_sequence, same = _same_calibrate(replays)
    same_in_code = {
        name: replay.same_said(ranking.SAME_DENSE, ranking.SAME_SEQUENCE) for name, replay in replays.items()
    }

    def shown(by_task: dict[str, tuple]) -> str:
        return ", ".join(f"{name} {top1:.3f}/{nothing:.3f}" for name, (top1, nothing) in by_task.items())

    def said(by_task: dict[str, tuple[int, float]]) -> str:
        return ", ".join(f"{name} {count}/{precision:.3f}" for name, (count, precision) in by_task.items())

    print("Calibration (replayed on the kept candidates; in code beside what the tasks ask for now)")
    table(
        ["constants", "in code", "calibrated"],
        [
            ["DENSE_WEIGHT", ranking.DENSE_WEIGHT, decide],
            ["SIMILAR_SCORE", ranking.SIMILAR_SCORE, similar],
            ["ORDER_WEIGHTS", str(ranking.ORDER_WEIGHTS), str(order)],
            ["top-1/nothing shown", shown(in_code), shown(figures)],
            ["SAME_DENSE", ranking.SAME_DENSE, same_dense],
            ["SAME_SEQUENCE", ranking.SAME_SEQUENCE, same_sequence],
            ["'same' said/precision", said(same_in_code), said(same)],
        ],
    )
