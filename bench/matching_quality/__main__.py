"""Run the matching quality bench; see the package docstring for what it measures and prints."""

import argparse
import re
import time

import numpy as np

from bench.matching_quality.calibration import calibration_print
from bench.matching_quality.data import PAIR_FILES, Question, corpus_load, pairs_load, vectors_cached
from bench.matching_quality.retrieval import BM25_NAME, SUBJECT, TaskResult, task_run
from bench.matching_quality.tables import table
from bench.matching_quality.tasks import tasks_load
from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.ranking import Candidate, candidates, outcome, rank
from matching.store import Entry, VectorStore

TARGET_MARGIN = 0.03  # top-1 above BM25's on the paraphrase and group tasks
_NUMBER = re.compile(r"\d+")
_OPPOSITES = {"加": "减", "减": "加", "多": "少", "少": "多"}
_OPERATOR_WORD = re.compile(r"多少|[加减多少]")
FIGURES = ("top-1", "top-5", "nothing shown", "'same' said", "'same' precision", "judged", "precision of judged")


def task_print(result: TaskResult) -> None:
    task = result.task
    print(f"\nTask {task.name}: {len(task.queries)} queries among {len(task.library)} entries")
    rows = [[name, *(outcomes.figures()[figure] for figure in FIGURES)] for name, outcomes in result.methods.items()]
    table(["method", *FIGURES], rows)
    kinds = sorted(set(result.methods[BM25_NAME].kinds))
    if len(kinds) > 1:
        ours, bm25 = result.methods["ours, as shown"], result.methods[BM25_NAME]
        rows = [
            [
                kind,
                int(ours.figures(kind)["queries"]),
                bm25.figures(kind)["top-1"],
                *(ours.figures(kind)[f] for f in FIGURES),
            ]
            for kind in kinds
        ]
        table(["kind", "queries", "BM25 top-1", *(f"ours {figure}" for figure in FIGURES)], rows)


def same_misses_print(result: TaskResult, limit: int = 10) -> None:
    """The "same" decisions the task's labels call wrong, both texts side by side, to be read by hand."""
    ours = result.methods["ours, as shown"]
    misses = [
        (query.text, result.task.library[first].text)
        for query, same, place, first in zip(result.task.queries, ours.same, ours.places, ours.first, strict=True)
        if same and place != 0
    ]
    if misses:
        print(f"'same' where the labels say otherwise ({len(misses)}, the first {min(limit, len(misses))}):")
        for query, shown in misses[:limit]:
            print(f"  query: {query[:90]}\n  shown: {shown[:90]}")


def operator_variants(text: str) -> dict[str, str]:
    """Copies with one number changed or one operator word swapped, where the text allows: the same kind of question
    with other data, which must never be called "same"."""
    made = {}
    number = _NUMBER.search(text)
    if number:
        made["number changed"] = text[: number.start()] + str(int(number.group()) + 1) + text[number.end() :]
    for found in _OPERATOR_WORD.finditer(text):
        if found.group() in _OPPOSITES:
            made["operator swapped"] = text[: found.start()] + _OPPOSITES[found.group()] + text[found.end() :]
            break
    return made


def variants_print(questions: list[Question], encoder: Encoder) -> None:
    source = [question for question in questions if question.source == "cmath"]
    store = VectorStore(encoder.dimension)
    store.add(
        [Entry(number, SUBJECT, question.grade, question.text) for number, question in enumerate(source)],
        vectors_cached(encoder, [question.text for question in source]),
    )
    queries = [
        (number, kind, text) for number, q in enumerate(source) for kind, text in operator_variants(q.text).items()
    ]
    vectors = vectors_cached(encoder, [text for _, _, text in queries])
    counts: dict[str, dict[str, int]] = {}
    for (number, kind, text), vector in zip(queries, vectors, strict=True):
        matches = rank(text, candidates(text, vector, subject=SUBJECT, grades=None, store=store))
        row = counts.setdefault(kind, {"questions": 0, "same": 0, "similar": 0, "none": 0, "its source first": 0})
        row["questions"] += 1
        row[outcome(matches)] += 1
        row["its source first"] += bool(matches) and matches[0].entry.id == number
    print("In-domain: cmath word problems with one number or operator changed, among the 600 originals")
    headers = ["variant", "questions", "same", "similar", "none", "its source first"]
    table(
        headers,
        [
            [kind, row["questions"], *(row[key] / row["questions"] for key in headers[2:])]
            for kind, row in counts.items()
        ],
    )


def pairs_print(encoder: Encoder) -> None:
    """The "same" decision on isolated pairs (LCQMC and PAWS-X, whose different pairs share nearly every character)."""
    rows = []
    for name in PAIR_FILES:
        pairs = pairs_load(name)
        dense = (
            vectors_cached(encoder, [pair.first for pair in pairs])
            * vectors_cached(encoder, [pair.second for pair in pairs])
        ).sum(axis=1)
        same = np.array(
            [
                outcome(rank(pair.first, [Candidate(Entry(0, SUBJECT, 0, pair.second), float(similarity), 0.0)]))
                == "same"
                for pair, similarity in zip(pairs, dense, strict=True)
            ]
        )
        truth = np.array([pair.same for pair in pairs])
        rows.append([name, len(pairs), float(same.mean()), float(truth[same].mean()), float(same[truth].mean())])
    print("Pairs: the 'same question' decision on isolated pairs")
    table(["set", "pairs", "'same' said", "precision", "recall"], rows)


def targets_print(results: list[TaskResult]) -> None:
    rows = []
    for result in results:
        ours, bm25 = result.methods["ours, as shown"].figures(), result.methods[BM25_NAME].figures()
        name = result.task.name
        if name == "unrelated":
            rows.append([name, "nothing shown >= 0.95", ours["nothing shown"], ours["nothing shown"] >= 0.95])
            continue
        if name == "reworded":
            wanted = max(bm25["top-1"], 0.99)
            met = ours["top-1"] >= wanted and ours["nothing shown"] < 0.01
            rows.append([name, f"top-1 >= {wanted:.3f}, nothing shown < 0.01", ours["top-1"], met])
        else:
            wanted = bm25["top-1"] + TARGET_MARGIN
            rows.append(
                [name, f"top-1 >= {wanted:.3f} (BM25 + {TARGET_MARGIN})", ours["top-1"], ours["top-1"] >= wanted]
            )
        precision = ours["'same' precision"]
        rows.append([name, "'same' precision >= 0.95", precision, not precision < 0.95])
    print("Targets")
    table(["task", "target", "ours", "met"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_quality", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="encoder setting: the default or a model folder")
    arguments = parser.parse_args()
    started = time.perf_counter()
    encoder = encoder_get(arguments.model)
    print(f"model {encoder.name} ({encoder.dimension} dimensions)")
    results = [task_run(task, encoder) for task in tasks_load()]
    for result in results:
        task_print(result)
        same_misses_print(result)
    variants_print(corpus_load(), encoder)
    pairs_print(encoder)
    targets_print(results)
    calibration_print(results)
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
