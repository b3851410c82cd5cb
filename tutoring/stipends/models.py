"""The workload ledger (工作台账): each teacher's work of each local day, derived from the append-only facts of
routing, sessions and lectures by ``services.ledger_build`` and rebuilt whole whenever asked: it is a reading of
the facts, never a record of its own, so nobody edits a line (the admin shows them read-only)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LedgerLine(models.Model):
    """One piece of a teacher's day: their duty time, one session, one lecture or one published video; with the
    facts it was read from and the counting settings it was read with."""

    class Kind(models.TextChoices):
        DUTY = "duty", _("duty time")
        SESSION = "session", _("answering session")
        LECTURE = "lecture", _("lecture given")
        VIDEO = "video", _("video published")

    class Flag(models.TextChoices):
        NONE = "", _("none")
        SHORT = "short", _("shorter than the minimum")
        NO_TEACHER_ACTIVITY = "no_teacher_activity", _("no board, voice or chat from the teacher")

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("teacher")
    )
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # What the line is about, unique within the teacher's day: "duty", "session:<id>", "lecture:<id>",
    # "session-video:<session id>" or "lecture-video:<lecture id>".
    source = models.CharField(_("source"), max_length=40)
    counted_ms = models.PositiveBigIntegerField(_("counted time (ms)"), default=0)
    span_ms = models.PositiveBigIntegerField(_("time before the counting rules (ms)"), default=0)
    students = models.PositiveIntegerField(_("students served"), default=0)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    flag = models.CharField(_("flag"), max_length=20, choices=Flag.choices, blank=True, default=Flag.NONE)
    # {"routing": [ids], "session": [ids], "lecture": [ids]}: the facts read, by table; and what else was counted.
    facts = models.JSONField(_("facts"), default=dict)
    details = models.JSONField(_("details"), default=dict, blank=True)
    counting = models.JSONField(_("counting settings"), default=dict)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        ordering = ["day", "teacher", "kind", "source"]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "day", "source"], name="ledger_line_once"),
        ]
        indexes = [models.Index(fields=["day", "teacher"], name="ledger_line_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.teacher_id} {self.source}"
