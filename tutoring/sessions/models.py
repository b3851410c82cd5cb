"""Same-screen sessions: one teacher, one student and a shared board, recorded into an answer video.

``SessionEvent`` is the session's log (board and chat, numbered by ``seq``): appended before anything is
relayed, never changed (PostgreSQL refuses UPDATE and DELETE), replayed to reconnecting clients and rendered
into the video with the ``AudioChunk`` voice recordings. ``SessionFact`` is the append-only record for
stipends and evaluation: start, presence, end, rating, corrections.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tutoring.library.models import Entry
from tutoring.questions.models import Question
from tutoring.routing.models import Ticket
from tutoring.schools.models import Subject


class Role(models.TextChoices):
    TEACHER = "teacher", _("teacher")
    STUDENT = "student", _("student")
    OBSERVER = "observer", _("observer")


class TutoringSession(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ENDED = "ended", _("ended")

    class EndReason(models.TextChoices):
        TEACHER = "teacher", _("ended by the teacher")
        ABANDONED = "abandoned", _("both sides left")

    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, related_name="session", verbose_name=_("waiting question")
    )
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("question")
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_taught", verbose_name=_("teacher")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_attended", verbose_name=_("student")
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_reason = models.CharField(_("end reason"), max_length=12, choices=EndReason.choices, blank=True)
    last_seq = models.PositiveIntegerField(_("last event number"), default=0)
    student_draw = models.BooleanField(_("student may draw"), default=False)
    student_speak = models.BooleanField(_("student may speak"), default=False)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    # The teacher's corrections of the question, for the library entry the recording becomes.
    library_text = models.TextField(_("question text for the library"), blank=True)
    library_subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("subject")
    )
    library_grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    knowledge_points = models.JSONField(_("knowledge points"), default=list, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return f"{self.pk} {self.question_id}"

    def role_of(self, user_id: int) -> str | None:
        return {self.teacher_id: Role.TEACHER, self.student_id: Role.STUDENT}.get(user_id)


class SessionEvent(models.Model):
    """One board or chat event, in the order the server accepted it."""

    session = models.ForeignKey(
        TutoringSession, on_delete=models.PROTECT, related_name="events", verbose_name=_("session")
    )
    seq = models.PositiveIntegerField(_("event number"))
    at_ms = models.PositiveIntegerField(_("time (ms)"))  # since the session started, server clock
    role = models.CharField(_("role"), max_length=8, choices=Role.choices)
    type = models.CharField(_("event type"), max_length=24)
    data = models.JSONField(_("details"))

    class Meta:
        verbose_name = _("session event")
        verbose_name_plural = _("session events")
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="session_event_unique_seq")]
        ordering = ["session", "seq"]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.type}"

    def as_event(self) -> dict:
        return {**self.data, "type": self.type, "seq": self.seq, "at": self.at_ms, "by": self.role}


class SessionConnection(models.Model):
    """A participant's open socket; presence is "any open connection of that role"."""

    session = models.ForeignKey(
        TutoringSession, on_delete=models.CASCADE, related_name="connections", verbose_name=_("session")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices)
    channel_name = models.CharField(_("channel name"), max_length=128, unique=True)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    # The client's pings; a killed server leaves no left_at.
    seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session connection")
        verbose_name_plural = _("session connections")

    def __str__(self) -> str:
        return f"{self.session_id} {self.role} {self.channel_name}"


class ChatAttachment(models.Model):
    """A photo or voice clip sent in a session's chat: checked like intake uploads, stored only processed
    (photos EXIF-stripped and downscaled, voice as AAC), never as uploaded."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VOICE = "voice", _("voice clip")

    session = models.ForeignKey(
        TutoringSession, on_delete=models.PROTECT, related_name="chat_attachments", verbose_name=_("session")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    processed = models.FileField(_("processed file"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration in seconds"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat attachment")
        verbose_name_plural = _("chat attachments")

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.pk}"


class AudioChunk(models.Model):
    """A few seconds of one side's voice (PCM s16le, 16 kHz, mono), placed at its time in the session."""

    session = models.ForeignKey(
        TutoringSession, on_delete=models.PROTECT, related_name="audio_chunks", verbose_name=_("session")
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices)
    started_ms = models.PositiveIntegerField(_("starts at (ms)"))
    samples = models.PositiveIntegerField(_("samples"))
    file = models.FileField(_("file"), max_length=255)

    class Meta:
        verbose_name = _("voice recording")
        verbose_name_plural = _("voice recordings")
        ordering = ["session", "role", "started_ms", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.role} {self.started_ms} ms"


class Recording(models.Model):
    """The session rendered into a video, and its way into the library."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to render")
        RENDERING = "rendering", _("rendering")
        AWAITING_APPROVAL = "awaiting_approval", _("waiting for the teacher's approval")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")

    session = models.OneToOneField(
        TutoringSession, on_delete=models.PROTECT, related_name="recording", verbose_name=_("session")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("render attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    video = models.FileField(_("video"), max_length=255, blank=True)
    poster = models.FileField(_("poster"), max_length=255, blank=True)
    duration_seconds = models.FloatField(_("duration in seconds"), null=True, blank=True)
    size_bytes = models.PositiveIntegerField(_("size in bytes"), null=True, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("answered question")
    )

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        indexes = [
            # The sweep's read of what still waits to render: a few rows, not one per session ever held.
            models.Index(
                fields=["status"], condition=models.Q(status__in=["pending", "failed"]), name="recording_render_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.get_status_display()}"


class SessionFact(models.Model):
    """Append-only (PostgreSQL refuses UPDATE and DELETE): stipends and evaluation are computed from these."""

    class Kind(models.TextChoices):
        STARTED = "started", _("started")
        JOINED = "joined", _("joined")
        LEFT = "left", _("left")
        ENDED = "ended", _("ended")
        RATED = "rated", _("rated")
        CORRECTED = "corrected", _("question corrected")
        PUBLISHED = "published", _("video published")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    session = models.ForeignKey(
        TutoringSession, on_delete=models.PROTECT, related_name="facts", verbose_name=_("session")
    )
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

    class Meta:
        verbose_name = _("session fact")
        verbose_name_plural = _("session facts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.get_kind_display()}"
