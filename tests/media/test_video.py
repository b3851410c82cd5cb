import io
import json
import struct
import subprocess
from pathlib import Path

import pytest
from django.utils import translation
from PIL import Image

from media.errors import InvalidUpload, MediaProcessingError
from media.uploads import VideoInfo, extension_for, sniff, sniff_video, validate_video
from media.video import ProcessedVideo, VideoProbe, video_probe, video_transcode

MB = 1024 * 1024
SECONDS = 2.0

# Container -> encoder options, for a 320x240 30 fps test picture with a 440 Hz tone.
CONTAINERS = {
    "webm": ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", "-c:a", "libopus"),
    "mov": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"),
    "avi": ("-c:v", "mpeg4", "-c:a", "libmp3lame"),
    "mp4": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"),
    "mkv": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus"),
    "3gp": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "1", "-ar", "16000"),
    "ts": ("-c:v", "mpeg2video", "-c:a", "mp2"),
    "mpg": ("-c:v", "mpeg1video", "-c:a", "mp2"),
}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def make_video(
    path: Path,
    *options: str,
    size: str = "320x240",
    seconds: float = SECONDS,
    rate: int = 30,
    audio: bool = True,
) -> Path:
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    ffmpeg(*inputs, *(options or CONTAINERS["mp4"]), str(path))
    return path


def probe(path: Path) -> dict:
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    return json.loads(completed.stdout)


def streams(info: dict, kind: str) -> list[dict]:
    return [stream for stream in info["streams"] if stream["codec_type"] == kind]


def top_level_boxes(data: bytes) -> list[tuple[bytes, int]]:
    """(type, offset) of each top-level box of an MP4 file."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append((kind, offset))
        offset += size
    return boxes


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    return {name: make_video(folder / f"clip.{name}", *options) for name, options in CONTAINERS.items()}


def output_paths(tmp_path: Path) -> tuple[Path, Path, Path]:
    out = tmp_path / "out"
    out.mkdir(parents=True)
    return out, out / "answer.mp4", out / "answer.jpg"


def transcode_error(src: Path, tmp_path: Path, **options: float) -> MediaProcessingError:
    out, dst, poster = output_paths(tmp_path)
    with pytest.raises(MediaProcessingError) as caught:
        video_transcode(src, dst=dst, poster=poster, **options)
    assert list(out.iterdir()) == []  # nothing half-written, no temporary files left
    return caught.value


def check_playable(dst: Path, width: int, height: int, seconds: float) -> dict:
    """An MP4 that phones play while it downloads; returns ffprobe's view of it."""
    info = probe(dst)
    assert info["format"]["format_name"].startswith("mov,mp4")
    [video], [audio] = streams(info, "video"), streams(info, "audio")
    assert len(info["streams"]) == 2
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert video["level"] <= 40
    assert (video["width"], video["height"]) == (width, height)
    assert video.get("sample_aspect_ratio", "1:1") == "1:1"
    assert "side_data_list" not in video  # no rotation left for the player to apply
    assert (audio["codec_name"], audio["profile"]) == ("aac", "LC")
    assert audio["channels"] in (1, 2)
    assert int(audio["bit_rate"]) <= 100_000
    assert abs(float(info["format"]["duration"]) - seconds) < 0.1
    assert abs(float(video["duration"]) - seconds) < 0.1
    assert set(info["format"].get("tags", {})) <= {"major_brand", "minor_version", "compatible_brands", "encoder"}
    boxes = [kind for kind, _offset in top_level_boxes(dst.read_bytes())]
    assert boxes[0] == b"ftyp"
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: playable before fully downloaded
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(dst), "-f", "null", "-"], capture_output=True
    )
    assert (decoded.returncode, decoded.stderr) == (0, b"")
    return info


def check_poster(poster: Path, size: tuple[int, int]) -> None:
    data = poster.read_bytes()
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", size)
        image.load()


# --- Sniffing and validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x18ftypmp41\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01", "video/mp4"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x18ftypavc1\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", "video/quicktime"),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
            "video/webm",
        ),
        (
            b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska",
            "video/x-matroska",
        ),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01", "video/mpeg"),
        (b"\x47\x40\x00\x10" + bytes(184) + b"\x47\x50\x00\x10" + bytes(184) + b"\x47\x41\x00\x30", "video/mp2t"),
        (bytes(4) + b"\x47" + bytes(191) + b"\x47" + bytes(191) + b"\x47" + bytes(10), "video/mp2t"),  # M2TS
        (b"\x47\x40\x00\x10" + bytes(200), None),  # one sync byte is not enough: "G" starts many files
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", None),  # iPhone voice memo
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", None),  # iPhone photo
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", None),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", None),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", None),
        (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00", None),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", None),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", None),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", None),
        ("小明有12个苹果".encode(), None),
        (b"", None),
    ],
)
def test_sniff_video(head: bytes, content_type: str | None) -> None:
    assert sniff_video(head) == content_type


def test_sniff_is_unchanged_for_voice_recordings() -> None:
    # The photo and voice sniffing neither accepts AVI nor calls MP4 or WebM video.
    assert sniff(b"RIFF\x24\x00\x00\x00AVI LIST") is None
    assert sniff(b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00") == "audio/mp4"
    assert sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81") == "audio/webm"


@pytest.mark.parametrize(
    ("name", "content_type", "extension"),
    [
        ("webm", "video/webm", ".webm"),
        ("mov", "video/quicktime", ".mov"),
        ("avi", "video/x-msvideo", ".avi"),
        ("mp4", "video/mp4", ".mp4"),
        ("mkv", "video/x-matroska", ".mkv"),
        ("3gp", "video/mp4", ".mp4"),
        ("ts", "video/mp2t", ".ts"),
        ("mpg", "video/mpeg", ".mpg"),
    ],
)
def test_validate_video_accepts_containers(
    sources: dict[str, Path], name: str, content_type: str, extension: str
) -> None:
    data = sources[name].read_bytes()
    file = io.BytesIO(data)
    file.read(5)

    assert validate_video(file, max_bytes=len(data)) == VideoInfo(content_type, len(data))
    assert file.tell() == 0
    assert extension_for(content_type) == extension


def test_validate_video_rejects(tmp_path: Path) -> None:
    def code(data: bytes, max_bytes: int = 10 * MB) -> str:
        file = io.BytesIO(data)
        with pytest.raises(InvalidUpload) as caught:
            validate_video(file, max_bytes=max_bytes)
        assert file.tell() == 0
        return caught.value.code

    video = make_video(tmp_path / "a.mp4", seconds=0.5).read_bytes()
    m4a = tmp_path / "a.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(m4a))
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")

    assert code(b"") == "empty_file"
    assert code(video, max_bytes=len(video) - 1) == "too_large"
    assert code("这道题我不会做，请老师讲一讲。".encode()) == "not_a_video"
    assert code(jpeg.getvalue()) == "not_a_video"
    assert code(m4a.read_bytes()) == "not_a_video"


# --- Probing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTAINERS))
def test_video_probe(sources: dict[str, Path], name: str) -> None:
    result = video_probe(sources[name])

    assert (result.width, result.height, result.has_audio) == (320, 240, True)
    assert abs(result.duration_seconds - SECONDS) < 0.06


def test_video_probe_without_audio(tmp_path: Path) -> None:
    src = make_video(tmp_path / "silent.mov", "-c:v", "libx264", "-preset", "ultrafast", size="640x360", audio=False)

    assert video_probe(src) == VideoProbe(SECONDS, 640, 360, False)


def test_video_probe_reports_the_shown_size(tmp_path: Path) -> None:
    # A portrait phone video: landscape frames with a rotation in the metadata.
    landscape = make_video(tmp_path / "landscape.mp4", size="640x360", audio=False)
    portrait = tmp_path / "portrait.mp4"
    ffmpeg("-i", str(landscape), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(portrait))
    # Non-square pixels: 360x360 stored, shown 640x360.
    anamorphic = make_video(
        tmp_path / "anamorphic.mkv", "-vf", "scale=360:360,setsar=16/9", "-c:v", "libx264", audio=False
    )

    assert video_probe(portrait) == VideoProbe(SECONDS, 360, 640, False)
    assert video_probe(anamorphic) == VideoProbe(SECONDS, 640, 360, False)


def test_video_probe_webm_recorded_without_duration(tmp_path: Path) -> None:
    # Phone browsers' MediaRecorder writes WebM as a stream, without a duration in
    # the header; so does ffmpeg writing to a pipe.
    src = tmp_path / "recorded.webm"
    with src.open("wb") as file:
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2"),
                *("-f", "lavfi", "-i", "sine=duration=2", *CONTAINERS["webm"], "-f", "webm", "-"),
            ],
            check=True,
            stdout=file,
        )
    assert probe(src)["format"].get("duration") is None

    result = video_probe(src)
    assert (result.width, result.height, result.has_audio) == (320, 240, True)
    assert abs(result.duration_seconds - SECONDS) < 0.05


def test_video_probe_rejects_files_without_a_picture(tmp_path: Path) -> None:
    voice = tmp_path / "voice.mp4"  # an "isom" MP4, which sniffs as a video
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(voice))
    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64), "red").save(cover)
    song = tmp_path / "song.mkv"  # audio with cover art, which ffprobe lists as a video stream
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-c:a",
        "libopus",
        "-attach",
        str(cover),
        "-metadata:s:t",
        "mimetype=image/png",
        str(song),
    )
    text = tmp_path / "question.mp4"
    text.write_text("小明有12个苹果，吃了5个，还剩几个？")

    for path in (voice, song, text, tmp_path / "missing.mp4"):
        with pytest.raises(MediaProcessingError) as caught:
            video_probe(path)
        assert caught.value.code == "video_unreadable", path


# --- Transcoding --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTAINERS))
def test_video_transcode(tmp_path: Path, sources: dict[str, Path], name: str) -> None:
    out, dst, poster = output_paths(tmp_path)

    result = video_transcode(sources[name], dst=dst, poster=poster)

    assert result.width == 320 and result.height == 240
    assert abs(result.duration_seconds - SECONDS) < 0.1
    info = check_playable(dst, 320, 240, SECONDS)
    assert result.duration_seconds == float(info["format"]["duration"])
    check_poster(poster, (320, 240))
    assert sorted(path.name for path in out.iterdir()) == ["answer.jpg", "answer.mp4"]


def test_video_transcode_scales_down_and_strips_metadata(tmp_path: Path) -> None:
    src = make_video(
        tmp_path / "phone.mov",
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "2"),
        *("-metadata", "title=Wang Fang, Class 5", "-metadata", "location=+39.9042+116.4074/"),
        size="1920x1080",
        rate=60,
    )
    _out, dst, poster = output_paths(tmp_path)

    assert video_transcode(src, dst=dst, poster=poster) == ProcessedVideo(pytest.approx(SECONDS, abs=0.1), 1280, 720)

    info = check_playable(dst, 1280, 720, SECONDS)
    [video], [audio] = streams(info, "video"), streams(info, "audio")
    assert video["avg_frame_rate"] == "30/1"
    assert audio["channels"] == 2
    data = dst.read_bytes()
    assert b"Wang Fang" not in data and b"+39.9042" not in data
    check_poster(poster, (640, 360))


def test_video_transcode_portrait_odd_sizes_and_max_side(tmp_path: Path) -> None:
    landscape = make_video(tmp_path / "landscape.mp4", size="642x362", audio=False)
    portrait = tmp_path / "portrait.mp4"
    ffmpeg("-i", str(landscape), "-c", "copy", "-metadata:s:v:0", "rotate=-90", str(portrait))
    odd = make_video(tmp_path / "odd.mkv", "-c:v", "libx264", "-pix_fmt", "yuv444p", size="333x201")

    out, dst, poster = output_paths(tmp_path)
    assert video_transcode(portrait, dst=dst, poster=poster, max_side=320).width == 180
    check_playable(dst, 180, 320, SECONDS)
    check_poster(poster, (180, 320))

    dst, poster = out / "odd.mp4", out / "odd.jpg"
    assert video_transcode(odd, dst=dst, poster=poster).height == 200
    check_playable(dst, 332, 200, SECONDS)
    check_poster(poster, (332, 200))


def test_video_transcode_adds_silence_to_videos_without_sound(tmp_path: Path) -> None:
    src = make_video(tmp_path / "screen.webm", "-c:v", "libvpx", "-deadline", "realtime", audio=False)
    _out, dst, poster = output_paths(tmp_path)

    video_transcode(src, dst=dst, poster=poster)

    [audio] = streams(check_playable(dst, 320, 240, SECONDS), "audio")
    assert audio["channels"] == 1
    volume = subprocess.run(
        ["ffmpeg", "-i", str(dst), "-map", "0:a", "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    assert "max_volume: -91.0 dB" in volume


def test_video_transcode_cuts_at_max_seconds(tmp_path: Path, sources: dict[str, Path]) -> None:
    _out, dst, poster = output_paths(tmp_path)

    assert video_transcode(sources["mp4"], dst=dst, poster=poster, max_seconds=1.2).duration_seconds == (
        pytest.approx(1.2, abs=0.1)
    )
    check_playable(dst, 320, 240, 1.2)


def test_video_transcode_poster_of_a_very_short_video(tmp_path: Path) -> None:
    src = make_video(tmp_path / "short.mp4", seconds=0.5)
    _out, dst, poster = output_paths(tmp_path)

    video_transcode(src, dst=dst, poster=poster)

    check_playable(dst, 320, 240, 0.5)
    check_poster(poster, (320, 240))


def test_video_transcode_tone_maps_hdr(tmp_path: Path) -> None:
    # iPhones record HLG HDR in 10-bit HEVC by default.
    src = make_video(
        tmp_path / "iphone.mov",
        *("-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1"),
        *("-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", "-c:a", "aac"),
    )
    _out, dst, poster = output_paths(tmp_path)

    video_transcode(src, dst=dst, poster=poster)

    [video] = streams(check_playable(dst, 320, 240, SECONDS), "video")
    assert (video["color_transfer"], video["color_primaries"]) == ("bt709", "bt709")


def test_video_transcode_keeps_the_umask_permissions(tmp_path: Path, sources: dict[str, Path]) -> None:
    _out, dst, poster = output_paths(tmp_path)
    expected = 0o666 & ~current_umask()

    video_transcode(sources["mp4"], dst=dst, poster=poster)

    assert dst.stat().st_mode & 0o777 == expected
    assert poster.stat().st_mode & 0o777 == expected


def current_umask() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)


def test_video_transcode_truncated_files(tmp_path: Path, sources: dict[str, Path]) -> None:
    webm = sources["webm"].read_bytes()
    mp4 = sources["mp4"].read_bytes()  # without faststart: the index is at the end
    cut_webm, cut_mp4 = tmp_path / "cut.webm", tmp_path / "cut.mp4"
    cut_webm.write_bytes(webm[: len(webm) // 2])
    cut_mp4.write_bytes(mp4[: len(mp4) // 2])

    error = transcode_error(cut_webm, tmp_path / "a")
    assert error.code == "transcode_failed"
    assert "instead of 2.0" in error.args[-1]
    assert transcode_error(cut_mp4, tmp_path / "b").code == "video_unreadable"


def test_video_transcode_unreadable_files(tmp_path: Path, sources: dict[str, Path]) -> None:
    text = tmp_path / "question.mp4"
    text.write_text("请问这道题怎么做？")
    header_only = tmp_path / "header.mkv"
    header_only.write_bytes(sources["mkv"].read_bytes()[:300])
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(range(256)) * 100)

    for number, src in enumerate((text, header_only, garbage)):
        error = transcode_error(src, tmp_path / str(number))
        assert error.code == "video_unreadable", src
        with translation.override("en"):
            assert str(error.message) == "The video could not be read. Please choose another one."


def test_video_transcode_failure_leaves_existing_files_alone(tmp_path: Path, sources: dict[str, Path]) -> None:
    out, dst, poster = output_paths(tmp_path)
    dst.write_bytes(b"previous video")
    poster.write_bytes(b"previous poster")
    broken = tmp_path / "broken.webm"
    broken.write_bytes(sources["webm"].read_bytes()[:5000])

    with pytest.raises(MediaProcessingError):
        video_transcode(broken, dst=dst, poster=poster)

    assert sorted(path.name for path in out.iterdir()) == ["answer.jpg", "answer.mp4"]
    assert (dst.read_bytes(), poster.read_bytes()) == (b"previous video", b"previous poster")


def test_video_transcode_ffmpeg_error_carries_stderr(tmp_path: Path, sources: dict[str, Path]) -> None:
    out, _dst, poster = output_paths(tmp_path)

    with pytest.raises(MediaProcessingError) as caught:
        video_transcode(sources["mp4"], dst=tmp_path / "missing" / "answer.mp4", poster=poster)

    assert caught.value.code == "transcode_failed"
    assert "ffmpeg exited with" in caught.value.args[-1]
    assert "No such file or directory" in caught.value.args[-1]
    assert list(out.iterdir()) == []
