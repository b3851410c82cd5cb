"""Broadcast lectures: one teacher (the lecturer) on a board with voice, many students watching live, then the
recording on demand.

``Lecture`` is the schedule and the live state. ``LectureEvent`` is its log (board protocol v1 of
``media/board.py``, written only by the studio), numbered by ``seq``, appended before it is broadcast, never
changed; ``LectureAudioChunk`` the lecturer's voice in chunks at their time. ``LectureRecording`` is the replay
rendered from both after the end. ``LectureSlideDeck`` holds the slides uploaded for a lecture until a
``media`` task renders them into ``LectureSlide`` pages; the photos of the library questions it covers are
``LectureSlide``s too, and the studio's ``board.background`` places a slide by its id. ``LectureFact`` is the
append-only record for teaching-research statistics and stipends: scheduling, sign-ups, joins and leaves (minutes
watched), the start, the end, the students' questions and upvotes, the moderation, the quick checks (polls) and
their answers, hand-raises and their outcome, the replay's publication and the stretches of it played. PostgreSQL
refuses UPDATE and DELETE on the log and the facts.

The interaction's live state: ``LectureQuestion`` (a student's question, perhaps with a ``LectureQuestionPhoto``,
upvoted by others, answered, pinned or hidden by the lecturer or a moderator), ``LectureUpvote`` (one per student
and question), ``LecturePoll`` (a quick check, at most one open at a time), ``LecturePollAnswer`` (one per student
and poll) and ``LectureHand`` (a raised hand, perhaps invited to speak or draw).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tutoring.library.models import Entry
from tutoring.schools.models import City, District, GradeBand, School, Subject

MAX_PLANNED_MINUTES = 180


class Lecture(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        LIVE = "live", _("live")
        ENDED = "ended", _("ended")
        CANCELLED = "cancelled", _("cancelled")

    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    lecturer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lectures_given",
        limit_choices_to={"role": "teacher"},
        verbose_name=_("lecturer"),
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+", verbose_name=_("subject"))
    grade_band = models.ForeignKey(GradeBand, on_delete=models.PROTECT, related_name="+", verbose_name=_("grade band"))
    # Who may watch: the students of a city, or of one district, or of one school.
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="+", verbose_name=_("city"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    planned_minutes = models.PositiveSmallIntegerField(
        _("planned length in minutes"), validators=[MinValueValidator(5), MaxValueValidator(MAX_PLANNED_MINUTES)]
    )
    knowledge_points = models.JSONField(_("knowledge points"), default=list, blank=True)
    entries = models.ManyToManyField(
        Entry, blank=True, related_name="lectures", verbose_name=_("answered questions it covers")
    )
    moderators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="lectures_moderated",
        limit_choices_to={"role": "teacher"},
        verbose_name=_("moderators"),
        help_text=_("Teachers who moderate the students' questions and run quick checks beside the lecturer."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    last_seq = models.PositiveIntegerField(_("last event number"), default=0)
    chat_open = models.BooleanField(_("chat open"), default=False)
    pinned_question = models.ForeignKey(
        "LectureQuestion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pinned_in",
        verbose_name=_("pinned question"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("lecture")
        verbose_name_plural = _("lectures")
        ordering = ["starts_at", "id"]
        permissions = [("give_lectures", _("Can give lectures"))]

    def __str__(self) -> str:
        return self.title


class LectureSignup(models.Model):
    """A student's 预约: told when the lecture starts, moves or is cancelled."""

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="signups", verbose_name=_("lecture"))
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lecture_signups", verbose_name=_("student")
    )
    created_at = models.DateTimeField(_("signed up at"), auto_now_add=True)

    class Meta:
        verbose_name = _("lecture sign-up")
        verbose_name_plural = _("lecture sign-ups")
        constraints = [models.UniqueConstraint(fields=["lecture", "student"], name="lecture_signup_once")]

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.student_id}"


class LectureEvent(models.Model):
    """One board event of the studio, in the order the server accepted it (board protocol v1)."""

    lecture = models.ForeignKey(Lecture, on_delete=models.PROTECT, related_name="events", verbose_name=_("lecture"))
    seq = models.PositiveIntegerField(_("number"))
    at_ms = models.PositiveIntegerField(_("time since the start (ms)"))
    type = models.CharField(_("type"), max_length=24)
    data = models.JSONField(_("content"))
    # The lecturer's, or a student's the lecturer invited to draw (board protocol v1's "by").
    by = models.CharField(_("by"), max_length=8, default="teacher")

    class Meta:
        verbose_name = _("lecture event")
        verbose_name_plural = _("lecture events")
        constraints = [models.UniqueConstraint(fields=["lecture", "seq"], name="lecture_event_unique_seq")]
        ordering = ["lecture", "seq"]

    def __str__(self) -> str:
        return f"{self.lecture_id}#{self.seq} {self.type}"

    EVENT_FIELDS = ("data", "type", "seq", "at_ms", "by")  # what ``event`` takes, in its order

    @staticmethod
    def event(data: dict, kind: str, seq: int, at_ms: int, by: str) -> dict:
        """The event as the studio's socket relayed it, from its stored fields (``EVENT_FIELDS``): a log read by
        ``values_list`` makes no model instance (a 45-minute lecture's log is 54,000 events)."""
        return {**data, "type": kind, "seq": seq, "at": at_ms, "by": by}

    def as_event(self) -> dict:
        return self.event(self.data, self.type, self.seq, self.at_ms, self.by)


class LectureAudioChunk(models.Model):
    """A few seconds of the lecturer's voice (PCM s16le, 16 kHz, mono), placed at its time in the lecture."""

    lecture = models.ForeignKey(
        Lecture, on_delete=models.PROTECT, related_name="audio_chunks", verbose_name=_("lecture")
    )
    started_ms = models.PositiveIntegerField(_("starts at (ms)"))
    samples = models.PositiveIntegerField(_("samples"))
    file = models.FileField(_("file"), max_length=255)

    class Meta:
        verbose_name = _("lecture voice recording")
        verbose_name_plural = _("lecture voice recordings")
        ordering = ["lecture", "started_ms", "id"]

    def __str__(self) -> str:
        return f"{self.lecture_id} @{self.started_ms} ms"


class LectureConnection(models.Model):
    """A socket watching a lecture now (or the studio's): the live audience is the open ones."""

    lecture = models.ForeignKey(
        Lecture, on_delete=models.CASCADE, related_name="connections", verbose_name=_("lecture")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=10)
    channel_name = models.CharField(max_length=200, unique=True)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lecture connection")
        verbose_name_plural = _("lecture connections")
        indexes = [models.Index(fields=["lecture", "left_at"], name="lecture_connection_open")]

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.user_id}"


class LectureRecording(models.Model):
    """The lecture rendered into a video with chapters at its page changes: its replay on demand, and a video
    answer in the library for each answered question it covers."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to render")
        RENDERING = "rendering", _("rendering")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")

    lecture = models.OneToOneField(
        Lecture, on_delete=models.PROTECT, related_name="recording", verbose_name=_("lecture")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("render attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    video = models.FileField(_("video"), max_length=255, blank=True)
    poster = models.FileField(_("poster"), max_length=255, blank=True)
    duration_seconds = models.FloatField(_("duration in seconds"), null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    # One per page change: {"seconds": its time in the video, "page": the page shown (from 0), "title": "第 N 页"}.
    chapters = models.JSONField(_("chapters"), default=list, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lecture recording")
        verbose_name_plural = _("lecture recordings")

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.get_status_display()}"


class LectureSlideDeck(models.Model):
    """The slides uploaded for a lecture (one PDF or several pictures), kept as uploaded only until a ``media``
    task has rendered them into ``LectureSlide`` pages; replaced by a new upload before the lecture starts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to render")
        RENDERING = "rendering", _("rendering")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    lecture = models.OneToOneField(
        Lecture, on_delete=models.CASCADE, related_name="slide_deck", verbose_name=_("lecture")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    uploads = models.JSONField(_("uploaded files"), default=list, blank=True)  # stored names, until rendered
    error = models.TextField(_("error"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lecture slides")
        verbose_name_plural = _("lecture slides")

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.get_status_display()}"


class LectureSlide(models.Model):
    """A picture the lecturer may put on a page of the board: a page of the lecture's slides (``number`` from
    1), or the photo of a library question the lecture covers (``entry``). A JPEG without metadata, at most
    SLIDE_SIDE pixels a side, with a thumbnail."""

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="slides", verbose_name=_("lecture"))
    number = models.PositiveSmallIntegerField(_("page of the slides"), null=True, blank=True)
    entry = models.ForeignKey(
        Entry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered question (its photo)"),
    )
    image = models.FileField(_("slide picture"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))

    class Meta:
        verbose_name = _("slide")
        verbose_name_plural = _("slides")
        ordering = ["lecture", "number", "entry_id"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "number"], name="lecture_slide_unique_number"),
            models.UniqueConstraint(fields=["lecture", "entry"], name="lecture_slide_unique_entry"),
            models.CheckConstraint(
                condition=models.Q(number__isnull=True) ^ models.Q(entry__isnull=True),
                name="lecture_slide_page_or_photo",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.number if self.number is not None else f'entry {self.entry_id}'}"


class LectureFact(models.Model):
    """Append-only (PostgreSQL refuses UPDATE and DELETE): statistics and stipends are computed from these."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        MOVED = "moved", _("moved")
        CANCELLED = "cancelled", _("cancelled")
        SIGNED_UP = "signed_up", _("signed up")
        SIGNUP_WITHDRAWN = "signup_withdrawn", _("sign-up withdrawn")
        STARTED = "started", _("started")
        JOINED = "joined", _("joined")
        LEFT = "left", _("left")
        ENDED = "ended", _("ended")
        PUBLISHED = "published", _("replay published")
        ASKED = "asked", _("question asked")
        UPVOTED = "upvoted", _("question upvoted")
        QUESTION_ANSWERED = "question_answered", _("question marked answered")
        QUESTION_PINNED = "question_pinned", _("question pinned")
        QUESTION_UNPINNED = "question_unpinned", _("question unpinned")
        QUESTION_HIDDEN = "question_hidden", _("question hidden")
        POLL_OPENED = "poll_opened", _("quick check opened")
        POLL_ANSWERED = "poll_answered", _("quick check answered")
        POLL_CLOSED = "poll_closed", _("quick check closed")
        HAND_RAISED = "hand_raised", _("hand raised")
        HAND_LOWERED = "hand_lowered", _("hand lowered")
        HAND_INVITED = "hand_invited", _("invited to speak or draw")
        HAND_ENDED = "hand_ended", _("turn ended")
        CHAT_SWITCHED = "chat_switched", _("chat switched on or off")
        REPLAY_WATCHED = "replay_watched", _("replay watched")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    lecture = models.ForeignKey(Lecture, on_delete=models.PROTECT, related_name="facts", verbose_name=_("lecture"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    # A fact reported by a client carries the client's key of it: the same report sent again appends nothing. NULL
    # for every other fact: NULLs are distinct in the unique constraint, where empty strings would collide.
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("lecture fact")
        verbose_name_plural = _("lecture facts")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "user", "idempotency_key"], name="lecture_fact_reported_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.lecture_id}"


class LectureQuestionPhoto(models.Model):
    """A photo a student sends with a question: uploaded first, checked and processed like a question's photo at
    intake (upright, no metadata, with a thumbnail), then named by the question asked with it. One never asked
    with is deleted when the lecture ends."""

    lecture = models.ForeignKey(
        Lecture, on_delete=models.CASCADE, related_name="question_photos", verbose_name=_("lecture")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    image = models.FileField(_("photo"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("lecture question photo")
        verbose_name_plural = _("lecture question photos")

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.student_id} #{self.pk}"


class LectureQuestion(models.Model):
    """A student's question in the lecture's stream: shown to the others without a name, ranked by upvotes."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        HIDDEN = "hidden", _("hidden")

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="questions", verbose_name=_("lecture"))
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    text = models.CharField(_("text"), max_length=300)
    photo = models.OneToOneField(
        LectureQuestionPhoto,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="question",
        verbose_name=_("photo"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)

    class Meta:
        verbose_name = _("lecture question")
        verbose_name_plural = _("lecture questions")

    def __str__(self) -> str:
        return self.text[:40]


class LectureUpvote(models.Model):
    lecture_question = models.ForeignKey(
        LectureQuestion, on_delete=models.CASCADE, related_name="upvoted_by", verbose_name=_("question")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    created_at = models.DateTimeField(_("upvoted at"), default=timezone.now)

    class Meta:
        verbose_name = _("upvote")
        verbose_name_plural = _("upvotes")
        constraints = [
            models.UniqueConstraint(fields=["lecture_question", "student"], name="lecture_upvote_once"),
        ]

    def __str__(self) -> str:
        return f"{self.lecture_question_id} {self.student_id}"


MAX_POLL_OPTIONS = 6


class LecturePoll(models.Model):
    """A quick check: 2-6 options, or a number to give. Students answer once while it is open; its
    distribution shows to the lecturer and the moderators live, and to everyone once closed."""

    class Kind(models.TextChoices):
        CHOICE = "choice", _("choose an option")
        NUMBER = "number", _("give a number")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="polls", verbose_name=_("lecture"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    prompt = models.CharField(_("prompt"), max_length=200, blank=True)
    options = models.JSONField(_("options"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("quick check")
        verbose_name_plural = _("quick checks")
        constraints = [
            models.UniqueConstraint(
                fields=["lecture"], condition=models.Q(status="open"), name="lecture_poll_one_open"
            ),
        ]

    def __str__(self) -> str:
        return self.prompt or f"{self.lecture_id} #{self.pk}"


class LecturePollAnswer(models.Model):
    poll = models.ForeignKey(
        LecturePoll, on_delete=models.CASCADE, related_name="answers", verbose_name=_("quick check")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    choice = models.PositiveSmallIntegerField(_("option"), null=True, blank=True)
    number = models.DecimalField(_("number"), max_digits=14, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        verbose_name = _("quick check answer")
        verbose_name_plural = _("quick check answers")
        constraints = [models.UniqueConstraint(fields=["poll", "student"], name="lecture_poll_answer_once")]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.student_id}"


class LectureHand(models.Model):
    """A student's raised hand: waiting, then perhaps invited by the lecturer to speak or to draw (one student at a
    time), until the lecturer takes the turn back, the student lowers the hand or the lecture ends."""

    class Status(models.TextChoices):
        RAISED = "raised", _("raised")
        INVITED = "invited", _("invited")
        DONE = "done", _("done")

    class Mode(models.TextChoices):
        SPEAK = "speak", _("speak")
        DRAW = "draw", _("draw")

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="hands", verbose_name=_("lecture"))
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RAISED)
    mode = models.CharField(_("invited to"), max_length=10, choices=Mode.choices, blank=True)
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("raised hand")
        verbose_name_plural = _("raised hands")
        constraints = [
            models.UniqueConstraint(
                fields=["lecture", "student"],
                condition=models.Q(status__in=["raised", "invited"]),
                name="lecture_hand_one_up",
            ),
            models.UniqueConstraint(
                fields=["lecture"], condition=models.Q(status="invited"), name="lecture_hand_one_invited"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lecture_id} {self.student_id} {self.status}"


class LectureChatMessage(models.Model):
    """A student's short message in the lecture's chat, while the lecturer has it switched on; shown to everyone
    without a name."""

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="chat", verbose_name=_("lecture"))
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    text = models.CharField(_("text"), max_length=100)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        indexes = [models.Index(fields=["lecture", "-created_at"], name="lecture_chat_recent")]

    def __str__(self) -> str:
        return self.text[:40]
