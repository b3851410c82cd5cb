"""Real inputs made on the fly: rendered question photos and spoken voice clips."""

import io
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
QUESTION_TEXT = "小明有12个苹果，吃了5个，还剩几个？"
# A teacher's finished pen stroke on the session board, as the browser sends it (board protocol v1).
STROKE = {
    "v": 1,
    "type": "board.stroke",
    "stroke": "t1",
    "page": 0,
    "tool": "pen",
    "color": "#1a1a1a",
    "width": 4,
    "points": [[100, 100, 0], [300, 100, 120]],
    "end": True,
}


def question_photo(text: str = QUESTION_TEXT, *, size: tuple[int, int] = (900, 240), format: str = "JPEG") -> bytes:
    """A clean photo-sized image of one line of question text."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((40, 80), text, font=ImageFont.truetype(CJK_FONT, 44), fill="black")
    out = io.BytesIO()
    image.save(out, format=format, quality=92)
    return out.getvalue()


def slides_pdf(pages: int = 3, *, size: tuple[int, int] = (1280, 720)) -> bytes:
    """A PDF of ``pages`` slides of ``size`` points (Pillow's PDF writer at 72 dpi), each numbered in a CJK font."""
    font = ImageFont.truetype(CJK_FONT, 60)
    images = []
    for number in range(1, pages + 1):
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).text((60, 60), f"第{number}页：两位数乘一位数", font=font, fill="black")
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def voice_clip(text: str = "hello world", *, voice: str = "en", codec_args: tuple[str, ...] = ()) -> bytes:
    """Speech by espeak-ng, encoded by ffmpeg (Ogg/Opus by default, as phones record)."""
    with tempfile.TemporaryDirectory() as directory:
        wav = Path(directory) / "speech.wav"
        out = Path(directory) / "speech.ogg"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True, capture_output=True)
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *(codec_args or ("-c:a", "libopus")), str(out)],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def video_clip(seconds: int = 2) -> bytes:
    """A test picture with a tone, encoded as a phone's browser records (WebM, VP8 and Opus)."""
    picture, tone = f"testsrc2=size=320x240:rate=15:duration={seconds}", f"sine=duration={seconds}"
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "clip.webm"
        inputs = ["-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", tone]
        encoders = ["-c:v", "libvpx", "-c:a", "libopus"]
        subprocess.run(["ffmpeg", "-loglevel", "error", *inputs, *encoders, str(out)], check=True)
        return out.read_bytes()
