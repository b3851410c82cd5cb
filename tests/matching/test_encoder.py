import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import StaticEmbedding
from tokenizers import Tokenizer, models, pre_tokenizers

from matching.encoder import COMBINED_SEPARATOR, DEFAULT_MODEL, E5_MODEL, CombinedEncoder, encoder_get
from matching.sentence_models import MultilingualE5, UniversalSentenceEncoder


def test_default_encoder_is_a_sentence_transformer_of_unit_rows() -> None:
    encoder = encoder_get(DEFAULT_MODEL)

    vectors = encoder.encode(["一个数的3倍加5等于20", "一个数的三倍加五等于二十", "今天天气怎么样"])

    assert encoder.name == DEFAULT_MODEL
    assert encoder.dimension == 512
    assert isinstance(encoder.model, SentenceTransformer)
    assert isinstance(encoder.model[0], UniversalSentenceEncoder)
    assert vectors.shape == (3, 512)
    assert vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert vectors[0] @ vectors[1] > 0.8 > 0.3 > vectors[0] @ vectors[2]


def test_e5_is_a_sentence_transformer_of_unit_rows_behind_the_setting() -> None:
    encoder = encoder_get(E5_MODEL)

    vectors = encoder.encode(["一个数的3倍加5等于20", "一个数的三倍加五等于二十", "今天天气怎么样"])

    assert (encoder.name, encoder.dimension) == (E5_MODEL, 384)
    assert isinstance(encoder.model[0], MultilingualE5)
    assert vectors.shape == (3, 384)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.encode([]).shape == (0, 384)


def test_a_combination_averages_its_models_cosines() -> None:
    name = DEFAULT_MODEL + COMBINED_SEPARATOR + E5_MODEL
    encoder = encoder_get(name)
    texts = ["一个数的3倍加5等于20", "一个数的三倍加五等于二十"]

    combined = encoder.encode(texts)
    use, e5 = encoder_get(DEFAULT_MODEL).encode(texts), encoder_get(E5_MODEL).encode(texts)

    assert isinstance(encoder, CombinedEncoder)
    assert (encoder.name, encoder.dimension, combined.shape) == (name, 896, (2, 896))
    assert np.linalg.norm(combined, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert combined[0] @ combined[1] == pytest.approx((use[0] @ use[1] + e5[0] @ e5[1]) / 2, abs=1e-5)


def test_encoder_is_loaded_once_and_encodes_nothing_to_an_empty_matrix() -> None:
    encoder = encoder_get(DEFAULT_MODEL)

    assert encoder_get(DEFAULT_MODEL) is encoder
    assert encoder.encode([]).shape == (0, 512)


def test_text_is_normalised_before_encoding() -> None:
    encoder = encoder_get(DEFAULT_MODEL)

    full_width, plain = encoder.encode(["１. 一个数的３倍加５等于２０", "一个数的3倍加5等于20"])

    assert full_width @ plain == pytest.approx(1.0, abs=1e-5)


def test_default_encoder_loads_with_the_hub_offline(tmp_path: Path) -> None:
    script = "from matching.encoder import *; print(encoder_get(DEFAULT_MODEL).encode(['你好']).shape)"
    hub_home = tmp_path / "huggingface"
    # Offline mode, an empty hub cache, and any network request sent to a closed port.
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(hub_home), "HTTPS_PROXY": "http://127.0.0.1:9"}

    completed = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=240
    )

    assert completed.stdout.strip() == "(1, 512)", completed.stderr
    assert not hub_home.exists() or list(hub_home.iterdir()) == []


def test_a_model_folder_on_disk_is_loaded_by_path(tmp_path: Path) -> None:
    # A real sentence-transformers folder (a character-level StaticEmbedding), like a deployment's own model.
    vocabulary = {"[UNK]": 0, **{character: number + 1 for number, character in enumerate("一个数的倍加等于今天气")}}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    torch.manual_seed(0)
    SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_dim=32)]).save(str(tmp_path / "model"))

    encoder = encoder_get(str(tmp_path / "model"))
    vectors = encoder.encode(["一个数的倍", "今天天气"])

    assert encoder.name == str(tmp_path / "model")
    assert encoder.dimension == 32
    assert vectors.shape == (2, 32)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
