import json
import math
import struct
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from media import board
from media.board import BoardRecording, BoardState, board_render, board_replay
from media.errors import MediaProcessingError

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)
GREEN = (0, 255, 0)
YELLOW_HIGHLIGHT = (255, 255, 166)  # #ffff00 at 35 % on white
RAW_RGB = ("-f", "rawvideo", "-pix_fmt", "rgb24", "-")


def log(*entries: tuple[int, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored board events from (at, type, payload), numbered from 1."""
    return [
        {"seq": seq, "at": at, "by": "teacher", "type": kind, **payload}
        for seq, (at, kind, payload) in enumerate(entries, 1)
    ]


def stroke(
    stroke_id: str,
    points: list[list[int]],
    *,
    page: int = 0,
    tool: str = "pen",
    color: str = "#000000",
    width: int = 20,
    end: bool = True,
) -> dict[str, Any]:
    return {
        "stroke": stroke_id,
        "page": page,
        "tool": tool,
        "color": color,
        "width": width,
        "points": points,
        "end": end,
    }


def line(x0: int, x1: int, y: int, *, dt: int = 0) -> list[list[int]]:
    """A horizontal line of two points, the second ``dt`` ms after the first."""
    return [[x0, y, 0], [x1, y, dt]]


def visible_ids(state: BoardState, page: int) -> list[str]:
    return [item.id for item in state.visible_strokes(page)]


# --- Replay -------------------------------------------------------------------------------------


def test_chunked_stroke_takes_its_style_from_the_first_chunk() -> None:
    events = log(
        (1000, "board.stroke", stroke("s1", [[10, 20, 0], [11, 21, 20], [12, 22, 40]], color="#102030", end=False)),
        (1100, "board.stroke", stroke("s1", [[13, 23, 60], [14, 24, 100]], page=3, tool="eraser", color="#ffffff")),
        (1200, "board.stroke", stroke("s1", [[99, 99, 150]])),  # after the end: ignored
    )

    state = board_replay(events)

    [drawn] = state.visible_strokes(0)
    assert (drawn.id, drawn.page, drawn.tool, drawn.color, drawn.width) == ("s1", 0, "pen", (16, 32, 48), 20)
    assert drawn.points == [(10, 20), (11, 21), (12, 22), (13, 23), (14, 24)]
    assert drawn.times == [960, 980, 1000, 1060, 1100]
    assert drawn.ended is True
    assert state.visible_strokes(3) == []


def test_point_times_never_go_back() -> None:
    # The second chunk arrived only 10 ms after the first but spans 200 ms of drawing.
    events = log(
        (1000, "board.stroke", stroke("s1", [[0, 0, 0], [1, 1, 50]], end=False)),
        (1010, "board.stroke", stroke("s1", [[2, 2, 100], [3, 3, 250]])),
        (30, "board.stroke", stroke("s2", [[0, 0, 0], [1, 1, 100]])),
    )

    state = board_replay(events)

    assert [item.times for item in state.visible_strokes(0)] == [[950, 1000, 1000, 1010], [0, 30]]


def test_undo_and_redo_of_a_stroke() -> None:
    state = BoardState()
    for event in log(
        (100, "board.stroke", stroke("a", line(0, 10, 5))),
        (200, "board.stroke", stroke("b", line(0, 10, 50))),
    ):
        state.apply(event)

    assert state.apply({"seq": 3, "at": 300, "type": "board.undo", "target": "a"}) == 0
    assert visible_ids(state, 0) == ["b"]
    assert state.apply({"seq": 4, "at": 310, "type": "board.undo", "target": "a"}) is None  # already hidden
    assert state.apply({"seq": 5, "at": 400, "type": "board.redo", "target": "a"}) == 0
    assert visible_ids(state, 0) == ["a", "b"]
    assert state.stroke_counts() == {0: 2}


def test_clear_hides_only_earlier_strokes_of_its_page_and_can_be_undone() -> None:
    events = log(
        (100, "board.stroke", stroke("a", line(0, 10, 5))),
        (200, "board.stroke", stroke("b", line(0, 10, 5), page=1)),
        (300, "board.clear", {"id": "c1", "page": 0}),
        (400, "board.stroke", stroke("d", line(0, 10, 5))),
    )

    state = board_replay(events)
    assert (visible_ids(state, 0), visible_ids(state, 1)) == (["d"], ["b"])
    assert state.stroke_counts() == {0: 1, 1: 1}

    state.apply({"seq": 5, "at": 500, "type": "board.undo", "target": "c1"})
    assert visible_ids(state, 0) == ["a", "d"]

    state.apply({"seq": 6, "at": 600, "type": "board.redo", "target": "c1"})
    state.apply({"seq": 7, "at": 700, "type": "board.undo", "target": "d"})
    assert visible_ids(state, 0) == []
    assert state.stroke_counts() == {1: 1}


def test_a_stroke_started_before_a_clear_stays_cleared() -> None:
    # Its first chunk came before the clear, its last after.
    events = log(
        (100, "board.stroke", stroke("a", [[0, 0, 0]], end=False)),
        (120, "board.clear", {"id": "c1", "page": 0}),
        (150, "board.stroke", stroke("a", [[5, 5, 50]])),
    )

    assert board_replay(events).visible_strokes(0) == []


def test_unknown_targets_and_types_are_ignored() -> None:
    events = log(
        (100, "board.stroke", stroke("a", line(0, 10, 5))),
        (200, "board.undo", {"target": "nobody"}),
        (300, "board.redo", {"target": "nobody"}),
        (400, "board.permission", {"student_draw": False, "student_speak": True}),
        (500, "board.sticker", {"x": 1}),
        (600, "chat.message", {"text": "老师好"}),
    )

    state = board_replay(events)

    assert (visible_ids(state, 0), state.current_page, state.laser) == (["a"], 0, None)


def test_eraser_is_an_undoable_stroke_that_does_not_count() -> None:
    events = log(
        (100, "board.stroke", stroke("a", line(0, 100, 5))),
        (200, "board.stroke", stroke("e", line(0, 100, 5), tool="eraser", width=40)),
    )

    state = board_replay(events)
    assert visible_ids(state, 0) == ["a", "e"]
    assert state.stroke_counts() == {0: 1}

    state.apply({"seq": 3, "at": 300, "type": "board.undo", "target": "e"})
    assert visible_ids(state, 0) == ["a"]


def test_pages_backgrounds_and_laser() -> None:
    events = log(
        (100, "board.background", {"page": 2, "attachment": 7, "x": 10, "y": 20, "width": 500}),
        (200, "board.page", {"page": 2}),
        (300, "board.background", {"page": 0, "attachment": 8, "x": 0, "y": 0, "width": 1200}),
        (400, "board.laser", {"x": 30, "y": 40}),
        (500, "board.background", {"page": 0, "attachment": None, "x": 0, "y": 0, "width": 0}),
    )

    state = board_replay(events)

    assert state.current_page == 2
    assert state.pages[2].background == board.Background(attachment=7, x=10, y=20, width=500)
    assert state.pages[0].background is None
    assert state.laser == board.Laser(x=30, y=40, at=400)
    # Placing the same photo again changes nothing; removing it changes page 2.
    same = {"seq": 6, "at": 600, "type": "board.background", "page": 2, "attachment": 7, "x": 10, "y": 20}
    assert state.apply({**same, "width": 500}) is None
    assert state.apply({**same, "seq": 7, "attachment": None}) == 2


# --- Rendering ----------------------------------------------------------------------------------


def write_wav(path: Path, rate: int, pieces: list[tuple[float, float, float]]) -> Path:
    """A mono 16-bit WAV of (seconds, frequency, amplitude) pieces; frequency 0 is silence."""
    samples = []
    for seconds, frequency, amplitude in pieces:
        samples += [amplitude * math.sin(2 * math.pi * frequency * n / rate) for n in range(round(seconds * rate))]
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(struct.pack(f"<{len(samples)}h", *(round(value * 32767) for value in samples)))
    return path


def render(
    tmp_path: Path,
    events: list[dict[str, Any]],
    *,
    duration_ms: int,
    audio: list[Path] | None = None,
    backgrounds: dict[int, Path] | None = None,
) -> BoardRecording:
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    return board_render(
        events=events,
        duration_ms=duration_ms,
        audio_paths=audio or [],
        backgrounds=backgrounds or {},
        dst=out / "session.mp4",
        poster=out / "session.jpg",
    )


def frame_at(video: Path, seconds: float) -> Image.Image:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds}", "-i", str(video), "-frames:v", "1", *RAW_RGB],
        check=True,
        capture_output=True,
    ).stdout
    return Image.frombytes("RGB", (720, 960), raw)


def color_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    """The mean colour of 5x5 pixels around board point x, y."""
    left, top = round(x * 0.6) - 2, round(y * 0.6) - 2
    return tuple(round(value) for value in ImageStat.Stat(image.crop((left, top, left + 5, top + 5))).mean)


def near(found: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 20) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


def audio_rms(video: Path, start: float, end: float) -> float:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        check=True,
        capture_output=True,
    ).stdout
    samples = struct.unpack(f"<{len(raw) // 2}h", raw)[round(start * 8000) : round(end * 8000)]
    return math.sqrt(sum(value * value for value in samples) / len(samples)) / 32767


def ffprobe(path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> BoardRecording:
    """A 5 s session with a photo, strokes, an undo, an eraser, a laser and two voices."""
    folder = tmp_path_factory.mktemp("lesson")
    photo = Image.new("RGB", (400, 200), RED)
    photo.paste(GREEN, (200, 0, 400, 200))
    photo.save(folder / "question.png")
    teacher = write_wav(folder / "teacher.wav", 16000, [(3.0, 440, 0.5)])
    student = write_wav(folder / "student.wav", 22050, [(3.5, 0, 0), (1.0, 660, 0.25)])
    events = log(
        # The photo: 500x250 board units at 600,1000 (red left half, green right half).
        (0, "board.background", {"page": 0, "attachment": 7, "x": 600, "y": 1000, "width": 500}),
        (1000, "board.stroke", stroke("ink", line(500, 1150, 1100), width=30)),
        (1000, "board.stroke", stroke("oops", line(100, 500, 700), color="#ff0000")),
        (
            1000,
            "board.stroke",
            stroke(
                "marker",
                [[100, 900, 0], [500, 900, 100], [100, 905, 200]],
                tool="highlighter",
                color="#ffff00",
                width=40,
            ),
        ),
        (1000, "board.laser", {"x": 200, "y": 1400}),
        # Drawn from 1.95 s to 2.0 s, in one chunk.
        (2000, "board.stroke", stroke("pen", [[100, 200, 0], [300, 200, 25], [500, 200, 50]])),
        # One chunk sent at 3.0 s for a line drawn from x=100 at 2.0 s to x=1100 at 3.0 s.
        (3000, "board.stroke", stroke("slow", [[100 + 100 * i, 400, 100 * i] for i in range(11)])),
        (3000, "board.undo", {"target": "oops"}),
        (3500, "board.stroke", stroke("erase", line(650, 1000, 1100, dt=100), tool="eraser", width=60)),
        (4200, "board.background", {"page": 0, "attachment": None, "x": 0, "y": 0, "width": 0}),
    )
    return render(folder, events, duration_ms=5000, audio=[teacher, student], backgrounds={7: folder / "question.png"})


def test_render_makes_a_phone_friendly_mp4(lesson: BoardRecording) -> None:
    info = ffprobe(lesson.video)

    [video] = [stream for stream in info["streams"] if stream["codec_type"] == "video"]
    [audio] = [stream for stream in info["streams"] if stream["codec_type"] == "audio"]
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (video["width"], video["height"], video["avg_frame_rate"]) == (720, 960, "15/1")
    assert (audio["codec_name"], audio["channels"], audio["sample_rate"]) == ("aac", 1, "48000")
    assert abs(float(video["duration"]) - 5.0) < 0.07
    assert abs(float(audio["duration"]) - 5.0) < 0.05
    data = lesson.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart
    assert (lesson.width, lesson.height, lesson.size_bytes) == (720, 960, len(data))
    assert lesson.duration_seconds == pytest.approx(5.0, abs=0.07)
    assert sorted(path.name for path in lesson.video.parent.iterdir()) == ["session.jpg", "session.mp4"]


def test_render_shows_a_stroke_from_when_it_was_drawn(lesson: BoardRecording) -> None:
    before, after = frame_at(lesson.video, 1.5), frame_at(lesson.video, 2.5)

    assert near(color_at(before, 300, 200), WHITE)
    assert near(color_at(after, 300, 200), BLACK, 40)
    assert near(color_at(after, 300, 230), WHITE)  # 20 units wide: 10 either side of y=200


def test_render_draws_points_when_they_were_drawn_not_when_their_chunk_arrived(lesson: BoardRecording) -> None:
    frame = frame_at(lesson.video, 2.5)

    assert near(color_at(frame, 200, 400), BLACK, 40)  # drawn at 2.1 s
    assert near(color_at(frame, 1000, 400), WHITE)  # drawn at 2.9 s
    assert near(color_at(frame_at(lesson.video, 3.2), 1000, 400), BLACK, 40)


def test_render_removes_an_undone_stroke_at_its_undo(lesson: BoardRecording) -> None:
    assert near(color_at(frame_at(lesson.video, 2.8), 300, 700), RED, 40)
    assert near(color_at(frame_at(lesson.video, 3.2), 300, 700), WHITE)


def test_render_places_the_background_scaled_under_the_strokes(lesson: BoardRecording) -> None:
    frame = frame_at(lesson.video, 0.5)

    # 400x200 pixels shown 500x250 units wide at 600,1000: red up to x=850, green to 1100.
    assert near(color_at(frame, 620, 1020), RED, 40)
    assert near(color_at(frame, 830, 1230), RED, 40)
    assert near(color_at(frame, 870, 1020), GREEN, 40)
    assert near(color_at(frame, 1080, 1230), GREEN, 40)
    for outside in [(580, 1020), (1120, 1020), (620, 980), (620, 1270)]:
        assert near(color_at(frame, *outside), WHITE), outside
    # The ink goes over the photo; once the photo is removed, it is white there.
    assert near(color_at(frame_at(lesson.video, 2.0), 700, 1100), BLACK, 40)
    assert near(color_at(frame_at(lesson.video, 4.6), 900, 1200), WHITE)


def test_render_eraser_removes_ink_but_not_the_photo(lesson: BoardRecording) -> None:
    frame = frame_at(lesson.video, 4.0)

    assert near(color_at(frame, 700, 1100), RED, 40)  # erased ink over the photo's red half
    assert near(color_at(frame, 950, 1100), GREEN, 40)
    assert near(color_at(frame, 560, 1100), BLACK, 40)  # before the eraser's start, off the photo
    assert near(color_at(frame, 1120, 1100), BLACK, 40)  # after its end


def test_render_highlighter_is_translucent_and_does_not_darken_itself(lesson: BoardRecording) -> None:
    frame = frame_at(lesson.video, 2.0)

    # The stroke goes over x=300 twice.
    assert near(color_at(frame, 300, 902), YELLOW_HIGHLIGHT, 12)


def test_render_shows_the_laser_for_a_moment(lesson: BoardRecording) -> None:
    assert near(color_at(frame_at(lesson.video, 1.2), 200, 1400), (229, 57, 53), 40)
    assert near(color_at(frame_at(lesson.video, 2.2), 200, 1400), WHITE)


def test_render_mixes_the_voices_at_their_levels(lesson: BoardRecording) -> None:
    # The teacher's 440 Hz tone (RMS 0.354) from 0 to 3 s, the student's (RMS 0.177) from 3.5 to 4.5 s.
    assert audio_rms(lesson.video, 0.5, 2.5) == pytest.approx(0.354, abs=0.03)
    assert audio_rms(lesson.video, 3.1, 3.4) < 0.01
    assert audio_rms(lesson.video, 3.7, 4.3) == pytest.approx(0.177, abs=0.02)
    assert audio_rms(lesson.video, 4.6, 5.0) < 0.01


def test_render_poster_is_the_final_board(lesson: BoardRecording) -> None:
    data = lesson.poster.read_bytes()
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(lesson.poster) as poster:
        assert (poster.format, poster.size) == ("JPEG", (720, 960))
        final = poster.convert("RGB")

    assert near(color_at(final, 300, 200), BLACK, 40)
    assert near(color_at(final, 300, 700), WHITE)  # undone
    assert near(color_at(final, 900, 1200), WHITE)  # the photo was removed
    assert near(color_at(final, 200, 1400), WHITE)  # no laser
    assert lesson.poster_page == 0


def test_render_without_voices_has_a_silent_track_and_poster_of_the_fullest_page(tmp_path: Path) -> None:
    events = log(
        (100, "board.stroke", stroke("a", line(100, 300, 100))),
        (200, "board.page", {"page": 1}),
        (300, "board.stroke", stroke("b", line(100, 300, 300), page=1)),
        (400, "board.stroke", stroke("c", line(100, 300, 500), page=1)),
        (500, "board.page", {"page": 0}),
    )

    recording = render(tmp_path, events, duration_ms=1500)

    [audio] = [stream for stream in ffprobe(recording.video)["streams"] if stream["codec_type"] == "audio"]
    assert (audio["codec_name"], audio["channels"]) == ("aac", 1)
    assert abs(float(audio["duration"]) - 1.5) < 0.05
    assert audio_rms(recording.video, 0, 1.5) == 0
    assert recording.poster_page == 1
    with Image.open(recording.poster) as poster:
        assert near(color_at(poster.convert("RGB"), 200, 500), BLACK, 40)
        assert near(color_at(poster.convert("RGB"), 200, 100), WHITE)
    assert near(color_at(frame_at(recording.video, 1.2), 200, 100), BLACK, 40)  # the page in view at the end


def test_render_leaves_out_events_after_the_end(tmp_path: Path) -> None:
    events = log(
        (100, "board.stroke", stroke("a", line(100, 300, 100))),
        (2000, "board.undo", {"target": "a"}),
    )

    recording = render(tmp_path, events, duration_ms=1000)

    assert recording.duration_seconds == pytest.approx(1.0, abs=0.07)
    with Image.open(recording.poster) as poster:
        assert near(color_at(poster.convert("RGB"), 200, 100), BLACK, 40)


def expect_failure(tmp_path: Path, events: list[dict[str, Any]], **options: Any) -> MediaProcessingError:
    with pytest.raises(MediaProcessingError) as caught:
        render(tmp_path, events, duration_ms=2000, **options)
    assert caught.value.code == "transcode_failed"
    assert list((tmp_path / "out").iterdir()) == []  # nothing half-written, no temporary files left
    return caught.value


def test_render_with_a_bad_background_fails_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    events = log((100, "board.background", {"page": 0, "attachment": 7, "x": 0, "y": 0, "width": 600}))

    assert "unreadable" in expect_failure(tmp_path / "a", events, backgrounds={7: tmp_path / "broken.jpg"}).args[-1]
    assert "unreadable" in expect_failure(tmp_path / "b", events, backgrounds={7: tmp_path / "gone.jpg"}).args[-1]
    assert "no image for" in expect_failure(tmp_path / "c", events).args[-1]


def test_render_ffmpeg_failure_fails_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "voice.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))
    events = log((100, "board.stroke", stroke("a", line(100, 300, 100))))

    error = expect_failure(tmp_path, events, audio=[tmp_path / "voice.wav"])

    assert "ffmpeg exited with" in error.args[-1]


def test_render_malformed_event_fails_and_leaves_nothing(tmp_path: Path) -> None:
    events = log((100, "board.stroke", stroke("a", line(100, 300, 100), color="black")))

    assert "seq 1" in expect_failure(tmp_path, events).args[-1]


def test_render_time_out_ends_ffmpeg_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board, "_TIMEOUT_BASE_SECONDS", 0.2)
    monkeypatch.setattr(board, "_TIMEOUT_PER_SECOND", 0)
    events = log((100, "board.stroke", stroke("a", line(100, 300, 100))))

    with pytest.raises(MediaProcessingError) as caught:
        render(tmp_path, events, duration_ms=60_000)

    assert "ran over" in caught.value.args[-1]
    assert list((tmp_path / "out").iterdir()) == []
