from pathlib import Path

import pytest
from PIL import Image

from media.errors import MediaProcessingError
from media.slides import pdf_pages_render
from tests.samples import slides_pdf


def test_each_page_is_rendered_to_a_png_with_its_longer_side_as_asked(tmp_path: Path) -> None:
    source = tmp_path / "slides.pdf"
    source.write_bytes(slides_pdf(2, size=(1280, 720)))

    pages = pdf_pages_render(source, tmp_path, long_side=1600)

    assert [page.name for page in pages] == ["page-001.png", "page-002.png"]
    for page in pages:
        with Image.open(page) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (1600, 900), "RGB")
            assert image.getpixel((1500, 800)) == (255, 255, 255)  # the page's white


def test_a_portrait_page_is_as_high_as_asked(tmp_path: Path) -> None:
    source = tmp_path / "slides.pdf"
    source.write_bytes(slides_pdf(1, size=(600, 800)))

    [page] = pdf_pages_render(source, tmp_path, long_side=1600)

    with Image.open(page) as image:
        assert image.size == (1200, 1600)


def test_an_unreadable_pdf_fails(tmp_path: Path) -> None:
    source = tmp_path / "slides.pdf"
    source.write_bytes(b"%PDF-1.4 nothing else")

    with pytest.raises(MediaProcessingError) as failed:
        pdf_pages_render(source, tmp_path, long_side=1600)

    assert failed.value.code == "pdf_failed"
    assert list(tmp_path.glob("*.png")) == []
