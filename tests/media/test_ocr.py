import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidocr.ch_ppocr_det.utils import TextDetOutput

from media.errors import MediaProcessingError
from media.ocr import ocr_engine, reading_order
from media.recognition import Recognition, join_fragments

NOTO_SANS_CJK_SC = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)


def render(path: Path, lines: list[str]) -> Path:
    font = ImageFont.truetype(NOTO_SANS_CJK_SC[0], 40, index=NOTO_SANS_CJK_SC[1])
    assert font.getname() == ("Noto Sans CJK SC", "Regular")
    image = Image.new("RGB", (900, 100 + 80 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 50 + 80 * number), line, font=font, fill="black")
    image.save(path)
    return path


def test_ocr_reads_a_rendered_question(tmp_path: Path) -> None:
    question = "小明有12个苹果，吃了5个，还剩几个？"

    result = ocr_engine().recognize(render(tmp_path / "q.png", [question]))

    assert "".join(result.text.split()) == question
    assert 0.9 < result.confidence <= 1.0


def test_ocr_reads_lines_in_order(tmp_path: Path) -> None:
    result = ocr_engine().recognize(render(tmp_path / "q.png", ["解方程：3x+5=20", "Solve for x"]))

    assert result.text == "解方程：3x+5=20\nSolve for x"


def test_ocr_blank_image(tmp_path: Path) -> None:
    path = tmp_path / "blank.jpg"
    Image.new("RGB", (800, 600), "white").save(path)

    assert ocr_engine().recognize(path) == Recognition("", 0.0)


def test_boxes_found_with_no_text_read_in_them_are_no_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ocr_engine()
    detected_only = TextDetOutput(boxes=np.array([[[0, 0], [10, 0], [10, 10], [0, 10]]]), scores=[0.9])
    monkeypatch.setattr(engine, "_ocr", lambda path: detected_only)

    assert engine.recognize(tmp_path / "scribble.jpg") == Recognition("", 0.0)


def test_ocr_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.png"

    with pytest.raises(MediaProcessingError) as caught:
        ocr_engine().recognize(path)

    assert caught.value.code == "ocr_failed"


def test_ocr_engine_is_created_once() -> None:
    assert ocr_engine() is ocr_engine("rapidocr")
    with pytest.raises(ValueError, match="tesseract"):
        ocr_engine("tesseract")


def box(left: float, top: float, right: float, bottom: float) -> list[list[float]]:
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def test_reading_order() -> None:
    boxes = [
        box(300, 104, 420, 140),  # line 2, right
        box(10, 10, 200, 50),  # line 1, left
        box(10, 100, 120, 138),  # line 2, left
        box(520, 14, 600, 52),  # line 1, right, slightly lower
        box(130, 101, 290, 139),  # line 2, middle
        box(10, 200, 400, 240),  # line 3
    ]
    texts = ["apples", "小明有", "Tom", "个苹果", "has 12", "还剩几个？"]

    assert reading_order(boxes, texts) == "小明有个苹果\nTom has 12 apples\n还剩几个？"
    assert reading_order([], []) == ""


def test_join_fragments() -> None:
    assert join_fragments(["小明有", "12", "个苹果"]) == "小明有12个苹果"
    assert join_fragments(["x", "+", "5", "=", "20"]) == "x+5=20"
    assert join_fragments(["Tom", "has", "12"]) == "Tom has 12"
    assert join_fragments([" The dog. ", "Then", "", "它跑了。"]) == "The dog. Then它跑了。"


def tilted(points: list[list[float]], degrees: float) -> list[list[float]]:
    angle = math.radians(degrees)
    return [[x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)] for x, y in points]


@pytest.mark.parametrize("degrees", [-4.0, 3.0, 4.0])
def test_reading_order_of_a_tilted_photo_keeps_a_short_line_below_a_long_one(degrees: float) -> None:
    boxes = [tilted(box(10, 60, 220, 100), degrees), tilted(box(10, 10, 900, 50), degrees)]

    assert reading_order(boxes, ["多少千克？", "两只熊猫4天吃了56千克竹子，平均每天一只熊猫吃"]) == (
        "两只熊猫4天吃了56千克竹子，平均每天一只熊猫吃\n多少千克？"
    )


def test_ocr_reads_the_lines_of_a_tilted_photo_in_order(tmp_path: Path) -> None:
    lines = ["两只熊猫4天吃了56千克竹子，平均每天", "一只熊猫吃多少千克竹子"]
    path = render(tmp_path / "q.png", lines)
    Image.open(path).rotate(3, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC).save(path)

    assert ocr_engine().recognize(path).text.replace(" ", "") == "\n".join(lines)
