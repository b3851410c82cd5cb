import io
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageOps

from media.errors import MediaProcessingError
from media.photos import photo_process

RED = (220, 0, 0)
BLUE = (0, 0, 220)


def open_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    return image


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


def test_photo_process_applies_orientation_and_strips_metadata(tmp_path: Path) -> None:
    # Stored sideways as cameras do: the left half (red) is the top of the scene.
    image = Image.new("RGB", (400, 300), BLUE)
    image.paste(RED, (0, 0, 200, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 4.0)})
    path = tmp_path / "question.jpg"
    image.save(
        path,
        exif=exif,
        comment="student home address",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    assert Image.open(path).getexif().get_ifd(0x8825)[1] == "N"

    photo = photo_process(path)

    assert (photo.width, photo.height) == (300, 400)
    for data, size in ((photo.image, (300, 400)), (photo.thumbnail, (240, 320))):
        output = open_jpeg(data)
        assert output.size == size
        assert close_to(output.getpixel((size[0] // 2, size[1] // 4)), RED)
        assert close_to(output.getpixel((size[0] // 2, size[1] * 3 // 4)), BLUE)
        assert dict(output.getexif()) == {}
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(output.info)
        assert b"Exif" not in data
        assert b"PhoneMaker" not in data
        assert b"student" not in data


@pytest.mark.parametrize("orientation", range(1, 9))
def test_photo_process_turns_every_orientation_upright(tmp_path: Path, orientation: int) -> None:
    image = Image.new("RGB", (160, 80), "white")
    for box, colour in (((0, 0, 80, 40), RED), ((80, 0, 160, 40), BLUE), ((0, 40, 80, 80), (0, 160, 0))):
        image.paste(colour, box)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    image.save(path, exif=exif, quality=95)
    expected = ImageOps.exif_transpose(Image.open(path))

    output = open_jpeg(photo_process(path).image)

    assert output.size == expected.size
    width, height = output.size
    for x, y in ((width // 4, height // 4), (width * 3 // 4, height // 4), (width // 4, height * 3 // 4)):
        assert close_to(output.getpixel((x, y)), expected.getpixel((x, y)))


def test_photo_process_survives_malformed_exif(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (400, 300), RED).save(path, exif=exif)
    # Relabel the maker string as tag 0x0140 (ColorMap, a table of numbers), as broken cameras do.
    path.write_bytes(path.read_bytes().replace(b"\x01\x0f\x00\x02", b"\x01\x40\x00\x02", 1))

    photo = photo_process(path)

    assert (photo.width, photo.height) == (300, 400)
    assert b"PhoneMaker" not in photo.image


def test_photo_process_downscales_and_makes_thumbnail(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.linear_gradient("L").resize((4000, 3000)).convert("RGB").save(path, quality=95)

    photo = photo_process(path)

    assert (photo.width, photo.height) == (2048, 1536)
    assert open_jpeg(photo.image).size == (2048, 1536)
    assert open_jpeg(photo.image).info["progressive"] == 1
    assert open_jpeg(photo.thumbnail).size == (320, 240)


def test_photo_process_custom_sides_and_no_upscaling(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", (800, 500), "white").save(path)

    unchanged = photo_process(path)
    smaller = photo_process(path, max_side=400, thumbnail_side=100)

    assert (unchanged.width, unchanged.height) == (800, 500)
    assert (smaller.width, smaller.height) == (400, 250)
    assert open_jpeg(smaller.thumbnail).size == (100, 63)  # 62.5 rounds up


def transparent_right_half(mode: str) -> Image.Image:
    """Black on the left, red but fully transparent on the right."""
    if mode == "P":
        image = Image.new("P", (200, 100), 1)
        image.putpalette([0, 0, 0, 255, 0, 0])
        image.paste(0, (0, 0, 100, 100))
        image.info["transparency"] = 1
        return image
    image = Image.new("RGBA", (200, 100), (255, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 0, 100, 100))
    return image.convert(mode)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_photo_process_flattens_transparency_onto_white(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "transparent.png"
    transparent_right_half(mode).save(path)

    output = open_jpeg(photo_process(path).image)

    assert close_to(output.getpixel((150, 50)), (255, 255, 255))
    assert close_to(output.getpixel((50, 50)), (0, 0, 0))


def test_photo_process_cmyk_and_webp(tmp_path: Path) -> None:
    Image.new("CMYK", (300, 200), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    Image.new("RGB", (300, 200), RED).save(tmp_path / "red.webp")

    for name in ("cmyk.jpg", "red.webp"):
        output = open_jpeg(photo_process(tmp_path / name).image)
        assert output.size == (300, 200)
        assert close_to(output.getpixel((150, 100)), (255, 0, 0) if name == "cmyk.jpg" else RED)


def test_photo_process_failure(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")

    with pytest.raises(MediaProcessingError) as caught:
        photo_process(path)

    assert caught.value.code == "photo_failed"
