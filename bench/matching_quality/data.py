"""The evaluation data in ../shared/eval (read in place, never copied), and a cache for vectors under var/."""

import csv
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.encoder import CombinedEncoder, Encoder
from matching.text import normalise

REPO = Path(__file__).resolve().parents[2]
EVAL = REPO.parent / "shared" / "eval"
CACHE = REPO / "var" / "bench" / "matching"
CORPUS_FILES = ("cmath", "tal_scq5k_cn", "gaokao_bench", "chalkbase_exercises")
PAIR_FILES = ("lcqmc_valid", "pawsx_zh_valid")
_PRIMARY_GRADE = re.compile(r"小学(\d)年级")


@dataclass(frozen=True)
class Question:
    id: str
    source: str
    subject: str
    grade: int
    text: str


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    same: bool


def _grade(label: str | None) -> int:
    """Primary grades 1-6 from "小学3年级上"; gaokao questions are grade 12; unlabelled ones (TAL) 0."""
    if label is None:
        return 0
    found = _PRIMARY_GRADE.search(label)
    return int(found.group(1)) if found else 12


def corpus_load(directory: Path = EVAL) -> list[Question]:
    questions = []
    for name in CORPUS_FILES:
        with (directory / "corpus" / f"{name}.jsonl").open(encoding="utf-8") as file:
            for line in file:
                row = json.loads(line)
                questions.append(Question(row["id"], row["source"], row["subject"], _grade(row["grade"]), row["text"]))
    return questions


def groups_load(directory: Path = EVAL) -> dict[str, str]:
    """Question id -> its question-type group (chalkbase archetypes)."""
    with (directory / "groups" / "chalkbase_archetypes.jsonl").open(encoding="utf-8") as file:
        return {member["id"]: group["group_id"] for group in map(json.loads, file) for member in group["members"]}


def pairs_load(name: str, directory: Path = EVAL) -> list[Pair]:
    with (directory / "pairs" / f"{name}.tsv").open(encoding="utf-8", newline="") as file:
        return [Pair(row["text_a"], row["text_b"], row["label"] == "1") for row in csv.DictReader(file, delimiter="\t")]


def vectors_cached(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """encoder.encode(texts), each text's vector kept under var/bench/matching (one file per model, keyed by the
    normalised text, which is what the encoder reads), so a text is encoded once whichever task asks for it; a
    combination's models each keep their own."""
    if isinstance(encoder, CombinedEncoder):
        return encoder.combine([vectors_cached(part, texts) for part in encoder.encoders])
    path = CACHE / f"{hashlib.sha256(encoder.name.encode()).hexdigest()[:20]}.npz"
    known: list[str] = []
    vectors = np.zeros((0, encoder.dimension), dtype=np.float32)
    if path.exists():
        with np.load(path) as stored:
            known, vectors = str(stored["texts"]).split("\n"), stored["vectors"]
    row_of = {text: row for row, text in enumerate(known)}
    keys = [normalise(text) for text in texts]
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in row_of}
    if missing:
        row_of.update((key, len(vectors) + number) for number, key in enumerate(missing))
        vectors = np.concatenate([vectors, encoder.encode(list(missing.values()))])
        CACHE.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp.npz")
        np.savez(temporary, texts=np.array("\n".join(row_of)), vectors=vectors)
        temporary.replace(path)
    return vectors[[row_of[key] for key in keys]]
