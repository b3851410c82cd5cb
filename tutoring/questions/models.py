from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tutoring.knowledge.models import KnowledgePointTag
from tutoring.schools.models import Subject, grade_validators


class Question(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSING = "processing", _("being understood")
        UNDERSTOOD = "understood", _("understood")
        FAILED = "failed", _("not understood")
        RESOLVED = "resolved", _("solved by an answered question")
        WAITING_TEACHER = "waiting_teacher", _("waiting for a teacher")
        WITH_TEACHER = "with_teacher", _("a teacher is answering")
        ANSWERED = "answered", _("answered by a teacher")
        CANCELLED = "cancelled", _("stopped waiting")

    class MatchOutcome(models.TextChoices):
        PENDING = "", _("not matched yet")
        SAME = "same", _("the same question was answered")
        SIMILAR = "similar", _("similar questions were answered")
        NONE = "none", _("no answered question fits")

    class TextSource(models.TextChoices):
        NONE = "", _("none yet")
        TYPED = "typed", _("typed by the student")
        OCR = "ocr", _("read from the photo")
        ASR = "asr", _("heard from the voice clip")
        MIXED = "mixed", _("typed and recognised")
        CORRECTED = "corrected", _("corrected by the student")

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="questions", verbose_name=_("student")
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="questions", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"), validators=grade_validators)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    typed_text = models.TextField(_("typed text"), blank=True)
    text = models.TextField(_("text"), blank=True)
    text_source = models.CharField(_("text source"), max_length=16, choices=TextSource.choices, blank=True)
    text_confidence = models.FloatField(_("text confidence"), null=True, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    understood_at = models.DateTimeField(_("understood at"), null=True, blank=True)
    match_outcome = models.CharField(_("match outcome"), max_length=8, choices=MatchOutcome.choices, blank=True)
    matched_at = models.DateTimeField(_("matched at"), null=True, blank=True)
    # The text's embedding (float16, L2-normalised) by the model named in vector_model, stored when the question is
    # matched (the matching encodes it anyway): the weekly clusters read it instead of encoding the week again.
    vector = models.BinaryField(_("embedding"), null=True, editable=False)
    vector_model = models.CharField(_("embedding model"), max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["student", "idempotency_key"], name="question_unique_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["student", "-created_at"], name="question_student_recent"),
            # The sweeps' reads of what still waits for understanding or for matching: a few rows, not the table.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status__in=["received", "processing"]),
                name="question_understanding_pending",
            ),
            models.Index(
                fields=["understood_at"],
                condition=models.Q(status="understood", match_outcome=""),
                name="question_matching_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject} {self.text[:30]}"


class Attachment(models.Model):
    """A photo or voice clip sent with a question.

    ``original`` is the raw upload exactly as received; it is kept until its
    processed form exists (photos: EXIF-transposed, stripped and downscaled;
    voice: AAC for playback), then deleted, so no location metadata outlives
    processing.
    """

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        VOICE = "voice", _("voice clip")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("question")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    content_type = models.CharField(_("content type"), max_length=32)
    size_bytes = models.PositiveIntegerField(_("size in bytes"))
    original = models.FileField(_("original upload"), max_length=255, blank=True)
    processed = models.FileField(_("processed file"), max_length=255, blank=True)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration in seconds"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    recognized_text = models.TextField(_("recognised text"), blank=True)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="attachment_unique_position"),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s %(position)s of question %(question)s") % {
            "kind": self.get_kind_display(),
            "position": self.position,
            "question": self.question_id,
        }


class QuestionKnowledgePoint(KnowledgePointTag):
    """A knowledge point of a question: suggested by the tagger when the question is matched (with its
    confidence), or chosen by the teacher who answered it, which replaces the tagger's."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="knowledge_point_tags", verbose_name=_("question")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("knowledge point of a question")
        verbose_name_plural = _("knowledge points of questions")
        ordering = ["question", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["question", "point"], name="question_knowledge_point_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id} {self.point_id}"
