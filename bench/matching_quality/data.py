"""The evaluation data in ../shared/eval (read in place, never copied), and a cache for vectors under var/."""

import csv
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.encoder import Encoder

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
    """encoder.encode(texts), kept under var/bench/matching keyed by the model and the texts."""
    digest = hashlib.sha256("\n".join([encoder.name, *texts]).encode()).hexdigest()[:20]
    path = CACHE / f"{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
