"""The workload ledger (工作台账): each teacher's work of each local day, derived from the append-only facts of
routing, sessions and lectures by ``ledger.ledger_build`` and rebuilt whole whenever asked: it is a reading of
the facts, never a record of its own, so nobody edits a line (the admin shows them read-only)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tutoring.schools.models import City, District, School


class LedgerLine(models.Model):
    """One piece of a teacher's day: their duty time, one session, one lecture or one published video; with the
    facts it was read from and the counting settings it was read with."""

    class Kind(models.TextChoices):
        DUTY = "duty", _("duty time")
        SESSION = "session", _("answering session")
        LECTURE = "lecture", _("lecture given")
        VIDEO = "video", _("video published")
        HELPED = "helped", _("student helped by a video")

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
    # "session-video:<session id>", "lecture-video:<lecture id>" or "helped:<feedback id>".
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
        return f"{self.day} {self.teacher_id} {self.get_kind_display()}"


class StipendRule(models.Model):
    """One version of the rules that turn a teacher's ledger into pay (fen) and evaluation credit, for a place
    (the city, or a district or a school in it), in force from ``effective_from`` (a month's first day) until the
    next active version of the same place. An active version is never edited: a change is a new version. For a
    teacher the most specific active version wins: their school's over their district's over their city's."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("in force")

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="+", verbose_name=_("city"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    effective_from = models.DateField(_("in force from"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    class_hour_minutes = models.PositiveSmallIntegerField(
        _("class hour (minutes)"), choices=[(40, "40"), (45, "45")], default=40
    )
    evening_from_hour = models.PositiveSmallIntegerField(_("weekday evening starts at (hour)"), default=17)
    weekday_fen = models.PositiveIntegerField(_("weekday daytime, per class hour (fen)"), default=0)
    evening_fen = models.PositiveIntegerField(_("weekday evening, per class hour (fen)"), default=0)
    weekend_fen = models.PositiveIntegerField(_("weekend, per class hour (fen)"), default=0)
    holiday_fen = models.PositiveIntegerField(_("holiday, per class hour (fen)"), default=0)
    holidays = models.JSONField(_("holidays"), default=list, blank=True)  # ["2026-10-01", ...]
    session_fen = models.PositiveIntegerField(_("per session counted (fen)"), default=0)
    # [[least audience, fen], ...]: a lecture is paid the fee of the largest band its audience reaches.
    lecture_bands = models.JSONField(_("per lecture by audience (fen)"), default=list, blank=True)
    quality_reference_tenths = models.PositiveSmallIntegerField(
        _("mean rating paid at the full rate (tenths of a star)"), default=45
    )
    quality_floor_permille = models.PositiveSmallIntegerField(_("quality factor floor (‰)"), default=800)
    quality_cap_permille = models.PositiveSmallIntegerField(_("quality factor cap (‰)"), default=1200)
    credit_session = models.PositiveSmallIntegerField(_("credit per session counted"), default=0)
    credit_lecture = models.PositiveSmallIntegerField(_("credit per lecture"), default=0)
    credit_good_rating = models.PositiveSmallIntegerField(_("credit per rating of 4 or 5"), default=0)
    credit_helped = models.PositiveSmallIntegerField(_("credit per student helped by a video"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("put in force at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stipend rule version")
        verbose_name_plural = _("stipend rule versions")
        ordering = ["city", "district", "school", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "district", "school", "effective_from"],
                condition=models.Q(status="active"),
                name="stipend_rule_one_active_version",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        place = self.school or self.district or self.city
        return f"{place} {self.effective_from:%Y-%m}"


class Statement(models.Model):
    """A teacher's month: their ledger priced day by day by the rules in force each day, with its totals; built
    anew while a draft. ``content_hash`` is the SHA-256 of its figures (``services.statement_figures``)."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("teacher")
    )
    month = models.DateField(_("month"))  # its first day
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("school"))
    workload_ms = models.PositiveBigIntegerField(_("workload (ms)"), default=0)
    base_fen = models.PositiveBigIntegerField(_("before the quality factor (fen)"), default=0)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"), default=0)
    credit = models.PositiveIntegerField(_("credit points"), default=0)
    quality = models.JSONField(_("quality factor by rule version"), default=dict)  # {rule id: {...}}
    content_hash = models.CharField(_("content hash"), max_length=64)
    built_at = models.DateTimeField(_("built at"))  # also the "now" of what was still open then
    # The last fact of each table the build read (``ledger.Upto``): the build can be repeated exactly.
    facts_upto = models.JSONField(_("facts read up to"), default=dict)

    class Meta:
        verbose_name = _("monthly statement")
        verbose_name_plural = _("monthly statements")
        ordering = ["-month", "school", "teacher"]
        constraints = [models.UniqueConstraint(fields=["teacher", "month"], name="statement_once_a_month")]

    def __str__(self) -> str:
        return f"{self.teacher} {self.month:%Y-%m}"


class StatementDay(models.Model):
    """One day of a statement: the ledger's figures of the day and what the day's rule version makes of them."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="days", verbose_name=_("statement"))
    day = models.DateField(_("day"))
    rule = models.ForeignKey(StipendRule, on_delete=models.PROTECT, related_name="+", verbose_name=_("rule version"))
    duty_ms = models.PositiveBigIntegerField(_("duty (ms)"), default=0)
    session_ms = models.PositiveBigIntegerField(_("sessions (ms)"), default=0)
    sessions = models.PositiveIntegerField(_("sessions counted"), default=0)
    flagged = models.PositiveIntegerField(_("sessions flagged"), default=0)
    students = models.PositiveIntegerField(_("students served"), default=0)
    lectures = models.PositiveIntegerField(_("lectures"), default=0)
    audience = models.PositiveIntegerField(_("lecture audience"), default=0)
    videos = models.PositiveIntegerField(_("videos published"), default=0)
    helped = models.PositiveIntegerField(_("students helped by videos"), default=0)
    ratings = models.PositiveIntegerField(_("ratings"), default=0)
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)
    good_ratings = models.PositiveIntegerField(_("ratings of 4 or 5"), default=0)
    time_fen = models.PositiveBigIntegerField(_("for time (fen)"), default=0)
    session_fen = models.PositiveBigIntegerField(_("for sessions (fen)"), default=0)
    lecture_fen = models.PositiveBigIntegerField(_("for lectures (fen)"), default=0)
    credit = models.PositiveIntegerField(_("credit points"), default=0)

    class Meta:
        verbose_name = _("statement day")
        verbose_name_plural = _("statement days")
        ordering = ["statement", "day"]
        constraints = [models.UniqueConstraint(fields=["statement", "day"], name="statement_day_once")]

    def __str__(self) -> str:
        return f"{self.statement} {self.day}"


class SchoolMonth(models.Model):
    """A school's month of statements on its way to publication: a draft (rebuilt from the facts whenever asked),
    in review (frozen: corrections are adjustment lines), in publicity (公示: shown to the school's teachers for
    ``publicity_days``, who may object), approved by the principal, then locked and reported to the district
    with exactly the figures published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        REVIEW = "review", _("in review")
        PUBLICIZED = "publicized", _("in publicity (公示)")
        APPROVED = "approved", _("approved")
        LOCKED = "locked", _("locked and reported")

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("school"))
    month = models.DateField(_("month"))  # its first day
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    publicity_ends_at = models.DateTimeField(_("publicity ends at"), null=True, blank=True)
    published_hash = models.CharField(_("figures published (hash)"), max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    reported_hash = models.CharField(_("figures reported (hash)"), max_length=64, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("school month")
        verbose_name_plural = _("school months")
        ordering = ["-month", "school"]
        constraints = [models.UniqueConstraint(fields=["school", "month"], name="school_month_once")]

    def __str__(self) -> str:
        return f"{self.school} {self.month:%Y-%m}"


class Adjustment(models.Model):
    """A correction of a teacher's month, with its reason and author (append-only): a reviewer's decision, or
    the difference late facts make to a month already frozen (``carried_from``: that month)."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("teacher")
    )
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("school"))
    month = models.DateField(_("month"))
    amount_fen = models.BigIntegerField(_("amount (fen)"), default=0)
    credit = models.IntegerField(_("credit points"), default=0)
    reason = models.TextField(_("reason"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    carried_from = models.DateField(_("late facts of"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["month", "school", "teacher", "id"]

    def __str__(self) -> str:
        return f"{self.teacher} {self.month:%Y-%m} {self.amount_fen}"


class Objection(models.Model):
    """A teacher's objection to their statement during its publicity, and the reviewer's answer."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("teacher")
    )
    school_month = models.ForeignKey(
        SchoolMonth, on_delete=models.PROTECT, related_name="objections", verbose_name=_("school month")
    )
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.teacher} {self.school_month}"


class AuditEntry(models.Model):
    """Who did what to the stipends, when, with the figures before and after (append-only: nobody edits it)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=32)
    target = models.CharField(_("about"), max_length=64)  # "school_month:<id>", "rule:<id>", "adjustment:<id>"
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} #{self.pk}"


class Publication(models.Model):
    """A version of a school month as it was published (公示: its figures and the notice shown) or reported to
    the district (its figures and the spreadsheet sent), archived for inspection (append-only)."""

    class Kind(models.TextChoices):
        PUBLICITY = "publicity", _("publicity (公示)")
        REPORT = "report", _("report to the district")

    school_month = models.ForeignKey(
        SchoolMonth, on_delete=models.PROTECT, related_name="publications", verbose_name=_("school month")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    figures = models.JSONField(_("figures"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    file = models.FileField(_("file"), max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["school_month", "id"]

    def __str__(self) -> str:
        return f"{self.school_month} {self.get_kind_display()} {self.content_hash[:12]}"
