import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.factories import AdministratorFactory, StudentFactory, knowledge_points_named, message_append, opened_session
from tests.samples import question_photo, voice_clip
from tutoring.sessions import services
from tutoring.sessions.models import ChatAttachment, Recording, SessionEvent

pytestmark = pytest.mark.django_db


def photo_with_location() -> bytes:
    image = Image.open(io.BytesIO(question_photo()))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 4.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(client, session, content: bytes, name: str = "photo.jpg"):
    url = reverse("sessions:attachments", args=[session.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def stored_files(session) -> list[str]:
    directory = f"sessions/{session.pk}/chat"
    return default_storage.listdir(directory)[1] if default_storage.exists(directory) else []


def test_a_chat_photo_is_stored_without_its_metadata_and_shared_by_a_message(client):
    session = opened_session()
    client.force_login(session.student)

    response = upload(client, session, photo_with_location())
    attachment = ChatAttachment.objects.get()
    event = message_append(
        session_id=session.pk,
        user=session.student,
        role="student",
        content={"v": 1, "type": "chat.message", "text": "", "attachment": attachment.pk, "ref": "c1"},
    )
    photo = client.get(response.json()["url"])

    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["width"], response.json()["height"]) == ("photo", 900, 240)
    assert event["attachment"] == response.json()
    assert photo.status_code == 200
    saved = Image.open(io.BytesIO(b"".join(photo.streaming_content)))
    assert dict(saved.getexif()) == {}
    assert len(stored_files(session)) == 2  # the photo and its thumbnail, never the upload


def test_a_chat_voice_clip_is_stored_as_aac(client):
    session = opened_session()
    client.force_login(session.teacher)

    response = upload(client, session, voice_clip(), "voice.ogg")

    assert response.status_code == 201
    assert response.json()["kind"] == "voice"
    assert 0.5 < response.json()["duration_seconds"] < 5
    assert ChatAttachment.objects.get().processed.name.endswith(".m4a")


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"%PDF-1.7 not a photo", 400, "unsupported_file"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, 400, "corrupt_image"),
        (b"", 400, "unsupported_file"),
    ],
)
def test_a_bad_chat_upload_is_refused_and_nothing_is_stored(client, content, status, code):
    session = opened_session()
    client.force_login(session.student)

    response = upload(client, session, content)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert ChatAttachment.objects.count() == 0
    assert stored_files(session) == []


def test_only_participants_upload_and_only_their_own_attachments_are_shared(client):
    session = opened_session()
    client.force_login(AdministratorFactory())
    observer = upload(client, session, question_photo())
    client.force_login(StudentFactory())
    stranger = upload(client, session, question_photo())
    client.force_login(session.teacher)
    upload(client, session, question_photo())

    with pytest.raises(services.ServiceError) as refused:
        message_append(
            session_id=session.pk,
            user=session.student,
            role="student",
            content={"v": 1, "type": "chat.message", "attachment": ChatAttachment.objects.get().pk},
        )

    assert (observer.status_code, stranger.status_code) == (403, 404)
    assert refused.value.code == "unknown_attachment"
    assert SessionEvent.objects.count() == 0


def test_the_student_rates_and_the_teacher_corrects_over_http(client):
    session = opened_session()
    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    client.force_login(session.student)
    rated = client.post(
        reverse("sessions:rating", args=[session.pk]),
        {"score": 5, "comment": "谢谢老师"},
        content_type="application/json",
    )
    forbidden = client.patch(
        reverse("sessions:question", args=[session.pk]), {"text": "改"}, content_type="application/json"
    )
    client.force_login(session.teacher)
    knowledge_points_named(["加法"])
    corrected = client.patch(
        reverse("sessions:question", args=[session.pk]),
        {"text": "3 + 5 = ?", "grade": 2, "knowledge_points": ["加法"]},
        content_type="application/json",
    )
    recording = client.get(reverse("sessions:recording", args=[session.pk]))

    assert (rated.status_code, rated.json()) == (200, {"score": 5, "comment": "谢谢老师"})
    assert forbidden.status_code == 403
    assert corrected.json() == {"text": "3 + 5 = ?", "subject": "math", "grade": 2, "knowledge_points": ["加法"]}
    assert recording.json()["status"] == "pending"
    assert Recording.objects.get().status == "pending"


@pytest.mark.parametrize(
    ("named", "status", "body"),
    [
        ("science", 200, {"text": "3加5等于几？", "subject": "science", "grade": 3, "knowledge_points": []}),
        ("科学", 200, {"text": "3加5等于几？", "subject": "science", "grade": 3, "knowledge_points": []}),
        ("炼金术", 400, {"error": {"code": "unknown_subject", "message": "未知的学科。", "field": "subject"}}),
    ],
)
def test_the_teacher_corrects_the_subject_by_its_code_or_its_name(client, named, status, body):
    session = opened_session(grade=3)
    client.force_login(session.teacher)

    response = client.patch(
        reverse("sessions:question", args=[session.pk]), {"subject": named}, content_type="application/json"
    )

    session.refresh_from_db()
    assert (response.status_code, response.json()) == (status, body)
    assert getattr(session.library_subject, "code", None) == ("science" if status == 200 else None)
