import io
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image

from media.errors import InvalidUpload
from media.uploads import (
    DocumentInfo,
    PhotoInfo,
    VoiceInfo,
    extension_for,
    sniff,
    validate_pdf,
    validate_photo,
    validate_voice,
)
from tests.samples import slides_pdf

MB = 1024 * 1024
LIMITS = {"max_bytes": 10 * MB, "max_pixels": 40_000_000}


def image_bytes(size: tuple[int, int], fmt: str, mode: str = "RGB", **params: object) -> bytes:
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG whose pixel data compresses to almost nothing."""
    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def audio_file(tmp_path: Path, name: str, *codec: str) -> bytes:
    path = tmp_path / name
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", *codec, str(path)], check=True
    )
    return path.read_bytes()


def photo_error(data: bytes, **limits: int) -> str:
    with pytest.raises(InvalidUpload) as caught:
        validate_photo(io.BytesIO(data), **{**LIMITS, **limits})
    return caught.value.code


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81", "audio/webm"),
        (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00", "audio/ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00", "audio/mp4"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "audio/mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),  # MPEG-1 layer III frame
        (b"\xff\xf3\x48\xc4\x00", "audio/mpeg"),  # MPEG-2 layer III frame
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "audio/wav"),
        (b"#!AMR\n\x3c", "audio/amr"),
        (b"#!AMR-WB\n", "audio/amr"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "audio/aac"),  # ADTS, MPEG-4
        (b"\xff\xf9\x50\x80\x02\x1f\xfc", "audio/aac"),  # ADTS, MPEG-2
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", None),  # iPhone HEIC photo
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", None),
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),
        (b"PK\x03\x04\x14\x00", None),
        ("小明有12个苹果".encode(), None),
        (b"\xff", None),
        (b"", None),
    ],
)
def test_sniff(head: bytes, content_type: str | None) -> None:
    assert sniff(head) == content_type


@pytest.mark.parametrize(
    ("name", "codec", "content_type"),
    [
        ("a.webm", ("-c:a", "libopus"), "audio/webm"),
        ("a.ogg", ("-c:a", "libopus"), "audio/ogg"),
        ("a.m4a", ("-c:a", "aac"), "audio/mp4"),
        ("a.mp3", ("-c:a", "libmp3lame"), "audio/mpeg"),
        ("a.mp3", ("-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"), "audio/mpeg"),
        ("a.wav", (), "audio/wav"),
        ("a.aac", ("-c:a", "aac", "-f", "adts"), "audio/aac"),
    ],
)
def test_validate_voice_accepts_real_recordings(
    tmp_path: Path, name: str, codec: tuple[str, ...], content_type: str
) -> None:
    data = audio_file(tmp_path, name, *codec)
    file = io.BytesIO(data)
    file.read(3)

    assert validate_voice(file, max_bytes=MB) == VoiceInfo(content_type, len(data))
    assert file.tell() == 0


def test_validate_voice_rejects() -> None:
    def code(data: bytes, max_bytes: int = MB) -> str:
        file = io.BytesIO(data)
        with pytest.raises(InvalidUpload) as caught:
            validate_voice(file, max_bytes=max_bytes)
        assert file.tell() == 0
        return caught.value.code

    assert code(b"") == "empty_file"
    assert code(b"OggS" + bytes(100), max_bytes=100) == "too_large"
    assert code(image_bytes((8, 8), "JPEG")) == "not_audio"
    assert code("请帮我看看这道题".encode()) == "not_audio"


def test_validate_photo_accepts_a_12_megapixel_jpeg() -> None:
    data = image_bytes((4000, 3000), "JPEG", quality=90)
    file = io.BytesIO(data)

    assert validate_photo(file, **LIMITS) == PhotoInfo("image/jpeg", 4000, 3000, len(data))
    assert file.tell() == 0


@pytest.mark.parametrize(
    ("fmt", "mode", "content_type"),
    [
        ("PNG", "RGBA", "image/png"),
        ("PNG", "P", "image/png"),
        ("WEBP", "RGB", "image/webp"),
        ("JPEG", "L", "image/jpeg"),
    ],
)
def test_validate_photo_accepts_formats(fmt: str, mode: str, content_type: str) -> None:
    data = image_bytes((640, 480), fmt, mode)
    file = io.BytesIO(data)

    assert validate_photo(file, **LIMITS) == PhotoInfo(content_type, 640, 480, len(data))
    assert file.tell() == 0


def test_validate_photo_size_limits() -> None:
    data = image_bytes((64, 48), "JPEG")

    assert photo_error(b"") == "empty_file"
    assert photo_error(data, max_bytes=len(data) - 1) == "too_large"
    assert validate_photo(io.BytesIO(data), max_bytes=len(data), max_pixels=64 * 48).size == len(data)


def test_validate_photo_rejects_other_files(tmp_path: Path) -> None:
    assert photo_error(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n") == "not_an_image"
    assert photo_error("小明有12个苹果，吃了5个，还剩几个？".encode()) == "not_an_image"
    assert photo_error(image_bytes((64, 48), "GIF")) == "not_an_image"
    assert photo_error(audio_file(tmp_path, "a.m4a")) == "not_an_image"


def test_validate_photo_rejects_damaged_files() -> None:
    jpeg = image_bytes((1200, 900), "JPEG", quality=90)
    png = image_bytes((1200, 900), "PNG")
    webp = image_bytes((1200, 900), "WEBP")
    garbage = bytes(range(256)) * 200

    assert photo_error(jpeg[: len(jpeg) * 2 // 3]) == "corrupt_image"
    assert photo_error(jpeg[:1000] + garbage) == "corrupt_image"
    assert photo_error(jpeg[:20]) == "corrupt_image"
    assert photo_error(png[: len(png) * 2 // 3]) == "corrupt_image"
    assert photo_error(png[:100] + garbage) == "corrupt_image"
    assert photo_error(webp[: len(webp) // 2]) == "corrupt_image"


def test_validate_photo_rejects_too_many_pixels_without_decoding() -> None:
    # Pixel data that fails to decode: only the header may be read.
    header_only = blank_png(6000, 5000)[:33] + png_chunk(b"IDAT", b"not zlib") + png_chunk(b"IEND", b"")
    # 20000 x 20000 (400 megapixels) in 47 KB.
    bomb = blank_png(20000, 20000)

    assert photo_error(header_only, max_pixels=29_999_999) == "too_many_pixels"
    assert photo_error(header_only, max_pixels=30_000_000) == "corrupt_image"
    assert len(bomb) < 100_000
    assert photo_error(bomb) == "too_many_pixels"
    assert photo_error(bomb, max_pixels=10**9) == "too_many_pixels"


def test_validate_photo_leaves_position_at_zero_after_rejection() -> None:
    file = io.BytesIO(image_bytes((64, 48), "PNG")[:-20])
    with pytest.raises(InvalidUpload):
        validate_photo(file, **LIMITS)
    assert file.tell() == 0


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("image/webp", ".webp"),
        ("audio/webm", ".webm"),
        ("audio/ogg", ".ogg"),
        ("audio/mp4", ".m4a"),
        ("audio/mpeg", ".mp3"),
        ("audio/wav", ".wav"),
        ("audio/amr", ".amr"),
        ("audio/aac", ".aac"),
    ],
)
def test_extension_for(content_type: str, extension: str) -> None:
    assert extension_for(content_type) == extension


def pdf_error(data: bytes, *, max_bytes: int = 1 << 20, max_pages: int = 3) -> str:
    file = io.BytesIO(data)
    with pytest.raises(InvalidUpload) as refused:
        validate_pdf(file, max_bytes=max_bytes, max_pages=max_pages)
    assert file.tell() == 0
    return refused.value.code


def test_validate_pdf_counts_the_pages_of_a_real_pdf() -> None:
    data = slides_pdf(3)
    file = io.BytesIO(data)

    assert validate_pdf(file, max_bytes=len(data), max_pages=3) == DocumentInfo("application/pdf", len(data), 3)
    assert file.tell() == 0


def test_validate_pdf_rejects() -> None:
    data = slides_pdf(4)

    assert pdf_error(b"") == "empty_file"
    assert pdf_error(data, max_bytes=len(data) - 1) == "too_large"
    assert pdf_error(data) == "too_many_pages"
    assert pdf_error(image_bytes((64, 48), "PNG")) == "not_a_pdf"
    assert pdf_error(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 then nothing") == "corrupt_pdf"
    assert pdf_error(data[: len(data) // 3]) == "corrupt_pdf"  # cut off
