"""The knowledge-point tagger on the evaluation corpora that carry knowledge-point labels (../shared/eval, read in
place): top-1 and top-3 accuracy of ours (labelled neighbours + the taxonomy's words) beside a keyword-only
baseline (the taxonomy's names and aliases found in the text), run the way the platform runs it.

- ChalkBase exercises (4,319, primary maths, grades 1-6) with ChalkBase's own taxonomy, as ``import_knowledge_points
  --chalkbase`` imports it: 5 folds, each exercise tagged with the other four fifths as the labelled library.
- TAL-SCQ5K (5,000 competition maths questions, no grades) with a taxonomy built from its routes (coarse to fine,
  written as a taxonomy file and read as ``import_knowledge_points --file`` reads one): the 3,000 of its train
  split are the labelled library, the 2,000 of its test split are tagged.

A suggestion is right when it is one of the question's labelled points. Run: ``.venv/bin/python -m bench.knowledge``
"""

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.matching_quality.data import EVAL, vectors_cached
from bench.matching_quality.tables import table
from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.knowledge import Point, Suggestion, Vocabulary, suggest
from matching.ranking import candidates
from matching.store import Entry, VectorStore
from tutoring.knowledge.sources import KnowledgePointRecord, chalkbase_records, records_from_file

SUBJECT = "math"
FOLDS = 5
GRADE_REACH = 1  # as the platform searches: the question's grade and the grades next to it
CONFIDENT = 0.5


@dataclass(frozen=True)
class Labelled:
    text: str
    grade: int | None
    points: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    top1: float
    top3: float
    none: float  # share given no point at all
    confident: float  # share whose best point has a confidence of at least CONFIDENT
    confident_top1: float  # top-1 accuracy among those


def _corpus(name: str) -> list[dict]:
    with (EVAL / "corpus" / f"{name}.jsonl").open(encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def _points(records: Sequence[KnowledgePointRecord]) -> list[Point]:
    return [
        Point(
            code=record.code,
            terms=(record.name, *record.aliases),
            grades=(record.min_grade, record.max_grade) if record.min_grade and record.max_grade else None,
        )
        for record in records
    ]


def chalkbase_task() -> tuple[list[Labelled], list[Point]]:
    rows = _corpus("chalkbase_exercises")
    labelled = [
        Labelled(
            row["text"],
            int(row["grade"][2]),  # "小学4年级下"
            tuple(point.split("|")[0] for point in row["knowledge_points"]),
        )
        for row in rows
    ]
    return labelled, _points(chalkbase_records())


def tal_task(directory: Path) -> tuple[list[Labelled], list[Labelled], list[Point]]:
    """TAL's routes as a taxonomy file (each prefix of a route a point, its last step the name), read back."""
    rows = [row for row in _corpus("tal_scq5k_cn") if row["knowledge_points"]]
    nodes: dict[str, str] = {}
    for row in rows:
        for route in row["knowledge_points"]:
            steps = route.split("->")
            for depth in range(1, len(steps) + 1):
                nodes.setdefault("->".join(steps[:depth]), "->".join(steps[: depth - 1]))
    path = directory / "tal_taxonomy.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for code, parent in nodes.items():
            name = code.rsplit("->", 1)[-1]
            file.write(json.dumps({"code": code, "name": name, "parent": parent}, ensure_ascii=False) + "\n")
    records = records_from_file(path)
    split = {"train": [], "test": []}
    for row in rows:
        split[row["extra"]["split"]].append(Labelled(row["text"], None, tuple(row["knowledge_points"])))
    return split["train"], split["test"], _points(records)


def _store(library: Sequence[Labelled], ids: Sequence[int], vectors: np.ndarray) -> VectorStore:
    store = VectorStore(vectors.shape[1])
    store.add(
        [Entry(entry_id, SUBJECT, item.grade or 0, item.text) for entry_id, item in zip(ids, library, strict=True)],
        vectors,
    )
    return store


def tag(
    queries: Sequence[Labelled],
    query_vectors: np.ndarray,
    store: VectorStore | None,
    labels: dict[int, tuple[str, ...]],
    vocabulary: Vocabulary,
) -> list[list[Suggestion]]:
    """Each query's suggested points, as the platform tags a question (store None: the words alone)."""
    tagged = []
    for query, vector in zip(queries, query_vectors, strict=True):
        neighbours: list[tuple[float, Sequence[str]]] = []
        if store is not None:
            grades = (query.grade - GRADE_REACH, query.grade + GRADE_REACH) if query.grade else None
            found = candidates(query.text, vector, subject=SUBJECT, grades=grades, store=store)
            neighbours = [(candidate.dense, labels[candidate.entry.id]) for candidate in found]
        tagged.append(suggest(query.text, grade=query.grade, neighbours=neighbours, vocabulary=vocabulary))
    return tagged


def scores(queries: Sequence[Labelled], tagged: Sequence[list[Suggestion]]) -> Scores:
    pairs = list(zip(queries, tagged, strict=True))
    top1 = sum(bool(found) and found[0].code in query.points for query, found in pairs)
    top3 = sum(any(suggestion.code in query.points for suggestion in found[:3]) for query, found in pairs)
    none = sum(not found for found in tagged)
    confident = [(query, found) for query, found in pairs if found and found[0].confidence >= CONFIDENT]
    right = sum(found[0].code in query.points for query, found in confident)
    return Scores(
        top1 / len(queries),
        top3 / len(queries),
        none / len(queries),
        len(confident) / len(queries),
        right / len(confident) if confident else 0.0,
    )


def chalkbase_run(encoder: Encoder) -> tuple[Scores, Scores, float]:
    labelled, points = chalkbase_task()
    vocabulary = Vocabulary(points)
    vectors = vectors_cached(encoder, [item.text for item in labelled])
    ours: list[list[Suggestion]] = [[] for _ in labelled]
    started = time.perf_counter()
    for fold in range(FOLDS):
        library = [number for number in range(len(labelled)) if number % FOLDS != fold]
        held = [number for number in range(len(labelled)) if number % FOLDS == fold]
        store = _store([labelled[n] for n in library], library, vectors[library])
        labels = {number: labelled[number].points for number in library}
        for number, codes in zip(
            held, tag([labelled[n] for n in held], vectors[held], store, labels, vocabulary), strict=True
        ):
            ours[number] = codes
    per_question = (time.perf_counter() - started) / len(labelled)
    keywords = tag(labelled, vectors, None, {}, vocabulary)
    return scores(labelled, ours), scores(labelled, keywords), per_question


def tal_run(encoder: Encoder) -> tuple[Scores, Scores, float]:
    with tempfile.TemporaryDirectory(prefix="xuewen-bench-") as directory:
        library, queries, points = tal_task(Path(directory))
    vocabulary = Vocabulary(points)
    library_vectors = vectors_cached(encoder, [item.text for item in library])
    query_vectors = vectors_cached(encoder, [item.text for item in queries])
    ids = list(range(len(library)))
    store = _store(library, ids, library_vectors)
    labels = {number: item.points for number, item in zip(ids, library, strict=True)}
    started = time.perf_counter()
    ours = tag(queries, query_vectors, store, labels, vocabulary)
    per_question = (time.perf_counter() - started) / len(queries)
    keywords = tag(queries, query_vectors, None, {}, vocabulary)
    return scores(queries, ours), scores(queries, keywords), per_question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the encoder setting (XUEWEN_MATCHING_MODEL)")
    arguments = parser.parse_args()
    encoder = encoder_get(arguments.model)
    rows = []
    for name, run in (("ChalkBase exercises (5 folds)", chalkbase_run), ("TAL-SCQ5K (train → test)", tal_run)):
        ours, keywords, per_question = run(encoder)
        for tagger, found, speed in (("keywords only", keywords, ""), ("ours", ours, f"{per_question * 1000:.1f} ms")):
            rows.append(
                (name, tagger, found.top1, found.top3, found.none, found.confident, found.confident_top1, speed)
            )
    print(f"Knowledge-point tagging, encoder {encoder.name}\n")
    headers = ("corpus", "tagger", "top-1", "top-3", "no point", f"best ≥ {CONFIDENT}", "its top-1", "per question")
    table(headers, rows)


if __name__ == "__main__":
    main()
