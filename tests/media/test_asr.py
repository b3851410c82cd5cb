import os
import subprocess
from pathlib import Path

import pytest
import zhconv

from media.asr import asr_engine, collapse_repeats, whisper_model_dir
from media.errors import MediaProcessingError
from media.recognition import Recognition
from media.voice import voice_transcode


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return whisper_model_dir(tmp_path_factory.mktemp("models"))


def spoken_wav(tmp_path: Path, voice: str, text: str) -> Path:
    """Speech as the pipeline hands it to ASR: 16 kHz mono WAV made by voice_transcode."""
    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(speech), text], check=True)
    wav = tmp_path / "asr.wav"
    voice_transcode(speech, wav_path=wav, playback_path=tmp_path / "playback.m4a", max_seconds=60)
    return wav


def test_whisper_model_dir_is_assembled_once(model_dir: Path) -> None:
    part_sizes = 94_371_840 + 50_845_767
    names = sorted(path.name for path in model_dir.iterdir())
    model = model_dir / "model.bin"
    before = model.stat()

    assert names == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert before.st_size == part_sizes
    assert whisper_model_dir(model_dir.parent) == model_dir
    assert (model.stat().st_ino, model.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_whisper_model_dir_repairs_an_incomplete_model(tmp_path: Path) -> None:
    model_dir = tmp_path / "whisper-base-ct2"
    model_dir.mkdir()
    (model_dir / "model.bin").write_bytes(b"interrupted copy")

    assert whisper_model_dir(tmp_path) == model_dir
    assert (model_dir / "model.bin").stat().st_size == 94_371_840 + 50_845_767
    assert sorted(os.listdir(model_dir)) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]


def test_asr_engine_is_loaded_once(model_dir: Path) -> None:
    assert asr_engine(model_dir) is asr_engine(str(model_dir), 2)
    assert asr_engine(model_dir) is asr_engine(model_dir=str(model_dir), threads=2)


def test_transcribe_english(tmp_path: Path, model_dir: Path) -> None:
    wav = spoken_wav(tmp_path, "en-us", "The quick brown fox jumps over the lazy dog.")

    result = asr_engine(model_dir).transcribe(wav)

    words = result.text.lower()
    assert all(word in words for word in ("quick", "brown", "fox", "lazy", "dog")), result.text
    assert 0.3 < result.confidence <= 1.0


def test_transcribe_mandarin_returns_simplified_chinese(tmp_path: Path, model_dir: Path) -> None:
    wav = spoken_wav(tmp_path, "cmn-latn-pinyin", "xiao3 ming2 you3 shi2 er4 ge4 ping2 guo3")

    result = asr_engine(model_dir).transcribe(wav)

    assert result.text
    assert zhconv.convert(result.text, "zh-cn") == result.text
    assert 0.0 <= result.confidence <= 1.0


def test_transcribe_silence(tmp_path: Path, model_dir: Path) -> None:
    wav = tmp_path / "silence.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(wav)], check=True
    )

    assert asr_engine(model_dir).transcribe(wav) == Recognition("", 0.0)


def test_transcribe_unreadable_file(tmp_path: Path, model_dir: Path) -> None:
    wav = tmp_path / "broken.wav"
    wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVE not really")

    with pytest.raises(MediaProcessingError) as caught:
        asr_engine(model_dir).transcribe(wav)

    assert caught.value.code == "asr_failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请问请问请问请问这道题怎么做", ("请问这道题怎么做", True)),
        ("哈哈哈哈哈哈哈哈哈", ("哈", True)),
        ("小明有十二个苹果果果果果果", ("小明有十二个苹果", True)),
        ("没有没有没有没有。好的好的好的好的", ("没有。好的", True)),
        ("yes yes yes yes ", ("yes ", True)),
        ("三个三个三个", ("三个三个三个", False)),  # three times is still speech
        ("10000000加1000000等于多少", ("10000000加1000000等于多少", False)),  # numbers are kept
        ("答案是……......", ("答案是……......", False)),
        ("", ("", False)),
    ],
)
def test_collapse_repeats(text: str, expected: tuple[str, bool]) -> None:
    assert collapse_repeats(text) == expected
