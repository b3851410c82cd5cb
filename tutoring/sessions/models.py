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

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="session")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="sessions")
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_taught")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_attended")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_reason = models.CharField(_("end reason"), max_length=12, choices=EndReason.choices, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
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

    session = models.ForeignKey(TutoringSession, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at_ms = models.PositiveIntegerField()  # since the session started, server clock
    role = models.CharField(max_length=8, choices=Role.choices)
    type = models.CharField(max_length=24)
    data = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="session_event_unique_seq")]
        ordering = ["session", "seq"]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.type}"

    def as_event(self) -> dict:
        return {**self.data, "type": self.type, "seq": self.seq, "at": self.at_ms, "by": self.role}


class SessionConnection(models.Model):
    """A participant's open socket; presence is "any open connection of that role"."""

    session = models.ForeignKey(TutoringSession, on_delete=models.CASCADE, related_name="connections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices)
    channel_name = models.CharField(max_length=128, unique=True)
    joined_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)  # the client's pings; a killed server leaves no left_at
    left_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.session_id} {self.role} {self.channel_name}"


class ChatAttachment(models.Model):
    """A photo or voice clip sent in a session's chat: checked like intake uploads, stored only processed
    (photos EXIF-stripped and downscaled, voice as AAC), never as uploaded."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VOICE = "voice", _("voice clip")

    session = models.ForeignKey(TutoringSession, on_delete=models.PROTECT, related_name="chat_attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    processed = models.FileField(max_length=255)
    thumbnail = models.FileField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.pk}"


class AudioChunk(models.Model):
    """A few seconds of one side's voice (PCM s16le, 16 kHz, mono), placed at its time in the session."""

    session = models.ForeignKey(TutoringSession, on_delete=models.PROTECT, related_name="audio_chunks")
    role = models.CharField(max_length=8, choices=Role.choices)
    started_ms = models.PositiveIntegerField()
    samples = models.PositiveIntegerField()
    file = models.FileField(max_length=255)

    class Meta:
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

    session = models.OneToOneField(TutoringSession, on_delete=models.PROTECT, related_name="recording")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    video = models.FileField(max_length=255, blank=True)
    poster = models.FileField(max_length=255, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")

    def __str__(self) -> str:
        return f"{self.session_id} {self.status}"


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

    kind = models.CharField(max_length=12, choices=Kind.choices)
    session = models.ForeignKey(TutoringSession, on_delete=models.PROTECT, related_name="facts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind}"
