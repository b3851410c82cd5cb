"""Run the matching speed bench; see the package docstring for what it measures and prints."""

import argparse
import itertools
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.matching_quality.data import REPO, Question, corpus_load, vectors_cached
from bench.matching_quality.tables import table
from bench.matching_speed.rebuild import library_drop, library_load, rebuild_measure
from matching.encoder import DEFAULT_MODEL, Encoder, encoder_get
from matching.lexical_index import LexicalIndex
from matching.ranking import CANDIDATES, candidates, match, rank
from matching.store import STORE_FILE, Entry, VectorStore

NAMES = ("小明", "小红", "小华", "小刚", "小丽", "小军", "小芳", "小强", "小亮", "小东")
_NAME = re.compile("|".join(NAMES))
_NUMBER = re.compile(r"\d{1,9}")
_OPPOSITES = {"加": "减", "减": "加", "多": "少", "少": "多"}
_OPERATOR_WORD = re.compile(r"多少|[加减多少]")
GAOKAO_SUBJECTS = {
    "Math": "数学",
    "Chinese": "语文",
    "English": "英语",
    "Physics": "物理",
    "Chemistry": "化学",
    "Biology": "生物",
    "History": "历史",
    "Geography": "地理",
    "Political": "政治",
}
CHUNK = 100_000
THROUGHPUT_SAMPLE = 2000  # generated questions spread over the whole corpus, encoded in one call
WARM_UP = 20  # queries run before timing: first calls pay for lazy initialisation
P99_TARGET_MS = 50
BUILD_TARGET_SECONDS = 600
MEMORY_TARGET_BYTES = 2 * 1024**3
WORKER_SCRIPT = """
import sys, time
from pathlib import Path
from matching.encoder import encoder_get
from matching.ranking import match
from matching.store import VectorStore

def resident():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) * 1024

encoder = encoder_get(sys.argv[2])
encoder.encode(["热身"])
before = resident()
started = time.perf_counter()
store = VectorStore.load(Path(sys.argv[1]))
seconds = time.perf_counter() - started
match(sys.argv[3], subject=sys.argv[4], grades=None, store=store, encoder=encoder)
print(seconds, resident() - before, resident())
"""


@dataclass(frozen=True)
class Generated:
    texts: list[str]
    subjects: list[str]
    grades: np.ndarray


@dataclass(frozen=True)
class Timings:
    total: list[float]
    encode: list[float]
    dense: list[float]
    lexical: list[float]  # the lexical search, and both scores for the union of candidates
    rerank: list[float]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` (0..100) of all values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) * 1024


def questions_generate(corpus: list[Question], count: int, seed: int) -> Generated:
    """`count` questions; question j varies corpus[j mod len(corpus)]: numbers redrawn, names swapped, sometimes
    加/减 or 多/少 exchanged."""
    rng = np.random.default_rng(seed)

    def number(found: re.Match[str]) -> str:
        digits = len(found.group())
        return str(rng.integers(10 ** (digits - 1) if digits > 1 else 0, 10**digits))

    texts, subjects, grades = [], [], np.empty(count, dtype=np.int64)
    for position in range(count):
        base = corpus[position % len(corpus)]
        text = _NAME.sub(lambda _: NAMES[rng.integers(len(NAMES))], _NUMBER.sub(number, base.text))
        swap = next((found for found in _OPERATOR_WORD.finditer(text) if found.group() in _OPPOSITES), None)
        if swap is not None and rng.random() < 0.3:
            text = text[: swap.start()] + _OPPOSITES[swap.group()] + text[swap.end() :]
        texts.append(text)
        subjects.append(GAOKAO_SUBJECTS.get(base.subject.split("_")[0], base.subject))
        grades[position] = base.grade or rng.integers(3, 7)  # TAL questions have no grade: upper primary
    return Generated(texts, subjects, grades)


def store_build(generated: Generated, encoded: np.ndarray) -> tuple[VectorStore, float]:
    """Add every generated question (vector: encoded[j mod len(encoded)]) in chunks; seconds spent in `add`."""
    store = VectorStore(encoded.shape[1])
    seconds = 0.0
    for start in range(0, len(generated.texts), CHUNK):
        rows = range(start, min(start + CHUNK, len(generated.texts)))
        entries = [Entry(j, generated.subjects[j], int(generated.grades[j]), generated.texts[j]) for j in rows]
        vectors = encoded[np.arange(rows.start, rows.stop) % len(encoded)]
        started = time.perf_counter()
        store.add(entries, vectors)
        seconds += time.perf_counter() - started
    return store, seconds


def lexical_build(generated: Generated) -> tuple[float, int]:
    """Build the lexical index alone over the same questions, in the same chunks: seconds, and the resident memory it
    holds once built."""
    before = resident_bytes()
    started = time.perf_counter()
    index = LexicalIndex()
    for start in range(0, len(generated.texts), CHUNK):
        end = min(start + CHUNK, len(generated.texts))
        index.add(
            range(start, end),
            generated.subjects[start:end],
            generated.grades[start:end].tolist(),
            generated.texts[start:end],
        )
    seconds = time.perf_counter() - started
    held = resident_bytes() - before
    del index
    return seconds, held


def queries_time(queries: Generated, store: VectorStore, encoder: Encoder) -> tuple[Timings, float, np.ndarray]:
    """Time `match` per query, then its steps one by one; also return the matches per second of the first
    pass and the query vectors."""
    for text, subject in zip(queries.texts[:WARM_UP], queries.subjects[:WARM_UP], strict=True):
        match(text, subject=subject, grades=None, store=store, encoder=encoder)
    total = []
    wall = time.perf_counter()
    for text, subject, grade in zip(queries.texts, queries.subjects, queries.grades, strict=True):
        started = time.perf_counter()
        match(text, subject=subject, grades=(grade - 1, grade + 1), store=store, encoder=encoder)
        total.append(time.perf_counter() - started)
    rate = len(total) / (time.perf_counter() - wall)
    steps: list[list[float]] = [[], [], [], []]
    vectors = []
    for text, subject, grade in zip(queries.texts, queries.subjects, queries.grades, strict=True):
        grades = (grade - 1, grade + 1)
        marks = [time.perf_counter()]
        vector = encoder.encode([text])[0]
        marks.append(time.perf_counter())
        store.search(vector, subject=subject, grades=grades, k=CANDIDATES)
        marks.append(time.perf_counter())
        found = candidates(text, vector, subject=subject, grades=grades, store=store)
        marks.append(time.perf_counter())
        rank(text, found)
        marks.append(time.perf_counter())
        encode, dense, union, rerank = (end - begin for begin, end in itertools.pairwise(marks))
        # candidates() runs the dense search again: the lexical step is what it adds to it
        for step, seconds in enumerate((encode, dense, union - dense, rerank)):
            steps[step].append(seconds)
        vectors.append(vector)
    return Timings(total, *steps), rate, np.array(vectors)


def recall_at_10(
    store: VectorStore, generated: Generated, encoded: np.ndarray, queries: Generated, vectors: np.ndarray
) -> float:
    """Share of the exact top-10 scores (brute force, float32, same subject and grades) that the store's search
    reaches; scored by value, since reused vectors make ties."""
    subjects = np.array(generated.subjects)
    best = np.full((len(vectors), 10), -np.inf, dtype=np.float32)
    for start in range(0, len(generated.texts), CHUNK):
        rows = np.arange(start, min(start + CHUNK, len(generated.texts)))
        scores = encoded[rows % len(encoded)] @ vectors.T
        for column, (subject, grade) in enumerate(zip(queries.subjects, queries.grades, strict=True)):
            allowed = (subjects[rows] == subject) & (np.abs(generated.grades[rows] - grade) <= 1)
            merged = np.concatenate([best[column], np.where(allowed, scores[:, column], -np.inf)])
            best[column] = -np.sort(-np.partition(merged, -10)[-10:])
    reached = []
    for column, (subject, grade) in enumerate(zip(queries.subjects, queries.grades, strict=True)):
        found = store.search(vectors[column], subject=subject, grades=(grade - 1, grade + 1), k=10)
        exact = np.array([encoded[entry.id % len(encoded)] @ vectors[column] for entry, _ in found])
        reached.append(float(np.sum(exact >= best[column][-1] - 1e-6)) / 10)
    return float(np.mean(reached))


def worker_start(directory: Path, model: str, query: str, subject: str) -> tuple[float, int, int]:
    """A fresh process, as a matching worker starts: encoder loaded, then the store. Returns load seconds, the
    resident memory the store added and the worker's whole resident memory."""
    completed = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, str(directory), model, query, subject],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, added, whole = completed.stdout.split()
    return float(seconds), int(added), int(whole)


def size_measure(
    size: int,
    generated: Generated,
    encoded: np.ndarray,
    queries: Generated,
    encoder: Encoder,
    model: str,
    throughput: float,
) -> dict[str, str]:
    """Every figure for the first `size` generated questions: the store built in this process and searched, then
    loaded by a fresh worker; then the same questions in PostgreSQL, rebuilt by `index_rebuild()`."""
    part = Generated(generated.texts[:size], generated.subjects[:size], generated.grades[:size])
    lexical_seconds, lexical_bytes = lexical_build(part)
    before = resident_bytes()
    store, build_seconds = store_build(part, encoded)
    built_bytes = resident_bytes() - before
    timings, rate, vectors = queries_time(queries, store, encoder)
    recall = recall_at_10(store, part, encoded, queries, vectors)
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        started = time.perf_counter()
        store.save(Path(directory))
        save_seconds = time.perf_counter() - started
        file_bytes = (Path(directory) / STORE_FILE).stat().st_size
        del store
        load_seconds, store_bytes, worker_bytes = worker_start(
            Path(directory), model, queries.texts[0], queries.subjects[0]
        )
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        copy_seconds = library_load(part.texts, part.subjects, part.grades, encoded, model, Path(directory))
        rebuilt = rebuild_measure(Path(directory), model)
    if rebuilt.size != size:
        raise RuntimeError(f"index_rebuild indexed {rebuilt.size} of {size} questions")
    milliseconds = [1000 * value for value in timings.total]
    return {
        "indexed questions": f"{size:,}",
        "match p50 ms": f"{percentile(milliseconds, 50):.1f}",
        "match p99 ms": f"{percentile(milliseconds, 99):.1f}",
        "  encode / dense / lexical / rerank p50 ms": " / ".join(
            f"{1000 * percentile(step, 50):.1f}"
            for step in (timings.encode, timings.dense, timings.lexical, timings.rerank)
        ),
        "  encode / dense / lexical / rerank p99 ms": " / ".join(
            f"{1000 * percentile(step, 99):.1f}"
            for step in (timings.encode, timings.dense, timings.lexical, timings.rerank)
        ),
        "matches per second (1 process)": f"{rate:.0f}",
        "recall@10 vs exact search": f"{recall:.3f}",
        "build s, encoding excluded": f"{build_seconds:.0f}",
        "build s, encoding included (estimated)": f"{build_seconds + size / throughput:.0f}",
        "  lexical index alone: build s / memory MiB": f"{lexical_seconds:.0f} / {lexical_bytes / 2**20:.0f}",
        "memory added by building, MiB": f"{built_bytes / 2**20:.0f}",
        "store loaded in a fresh worker, MiB": f"{store_bytes / 2**20:.0f}",
        "worker with encoder and store, MiB": f"{worker_bytes / 2**20:.0f}",
        "save s / load s / file MiB": f"{save_seconds:.0f} / {load_seconds:.0f} / {file_bytes / 2**20:.0f}",
        "PostgreSQL load (COPY, VACUUM ANALYZE) s": f"{copy_seconds:.0f}",
        "rebuild_index from PostgreSQL s": f"{rebuilt.seconds:.0f}",
        "rebuild_index memory peak / at end, MiB": (
            f"{rebuilt.peak_bytes / 2**20:.0f} / {rebuilt.resident_bytes / 2**20:.0f}"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_speed", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--encode-limit", type=int, default=101_840, help="distinct texts encoded (cached)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    arguments = parser.parse_args()
    encoder = encoder_get(arguments.model)
    corpus = corpus_load()
    limit = math.ceil(min(arguments.encode_limit, max(arguments.sizes)) / len(corpus)) * len(corpus)
    generated = questions_generate(corpus, max(arguments.sizes), seed=0)
    started = time.perf_counter()
    encoded = vectors_cached(encoder, generated.texts[:limit])
    encode_seconds = time.perf_counter() - started
    sample = generated.texts[:: max(1, len(generated.texts) // THROUGHPUT_SAMPLE)][:THROUGHPUT_SAMPLE]
    started = time.perf_counter()
    encoder.encode(sample)
    throughput = len(sample) / (time.perf_counter() - started)
    print(f"model {encoder.name}; {limit} distinct texts encoded in {encode_seconds:.0f} s (0 if cached)")
    print(f"encoding throughput {throughput:.0f} texts/s ({len(sample)} generated questions from the whole corpus)\n")
    queries = questions_generate(corpus, arguments.queries, seed=1)
    rows = []
    try:
        for size in sorted(arguments.sizes):
            rows.append(size_measure(size, generated, encoded, queries, encoder, arguments.model, throughput))
            print(f"{size:,} done", flush=True)
    finally:
        library_drop()
    names = list(rows[0])[1:]
    print()
    table(
        ["figure", *(row["indexed questions"] for row in rows)],
        [[name, *(row[name] for row in rows)] for name in names],
    )
    print(
        f"Targets on this machine: p99 < {P99_TARGET_MS} ms at 1,000,000; build < {BUILD_TARGET_SECONDS // 60} min;"
        f" memory < {MEMORY_TARGET_BYTES // 1024**3} GiB."
    )


if __name__ == "__main__":
    main()
