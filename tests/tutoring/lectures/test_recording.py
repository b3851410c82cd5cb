import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from media.errors import MediaProcessingError
from tests.factories import (
    CityFactory,
    EntryFactory,
    LectureFactory,
    StudentFactory,
    lecture_given,
    lecture_later,
    lecture_stroke,
)
from tests.media.test_board import RED, WHITE, color_at, ffprobe, frame_at, near
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureEvent, LectureFact, LectureRecording, LectureSlide
from tutoring.library.models import Answer, Entry

pytestmark = pytest.mark.django_db


def page_changes(lecture: Lecture) -> list[tuple[int, int]]:
    return list(LectureEvent.objects.filter(lecture=lecture, type="board.page").values_list("at_ms", "seq"))


def test_ending_a_lecture_queues_its_recording(redis_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lecture = lecture_given()

    recording = LectureRecording.objects.get()
    assert (recording.lecture_id, recording.status, recording.attempts) == (lecture.pk, "pending", 0)
    queued = [json.loads(message) for message in redis_client.lrange("media", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued] == [
        ("tutoring.lectures.tasks.lecture_recording_render", f"({recording.pk},)")
    ]


def test_the_replay_is_rendered_with_chapters_and_answers_the_questions_it_covers():
    covered = EntryFactory(text="一个正方形的边长是6厘米，它的周长是多少厘米？", knowledge_points=["周长"])
    other = EntryFactory(text="3 + 5 = ?", grade=4)
    withdrawn = EntryFactory(text="7 - 2 = ?", status=Entry.Status.WITHDRAWN)
    EntryFactory(text="9 + 9 = ?")  # not covered
    lecture = lecture_given()
    lecture.entries.set([covered, other, withdrawn])
    recording = LectureRecording.objects.get()

    services.lecture_recording_render(recording_id=recording.pk)

    recording.refresh_from_db()
    (first_change, _), (second_change, _), (_no_change, _) = page_changes(lecture)
    assert (recording.status, recording.attempts, recording.error) == ("published", 1, "")
    assert recording.chapters == [
        {"seconds": first_change / 1000, "page": 1, "title": "第 2 页"},
        {"seconds": second_change / 1000, "page": 0, "title": "第 1 页"},
    ]
    info = ffprobe(recording.video.path)
    [video] = [stream for stream in info["streams"] if stream["codec_type"] == "video"]
    [audio] = [stream for stream in info["streams"] if stream["codec_type"] == "audio"]
    assert (video["codec_name"], video["width"], video["height"], audio["codec_name"]) == ("h264", 720, 960, "aac")
    log_seconds = selectors.lecture_replay(lecture)["duration_ms"] / 1000
    assert 4 <= log_seconds < 5
    assert abs(float(info["format"]["duration"]) - log_seconds) < 0.5
    assert abs(recording.duration_seconds - log_seconds) < 0.5
    assert recording.size_bytes == recording.video.size
    assert recording.poster.read(3) == b"\xff\xd8\xff"  # a JPEG
    published = Entry.objects.filter(external_id__startswith="lecture-").order_by("id")
    assert [
        (
            entry.external_id,
            entry.text,
            entry.subject.code,
            entry.grade,
            [tag.point.name for tag in entry.knowledge_point_tags.all()],
            entry.status,
        )
        for entry in published
    ] == [
        (f"lecture-{lecture.pk}-entry-{covered.pk}", covered.text, "math", 3, ["周长"], "active"),
        (f"lecture-{lecture.pk}-entry-{other.pk}", "3 + 5 = ?", "math", 4, [], "active"),
    ]
    answers = Answer.objects.filter(entry__in=published).order_by("entry_id")
    assert [
        (answer.entry_id, answer.kind, answer.status, answer.video.name, answer.poster.name, answer.created_by_id)
        for answer in answers
    ] == [
        (entry.pk, "video", "ready", recording.video.name, recording.poster.name, lecture.lecturer_id)
        for entry in published
    ]
    publication = LectureFact.objects.get(lecture=lecture, kind="published")
    assert (publication.user_id, publication.data) == (
        lecture.lecturer_id,
        {"entries": [entry.pk for entry in published]},
    )


def red_slide() -> SimpleUploadedFile:
    image = io.BytesIO()
    Image.new("RGB", (1600, 900), RED).save(image, format="PNG")
    return SimpleUploadedFile("slide.png", image.getvalue())


def test_the_replay_shows_the_slides_the_lecturer_put_on_the_pages():
    lecture = LectureFactory()
    deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[red_slide()])
    services.lecture_slides_render(deck_id=deck.pk)
    slide = LectureSlide.objects.get()
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    placed = {"v": 1, "type": "board.background", "page": 0, "attachment": slide.pk, "x": 0, "y": 0, "width": 1200}
    lecture_later(lecture, [placed, lecture_stroke(1, 0)])
    lecture_later(lecture, [])
    services.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    recording = LectureRecording.objects.get()

    services.lecture_recording_render(recording_id=recording.pk)

    recording.refresh_from_db()
    assert recording.status == "published"
    frame = frame_at(recording.video.path, 1.5)
    # 1600x900 pixels shown 1200 units wide at the top left: 675 units high.
    assert near(color_at(frame, 1000, 300), RED, 40)
    assert near(color_at(frame, 1000, 640), RED, 40)
    assert near(color_at(frame, 1000, 720), WHITE)


def test_a_second_render_does_nothing():
    lecture = lecture_given()
    recording = LectureRecording.objects.get()
    services.lecture_recording_render(recording_id=recording.pk)
    rendered = LectureRecording.objects.values().get()

    services.lecture_recording_render(recording_id=recording.pk)

    assert LectureRecording.objects.values().get() == rendered
    assert LectureFact.objects.filter(lecture=lecture, kind="published").count() == 1


def test_a_failed_render_is_recorded_and_can_run_again():
    lecture = LectureFactory()
    lecture.entries.set([EntryFactory()])
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    lecture_later(lecture, [lecture_stroke(1, 0)])
    # A log the renderer cannot read (written by an older server, say): a stroke whose points are not points.
    LectureEvent.objects.create(lecture=lecture, seq=2, at_ms=1500, type="board.stroke", data={"points": "?"})
    services.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    recording = LectureRecording.objects.get()

    with pytest.raises(MediaProcessingError):
        services.lecture_recording_render(recording_id=recording.pk)
    with pytest.raises(MediaProcessingError):
        services.lecture_recording_render(recording_id=recording.pk)  # the task's retry

    recording.refresh_from_db()
    assert (recording.status, recording.attempts, recording.video.name, recording.chapters) == ("failed", 2, "", [])
    assert recording.error != ""
    assert (Entry.objects.count(), Answer.objects.count(), LectureEvent.objects.count()) == (1, 1, 2)  # the log stays
    assert not LectureFact.objects.filter(kind="published").exists()


def student_in(city):
    return StudentFactory(profile__school__district__city=city, profile__grade=3)


@pytest.mark.parametrize(
    ("variant", "content_type", "start"),
    [("video", "video/mp4", b"\x00\x00\x00"), ("poster", "image/jpeg", b"\xff\xd8\xff")],
)
def test_the_replay_streams_to_whoever_may_see_the_lecture(client, variant, content_type, start):
    city = CityFactory()
    lecture = lecture_given(city=city)
    services.lecture_recording_render(recording_id=LectureRecording.objects.get().pk)
    url = reverse("lectures:recording-file", args=[lecture.pk, variant])

    client.force_login(student_in(city))
    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, content_type)
    assert b"".join(response.streaming_content)[:3] == start

    client.force_login(student_in(CityFactory(name="杭州市")))
    assert client.get(url).status_code == 404


def test_no_replay_is_served_before_it_is_published_nor_an_unknown_file(client):
    city = CityFactory()
    lecture = lecture_given(city=city)
    client.force_login(student_in(city))

    assert client.get(reverse("lectures:recording-file", args=[lecture.pk, "video"])).status_code == 404
    services.lecture_recording_render(recording_id=LectureRecording.objects.get().pk)
    assert client.get(reverse("lectures:recording-file", args=[lecture.pk, "original"])).status_code == 404
    assert client.get(reverse("lectures:recording-file", args=[lecture.pk, "video"])).status_code == 200
