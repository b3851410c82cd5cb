"""One upload pipeline: intake, the library and session chat check, refuse and sanitise uploads the same way."""

import io
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import StudentFactory, opened_session
from tests.samples import question_photo, voice_clip
from tutoring.core.errors import ServiceError
from tutoring.core.uploads import PHOTO, VIDEO, VOICE, upload_check, upload_process
from tutoring.library.models import Entry
from tutoring.library.services import entry_save
from tutoring.questions.models import Question
from tutoring.questions.services import question_create
from tutoring.sessions.models import ChatAttachment
from tutoring.sessions.services import chat_attachment_add

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "upload.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def stored(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def refusals(content: bytes) -> list[tuple[str, int, str | None]]:
    """How intake, the library and session chat each refuse the same photo: (code, status, field)."""
    session = opened_session()
    attempts = [
        lambda: question_create(
            student=StudentFactory(),
            subject="math",
            grade=3,
            idempotency_key=uuid.uuid4().hex,
            photos=[upload(content)],
        ),
        lambda: entry_save(text="", subject="数学", grade=3, solution="7个", photo=upload(content)),
        lambda: chat_attachment_add(session=session, user=session.student, file=upload(content)),
    ]
    found = []
    for attempt in attempts:
        with pytest.raises(ServiceError) as refused:
            attempt()
        found.append((refused.value.code, refused.value.status, refused.value.field))
    return found


def test_a_photo_too_large_is_refused_alike_everywhere_and_nothing_is_kept(settings, media_root):
    settings.XUEWEN = {**settings.XUEWEN, "MAX_PHOTO_BYTES": 10_000}

    found = refusals(question_photo(size=(1600, 1200)))

    assert found == [("too_large", 413, "photos"), ("too_large", 413, "photo"), ("too_large", 413, "file")]
    # The one question is the session's: intake created none.
    assert (Question.objects.count(), Entry.objects.count(), ChatAttachment.objects.count()) == (1, 0, 0)
    assert stored(media_root) == []


def test_a_damaged_photo_is_refused_alike_everywhere(media_root):
    found = refusals(b"\xff\xd8\xff\xe0" + b"\x00" * 100)

    assert [code for code, _status, _field in found] == ["corrupt_image"] * 3
    assert [status for _code, status, _field in found] == [400] * 3
    assert stored(media_root) == []


@pytest.mark.parametrize(
    ("content", "kinds", "code"),
    [
        (b"%PDF-1.7", {PHOTO}, "not_an_image"),
        (b"%PDF-1.7", {VOICE}, "not_audio"),
        (b"%PDF-1.7", {VIDEO}, "not_a_video"),
        (b"%PDF-1.7", {PHOTO, VOICE}, "unsupported_file"),
        (b"", {PHOTO}, "empty_file"),
    ],
)
def test_the_check_says_what_is_wrong_and_names_the_field(content, kinds, code):
    with pytest.raises(ServiceError) as refused:
        upload_check(io.BytesIO(content), kinds=kinds, field="attachment")

    assert (refused.value.code, refused.value.status, refused.value.field) == (code, 400, "attachment")


def test_with_two_kinds_the_content_decides_which_check_applies():
    photo, clip = io.BytesIO(question_photo()), io.BytesIO(voice_clip())

    assert upload_check(photo, kinds={PHOTO, VOICE}, field="file").kind == PHOTO
    assert upload_check(clip, kinds={PHOTO, VOICE}, field="file").kind == VOICE
    assert (photo.tell(), clip.tell()) == (0, 0)


def test_a_processed_photo_is_upright_and_keeps_no_metadata(tmp_path):
    image = Image.new("RGB", (400, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # shot rotated: shown 90° clockwise
    exif.get_ifd(0x8825).update({1: "N", 2: (39.0, 54.0, 27.0)})
    source = tmp_path / "shot.jpg"
    image.save(source, format="JPEG", exif=exif)

    processed = upload_process(source, kind=PHOTO, directory=tmp_path)

    content, content_type = processed.files["processed"]
    assert isinstance(content, bytes)
    kept = Image.open(io.BytesIO(content))
    assert (content_type, kept.size, (processed.width, processed.height)) == ("image/jpeg", (200, 400), (200, 400))
    assert dict(kept.getexif()) == {}
    assert set(processed.files) == {"processed", "thumbnail"}
