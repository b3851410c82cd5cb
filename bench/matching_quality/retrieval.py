"""Running the retrieval tasks: ours through the real `candidates` and `rank`, beside plain BM25 over jieba words.

For every query of a task the library entry shown first decides top-1, the first five top-5; a query shown nothing
misses both. "same" is decided as at run time, for the best candidate of the whole library: how often it is said,
and its precision (the entry called the same is one of the query's answers). Each candidate's features are kept
(`Features`) so that the calibration can try other weights and thresholds on the same candidates.
"""

from dataclasses import dataclass, field

import bm25s
import jieba
import numpy as np

from bench.matching_quality.data import vectors_cached
from bench.matching_quality.tasks import Query, Task
from matching.encoder import Encoder
from matching.lexical import lexical_similarity, sequence_similarity
from matching.lexical_index import WORD
from matching.numbers import quantities
from matching.ranking import Candidate, candidates, outcome, rank
from matching.store import Entry, VectorStore
from matching.text import normalise

SUBJECT = "all"
SHOWN = 5
BM25_NAME = "BM25 (jieba words, bm25s)"


@dataclass
class Outcomes:
    """Per query: the answer's place among what was shown (0 first, -1 not shown), whether anything was shown,
    whether the first was called "same"."""

    places: list[int] = field(default_factory=list)
    shown: list[bool] = field(default_factory=list)
    same: list[bool] = field(default_factory=list)
    judged: list[bool] = field(default_factory=list)  # the first shown is known to answer or known not to
    kinds: list[str] = field(default_factory=list)
    first: list[int] = field(default_factory=list)  # the library entry shown first, -1 for none

    def add(self, query: Query, shown: list[int], same: bool = False) -> None:
        answers = [number in query.answers for number in shown]
        self.first.append(shown[0] if shown else -1)
        self.places.append(answers.index(True) if True in answers else -1)
        self.shown.append(bool(shown))
        self.same.append(same)
        self.judged.append(bool(shown) and (query.wrong is None or shown[0] in query.answers | query.wrong))
        self.kinds.append(query.kind)

    def figures(self, kind: str | None = None) -> dict[str, float]:
        chosen = [kind is None or k == kind for k in self.kinds]
        places = np.array(self.places)[chosen]
        shown = np.array(self.shown)[chosen]
        same = np.array(self.same)[chosen]
        judged = same & np.array(self.judged)[chosen]
        correct = same & (places == 0)
        return {
            "queries": len(places),
            "top-1": float(np.mean(places == 0)),
            "top-5": float(np.mean((places >= 0) & (places < SHOWN))),
            "nothing shown": float(np.mean(~shown)),
            "'same' said": float(np.mean(same)),
            "'same' precision": float(correct.sum() / same.sum()) if same.any() else float("nan"),
            "judged": float(judged.sum() / same.sum()) if same.any() else float("nan"),
            "precision of judged": float(correct.sum() / judged.sum()) if judged.any() else float("nan"),
        }


@dataclass
class Features:
    """Every candidate of every query, one row each (`query` says whose)."""

    query: list[int] = field(default_factory=list)
    dense: list[float] = field(default_factory=list)
    relevance: list[float] = field(default_factory=list)
    lexical: list[float] = field(default_factory=list)
    sequence: list[float] = field(default_factory=list)
    numbers_agree: list[bool] = field(default_factory=list)
    answer: list[bool] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.array(values) for name, values in vars(self).items()}


@dataclass
class TaskResult:
    task: Task
    methods: dict[str, Outcomes]
    features: Features


def _jieba_words(text: str) -> list[str]:
    return [word for word in jieba.lcut(normalise(text)) if WORD.search(word)]


def _bm25_outcomes(task: Task) -> Outcomes:
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index([_jieba_words(question.text) for question in task.library], show_progress=False)
    found, _ = retriever.retrieve(
        [_jieba_words(query.text) for query in task.queries], k=SHOWN + 1, show_progress=False, n_threads=1
    )
    outcomes = Outcomes()
    for query, row in zip(task.queries, found, strict=True):
        outcomes.add(query, [int(number) for number in row if number != query.itself][:SHOWN])
    return outcomes


def _features_add(features: Features, number: int, query: Query, found: list[Candidate]) -> None:
    text = normalise(query.text)
    wanted = quantities(text)
    for candidate in found:
        other = normalise(candidate.entry.text)
        entry_id = candidate.entry.id
        features.query.append(number)
        features.dense.append(candidate.dense)
        features.relevance.append(candidate.relevance)
        features.lexical.append(lexical_similarity(text, other))
        features.sequence.append(sequence_similarity(text, other))
        features.numbers_agree.append(quantities(other) == wanted)
        features.answer.append(entry_id in query.answers)


def task_run(task: Task, encoder: Encoder) -> TaskResult:
    library_vectors = vectors_cached(encoder, [question.text for question in task.library])
    query_vectors = vectors_cached(encoder, [query.text for query in task.queries])
    store = VectorStore(library_vectors.shape[1])
    store.add(
        [Entry(number, SUBJECT, question.grade, question.text) for number, question in enumerate(task.library)],
        library_vectors,
    )
    ours, dense_only, features = Outcomes(), Outcomes(), Features()
    for number, (query, vector) in enumerate(zip(task.queries, query_vectors, strict=True)):
        nearest = store.search(vector, subject=SUBJECT, grades=None, k=SHOWN + 1)
        dense_only.add(query, [entry.id for entry, _ in nearest if entry.id != query.itself][:SHOWN])
        found = candidates(query.text, vector, subject=SUBJECT, grades=None, store=store, exclude=query.itself)
        shown = rank(query.text, found, limit=SHOWN)
        ours.add(query, [match.entry.id for match in shown], same=outcome(shown) == "same")
        _features_add(features, number, query, found)
    methods = {BM25_NAME: _bm25_outcomes(task), "dense only": dense_only, "ours, as shown": ours}
    return TaskResult(task, methods, features)
