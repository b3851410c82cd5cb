"""The library of answered questions: what the next student with the same question is offered first."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tutoring.knowledge.models import KnowledgePoint, KnowledgePointTag
from tutoring.questions.models import Question
from tutoring.schools.models import Subject, grade_validators


class Entry(models.Model):
    """An answered question: its text (and photo), subject, grade and knowledge points."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WITHDRAWN = "withdrawn", _("withdrawn")

    text = models.TextField(_("text"))
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="entries", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"), validators=grade_validators)
    knowledge_points = models.ManyToManyField(
        KnowledgePoint,
        through="EntryKnowledgePoint",
        related_name="entries",
        blank=True,
        verbose_name=_("knowledge points"),
    )
    photo = models.FileField(_("photo"), max_length=255, blank=True)
    external_id = models.CharField(_("external id"), max_length=128, null=True, blank=True, unique=True)
    source_question = models.ForeignKey(
        Question,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="library_entries",
        verbose_name=_("source question"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Every change that matters to the search index bumps this; index copies catch up from it.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    # The text's embedding (float16, L2-normalised) by the model named in vector_model: encoded once, by whichever
    # process first needs it, then read by every index copy. Written with QuerySet.update, which leaves updated_at
    # alone: storing a vector changes nothing the index has not already seen.
    vector = models.BinaryField(_("embedding"), null=True, editable=False)
    vector_model = models.CharField(_("embedding model"), max_length=255, blank=True, editable=False)
    # When the tagger last ran on the entry; empty while an entry given no knowledge point waits for it.
    tagged_at = models.DateTimeField(_("tagged at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("answered question")
        verbose_name_plural = _("answered questions")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.text[:40]

    def vector_forget(self) -> None:
        """Drop the stored embedding because the text changed; the next reader encodes the new text."""
        self.vector, self.vector_model = None, ""


class EntryKnowledgePoint(KnowledgePointTag):
    """A knowledge point of a library entry: given by a teacher or an import (these teach the tagger: they are the
    labelled neighbours it votes with), or suggested by the tagger for an entry given none."""

    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="knowledge_point_tags", verbose_name=_("answered question")
    )

    class Meta:
        verbose_name = _("knowledge point of an answered question")
        verbose_name_plural = _("knowledge points of answered questions")
        ordering = ["entry", "rank"]
        constraints = [models.UniqueConstraint(fields=["entry", "point"], name="entry_knowledge_point_unique")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.point_id}"


class Answer(models.Model):
    """A video (preferred) or a worked solution answering a library entry."""

    class Kind(models.TextChoices):
        VIDEO = "video", _("video")
        SOLUTION = "solution", _("worked solution")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("processing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="answers", verbose_name=_("answered question")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    solution = models.TextField(_("worked solution"), blank=True)
    original = models.FileField(_("original upload"), max_length=255, blank=True)
    video = models.FileField(_("video"), max_length=255, blank=True)
    poster = models.FileField(_("poster"), max_length=255, blank=True)
    duration_seconds = models.FloatField(_("duration in seconds"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["entry", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


class Match(models.Model):
    """A library entry offered to a student for their question, with its scores and label."""

    class Label(models.TextChoices):
        SAME = "same", _("the same question")
        SIMILAR = "similar", _("a similar question")

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="matches", verbose_name=_("question"))
    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="matches", verbose_name=_("answered question")
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    dense = models.FloatField(_("dense score"))
    lexical = models.FloatField(_("lexical score"))
    label = models.CharField(_("label"), max_length=8, choices=Label.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ["question", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["question", "entry"], name="match_unique_entry"),
            models.UniqueConstraint(fields=["question", "rank"], name="match_unique_rank"),
        ]

    def __str__(self) -> str:
        return gettext("%(label)s #%(rank)s for question %(question)s") % {
            "label": self.get_label_display(),
            "rank": self.rank,
            "question": self.question_id,
        }


class Feedback(models.Model):
    """What the student did with the matches: append-only, it is the deflection rate staff read."""

    class Choice(models.TextChoices):
        RESOLVED = "resolved", _("solved")
        STILL_STUCK = "still_stuck", _("still stuck")

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("question")
    )
    choice = models.CharField(_("choice"), max_length=16, choices=Choice.choices)
    # A match a student judged stays: deleting it alone is refused (with its question, both go).
    match = models.ForeignKey(
        Match, on_delete=models.RESTRICT, null=True, blank=True, related_name="+", verbose_name=_("match")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return gettext("%(choice)s on question %(question)s") % {
            "choice": self.get_choice_display(),
            "question": self.question_id,
        }
