"""Rollups of what happened to the questions, by the local day (and hour) they were asked: every figure staff and
administrators read is a sum of these columns (``tutoring.insights.metrics`` defines each), never a scan of the
raw rows. ``tutoring.insights.rollups`` recomputes a day's rows whole from the facts the other apps record, for
every day something happened to since its last run (a beat task each minute), so they are exact and can be
rebuilt at any time."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tutoring.knowledge.models import KnowledgePoint
from tutoring.schools.models import District, School, Subject


class Counts(models.Model):
    """What happened to the questions of one group (see ``metrics.FIGURES`` for each column's definition)."""

    asked = models.PositiveIntegerField(_("asked"), default=0)
    by_text = models.PositiveIntegerField(_("asked by text"), default=0)
    by_photo = models.PositiveIntegerField(_("asked by photo"), default=0)
    by_voice = models.PositiveIntegerField(_("asked by voice"), default=0)
    understood = models.PositiveIntegerField(_("understood"), default=0)
    matched_same = models.PositiveIntegerField(_("the same question answered"), default=0)
    matched_similar = models.PositiveIntegerField(_("similar questions answered"), default=0)
    matched_none = models.PositiveIntegerField(_("no answered question fits"), default=0)
    solved_by_library = models.PositiveIntegerField(_("solved by an answered question"), default=0)
    sent_to_teacher = models.PositiveIntegerField(_("sent to a teacher"), default=0)
    answered = models.PositiveIntegerField(_("answered by a teacher"), default=0)
    cancelled = models.PositiveIntegerField(_("stopped waiting"), default=0)
    accepted = models.PositiveIntegerField(_("accepted by a teacher"), default=0)
    wait_seconds = models.FloatField(_("seconds waited until accepted"), default=0)
    sessions = models.PositiveIntegerField(_("sessions ended"), default=0)
    session_seconds = models.FloatField(_("seconds in sessions"), default=0)
    rating_1 = models.PositiveIntegerField(_("rated 1"), default=0)
    rating_2 = models.PositiveIntegerField(_("rated 2"), default=0)
    rating_3 = models.PositiveIntegerField(_("rated 3"), default=0)
    rating_4 = models.PositiveIntegerField(_("rated 4"), default=0)
    rating_5 = models.PositiveIntegerField(_("rated 5"), default=0)

    class Meta:
        abstract = True


class DayFigures(Counts):
    """A school's questions of one subject and grade asked on one local day."""

    day = models.DateField(_("day"))
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        verbose_name = _("figures of a day")
        verbose_name_plural = _("figures of days")
        constraints = [
            models.UniqueConstraint(fields=["day", "school", "subject", "grade"], name="day_figures_unique"),
        ]
        indexes = [models.Index(fields=["day", "school"], name="day_figures_day_school")]

    def __str__(self) -> str:
        return f"{self.day} {self.school_id} {self.subject_id} {self.grade}"


class HourFigures(Counts):
    """A district's questions of one subject and grade asked in one local hour: the hour-of-day and weekday views."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))  # local, 0-23
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # ISO: 1 Monday … 7 Sunday
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+", verbose_name=_("district"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        verbose_name = _("figures of an hour")
        verbose_name_plural = _("figures of hours")
        constraints = [
            models.UniqueConstraint(fields=["day", "hour", "district", "subject", "grade"], name="hour_figures_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}:00 {self.district_id} {self.subject_id} {self.grade}"


class PointFigures(Counts):
    """A school's questions of one grade tagged with one knowledge point, asked on one local day (a question
    with several points counts once under each)."""

    day = models.DateField(_("day"))
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))
    point = models.ForeignKey(
        KnowledgePoint, on_delete=models.CASCADE, related_name="+", verbose_name=_("knowledge point")
    )
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        verbose_name = _("figures of a knowledge point")
        verbose_name_plural = _("figures of knowledge points")
        constraints = [
            models.UniqueConstraint(fields=["day", "school", "point", "grade"], name="point_figures_unique"),
        ]
        indexes = [models.Index(fields=["day", "point"], name="point_figures_day_point")]

    def __str__(self) -> str:
        return f"{self.day} {self.school_id} {self.point_id} {self.grade}"


class DaySpread(models.Model):
    """How many of a day's questions (school, subject, grade) fell in each bucket of a measure (the wait until a
    teacher accepted, a session's length): the percentiles are read from these."""

    class Measure(models.TextChoices):
        WAIT = "wait", _("wait until accepted")
        SESSION = "session", _("session length")

    day = models.DateField(_("day"))
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    measure = models.CharField(_("measure"), max_length=8, choices=Measure.choices)
    bucket = models.PositiveSmallIntegerField(_("bucket"))  # an index into metrics.BUCKET_SECONDS
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("spread of a day")
        verbose_name_plural = _("spreads of days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "school", "subject", "grade", "measure", "bucket"], name="day_spread_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.school_id} {self.subject_id} {self.grade} {self.measure} {self.bucket}"


class RollupMark(models.Model):
    """Until when the rollups have taken in every change (a refresh reads what changed since, with an overlap)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    at = models.DateTimeField(_("up to"))

    class Meta:
        verbose_name = _("rollup mark")
        verbose_name_plural = _("rollup marks")

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"
