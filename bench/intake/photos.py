"""Photo-like JPEGs of question text: printed on paper, then photographed badly.

The text is set in Noto Sans CJK on an off-white page, which is laid on a desk,
tilted, put slightly in perspective, lit unevenly, blurred, noised and saved as
a mid-quality JPEG, as a phone camera in a child's room would do it.
"""

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATH = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FONT_INDEX_SC = 2  # the faces in the collection: JP, KR, SC, TC, HK


@dataclass(frozen=True)
class Degradation:
    """How one photo was taken; drawn at random per photo."""

    width: int
    font_size: int
    tilt_degrees: float
    light_floor: float  # brightness at the darkest edge, 1.0 = even light
    blur_radius: float
    noise_sigma: float
    jpeg_quality: int

    @classmethod
    def draw(cls, rng: random.Random) -> "Degradation":
        return cls(
            width=rng.randint(1200, 1600),
            font_size=rng.randint(34, 46),
            tilt_degrees=rng.choice((-1, 1)) * rng.uniform(1.0, 4.0),
            light_floor=rng.uniform(0.55, 0.8),
            blur_radius=rng.uniform(0.6, 1.2),
            noise_sigma=rng.uniform(4.0, 9.0),
            jpeg_quality=rng.randint(60, 75),
        )


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines = [""]
    for char in text:
        if font.getlength(lines[-1] + char) > width:
            lines.append("")
        lines[-1] += char
    return lines


def _page(text: str, degradation: Degradation, rng: random.Random) -> Image.Image:
    font = ImageFont.truetype(str(FONT_PATH), degradation.font_size, index=FONT_INDEX_SC)
    margin = degradation.width // 12
    lines = _wrap(text, font, degradation.width - 2 * margin)
    line_height = int(degradation.font_size * rng.uniform(1.5, 1.9))
    height = max(2 * margin + line_height * len(lines), degradation.width * 3 // 5)
    paper = tuple(rng.randint(232, 250) for _ in range(3))
    page = Image.new("RGB", (degradation.width, height), paper)
    ink = rng.randint(20, 60)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * line_height), line, font=font, fill=(ink, ink, ink))
    return page


def _perspective_coefficients(size: tuple[int, int], rng: random.Random, jitter: float) -> list[float]:
    """Coefficients mapping the output rectangle onto the source corners moved by up to ``jitter`` of a side."""
    width, height = size
    target = [(0, 0), (width, 0), (width, height), (0, height)]
    source = [(x + rng.uniform(-jitter, jitter) * width, y + rng.uniform(-jitter, jitter) * height) for x, y in target]
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows, dtype=float), np.array(source, dtype=float).ravel()).tolist()


def _photograph(page: Image.Image, degradation: Degradation, rng: random.Random, noise: np.random.Generator) -> bytes:
    desk = tuple(rng.randint(70, 140) for _ in range(3))
    rotated = page.rotate(degradation.tilt_degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=desk)
    tilted = rotated.transform(
        rotated.size,
        Image.Transform.PERSPECTIVE,
        _perspective_coefficients(rotated.size, rng, jitter=0.02),
        resample=Image.Resampling.BICUBIC,
        fillcolor=desk,
    )
    pixels = np.asarray(tilted.filter(ImageFilter.GaussianBlur(degradation.blur_radius)), dtype=np.float32)
    height, width = pixels.shape[:2]
    # Light from one side, fading to light_floor at the other, and darker corners.
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs, ys = xs / width - 0.5, ys / height - 0.5
    along = (1.0 + (xs * np.cos(angle) + ys * np.sin(angle)) / np.sqrt(0.5)) / 2  # 0..1 across the photo
    light = 1.0 - (1.0 - degradation.light_floor) * along - 0.25 * (xs**2 + ys**2)
    pixels = pixels * light[..., None] + noise.normal(0.0, degradation.noise_sigma, pixels.shape)
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=degradation.jpeg_quality)
    return buffer.getvalue()


def photo_render(text: str, *, seed: int) -> bytes:
    """A JPEG photo of ``text``; the same seed gives the same bytes."""
    rng = random.Random(seed)
    degradation = Degradation.draw(rng)
    page = _page(text, degradation, rng)
    return _photograph(page, degradation, rng, np.random.default_rng(seed))
