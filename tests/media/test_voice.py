import json
import subprocess
import wave
from pathlib import Path

import pytest

from media.errors import MediaProcessingError
from media.voice import voice_transcode


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def probe(path: Path) -> dict:
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    return json.loads(completed.stdout)


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, float]:
    """A phone-browser style recording (Opus in WebM) of a spoken question, with the
    duration of the speech that was encoded."""
    speech = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(speech), "xiao3 ming2 you3 shi2 er4 ge4 ping2 guo3"],
        check=True,
    )
    webm = tmp_path / "recording.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(speech),
            "-c:a",
            "libopus",
            "-metadata",
            "title=Li Ming, Class 3",
            str(webm),
        ],
        check=True,
    )
    return webm, wav_duration(speech)


def test_voice_transcode(tmp_path: Path, recording: tuple[Path, float]) -> None:
    src, source_duration = recording
    wav_path, playback_path = tmp_path / "asr.wav", tmp_path / "playback.m4a"

    duration = voice_transcode(src, wav_path=wav_path, playback_path=playback_path, max_seconds=60)

    assert abs(duration - source_duration) < 0.1
    with wave.open(str(wav_path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 == duration
    playback = probe(playback_path)
    [stream] = playback["streams"]
    assert (stream["codec_name"], stream["profile"], stream["channels"]) == ("aac", "LC", 1)
    assert 32_000 <= int(stream["bit_rate"]) <= 48_000
    assert abs(float(playback["format"]["duration"]) - source_duration) < 0.1
    assert "title" not in playback["format"].get("tags", {})
    data = playback_path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # starts playing before fully downloaded
    assert b"Li Ming" not in data
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(playback_path), "-f", "null", "-"], capture_output=True
    )
    assert (decoded.returncode, decoded.stderr) == (0, b"")


def test_voice_transcode_truncates_to_max_seconds(tmp_path: Path, recording: tuple[Path, float]) -> None:
    src, source_duration = recording
    wav_path, playback_path = tmp_path / "asr.wav", tmp_path / "playback.m4a"
    assert source_duration > 2

    duration = voice_transcode(src, wav_path=wav_path, playback_path=playback_path, max_seconds=1.5)

    assert duration == pytest.approx(1.5, abs=0.01)
    assert wav_duration(wav_path) == duration
    assert abs(float(probe(playback_path)["format"]["duration"]) - 1.5) < 0.05


def test_voice_transcode_other_formats(tmp_path: Path) -> None:
    src = tmp_path / "voice.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-ac", "2", str(src)],
        check=True,
    )

    duration = voice_transcode(src, wav_path=tmp_path / "a.wav", playback_path=tmp_path / "a.m4a", max_seconds=60)

    assert abs(duration - 2) < 0.1


@pytest.mark.parametrize(
    "data",
    [
        b"OggS" + bytes(range(256)) * 40,  # right magic bytes, garbage after
        b"\x1a\x45\xdf\xa3" + b"\x00" * 3000,
        b"",
    ],
)
def test_voice_transcode_corrupt_audio(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "broken.ogg"
    src.write_bytes(data)

    with pytest.raises(MediaProcessingError) as caught:
        voice_transcode(src, wav_path=tmp_path / "a.wav", playback_path=tmp_path / "a.m4a", max_seconds=60)

    assert caught.value.code == "transcode_failed"
    assert caught.value.args[0] == "transcode_failed"
    assert caught.value.args[1].startswith(("ffmpeg exited with 1", "ffmpeg produced no audio"))


def test_voice_transcode_video_without_audio(tmp_path: Path) -> None:
    src = tmp_path / "silent-video.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=64x64:duration=1", "-c:v", "libvpx", str(src)],
        check=True,
    )

    with pytest.raises(MediaProcessingError) as caught:
        voice_transcode(src, wav_path=tmp_path / "a.wav", playback_path=tmp_path / "a.m4a", max_seconds=60)

    assert caught.value.code == "transcode_failed"
    assert "matches no streams" in caught.value.args[1]
