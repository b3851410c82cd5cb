"""Duty and live routing: shifts, who is on duty now, the queue of waiting questions, offers, and the facts.

``Duty``, ``DutyConnection``, ``Ticket`` and ``Offer`` are the current state, changed under row locks and
conditional updates. ``RoutingFact`` is the append-only record (PostgreSQL refuses UPDATE and DELETE on it)
from which stipends and statistics are computed: presence, queueing, offers and their outcomes, assignments.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tutoring.questions.models import Question
from tutoring.schools.models import City, District, GradeBand, School, Subject

MAX_CAPACITY = 20


class Shift(models.Model):
    """A scheduled duty: a teacher answers one subject and grade band, for a city, one district or one school."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="shifts",
        limit_choices_to={"role": "teacher"},
        verbose_name=_("teacher"),
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+", verbose_name=_("subject"))
    grade_band = models.ForeignKey(GradeBand, on_delete=models.PROTECT, related_name="+", verbose_name=_("grade band"))
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="+", verbose_name=_("city"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(
        _("students at once"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1, capacity__lte=MAX_CAPACITY), name="shift_capacity_range"
            ),
        ]
        indexes = [models.Index(fields=["teacher", "ends_at"], name="shift_teacher_ends")]

    def __str__(self) -> str:
        return f"{self.teacher} {self.subject} {self.grade_band} {self.starts_at:%Y-%m-%d %H:%M}"


class Duty(models.Model):
    """A teacher's duty state now: one row per teacher who ever opened the duty console.

    ``available`` is the teacher's wish (上岗 / 下岗); ``on_duty`` is the fact: available, a console
    connected, and inside a shift (or volunteering, where settings allow). ``load`` counts students
    being answered; ``offered`` counts auto-assign offers waiting for an answer (they reserve capacity).
    """

    teacher = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty", verbose_name=_("teacher")
    )
    available = models.BooleanField(_("available"), default=False)
    on_duty = models.BooleanField(_("on duty"), default=False)
    shift = models.ForeignKey(
        Shift, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("duty shift")
    )
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("subject")
    )
    grade_band = models.ForeignKey(
        GradeBand, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("grade band")
    )
    capacity = models.PositiveSmallIntegerField(_("students at once"), default=1)
    load = models.PositiveSmallIntegerField(_("students now"), default=0)
    offered = models.PositiveSmallIntegerField(_("offers waiting"), default=0)
    idle_since = models.DateTimeField(_("idle since"), null=True, blank=True)
    # Volunteering outside a shift: the subject and grade band the teacher chose.
    volunteer_subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("volunteer subject")
    )
    volunteer_grade_band = models.ForeignKey(
        GradeBand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("volunteer grade band"),
    )
    # Whose questions: copied from the shift; a volunteer serves the city of their school.
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("city")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )

    class Meta:
        verbose_name = _("duty state")
        verbose_name_plural = _("duty states")
        indexes = [models.Index(fields=["on_duty", "subject"], name="duty_on_duty_subject")]

    def __str__(self) -> str:
        return str(self.teacher)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load - self.offered)


class DutyConnection(models.Model):
    """A duty console (one per websocket). A closed one keeps the teacher on duty until the sweep finds it
    silent, so a reconnect (a dropped network, a restarted web process) keeps their duty and open offers; it
    gets no new offers meanwhile."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_connections", verbose_name=_("teacher")
    )
    channel_name = models.CharField(_("channel name"), max_length=128, unique=True)
    connected_at = models.DateTimeField(_("connected at"), default=timezone.now)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("duty console connection")
        verbose_name_plural = _("duty console connections")

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.channel_name}"


class Ticket(models.Model):
    """A question in the live queue, from "still stuck" (or no match) until a teacher takes it."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        OFFERED = "offered", _("offered to a teacher")
        ASSIGNED = "assigned", _("with a teacher")
        FINISHED = "finished", _("answered")
        CANCELLED = "cancelled", _("cancelled by the student")

    QUEUED = (Status.WAITING, Status.OFFERED)

    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("question"))
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    grade_band = models.ForeignKey(
        GradeBand, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("grade band")
    )
    # The student's school, district and city: which duties may serve it.
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("city")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    failures = models.PositiveSmallIntegerField(_("failed offers"), default=0)
    widen_level = models.PositiveSmallIntegerField(_("search widened"), default=0)
    needs_attention = models.BooleanField(_("needs attention"), default=False)
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("teacher"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    notified_position = models.PositiveIntegerField(_("position told to the student"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting question")
        verbose_name_plural = _("waiting questions")
        ordering = ["queued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question"],
                condition=models.Q(status__in=["waiting", "offered", "assigned"]),
                name="ticket_one_open_per_question",
            )
        ]
        indexes = [
            models.Index(fields=["subject", "status", "queued_at"], name="ticket_queue"),
            # The questions waiting now by school (the live views count them): as small as the queue.
            models.Index(
                fields=["school"], condition=models.Q(status__in=["waiting", "offered"]), name="ticket_queued_school"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id} {self.get_status_display()}"


class Offer(models.Model):
    class Policy(models.TextChoices):
        AUTO = "auto", _("assigned to one teacher")
        OPEN = "open", _("open to every eligible teacher (抢答)")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        EXPIRED = "expired", _("expired")
        WITHDRAWN = "withdrawn", _("withdrawn")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="offers", verbose_name=_("waiting question")
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers", verbose_name=_("teacher")
    )
    policy = models.CharField(_("offer policy"), max_length=8, choices=Policy.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            # A question is never offered to the same teacher twice.
            models.UniqueConstraint(fields=["ticket", "teacher"], name="offer_once_per_teacher"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="offer_open_expiry"),
            models.Index(fields=["teacher", "status"], name="offer_teacher_status"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.teacher_id} {self.get_status_display()}"


class RoutingFact(models.Model):
    """Append-only: what happened, when, to whom. Never updated or deleted (enforced in PostgreSQL)."""

    class Kind(models.TextChoices):
        PRESENCE_STARTED = "presence_started", _("went on duty")
        PRESENCE_ENDED = "presence_ended", _("went off duty")
        QUEUED = "queued", _("queued")
        OFFERED = "offered", _("offered")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        EXPIRED = "expired", _("offer expired")
        WITHDRAWN = "withdrawn", _("offer withdrawn")
        WIDENED = "widened", _("search widened")
        CANCELLED = "cancelled", _("cancelled")
        FINISHED = "finished", _("finished")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("teacher"),
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="facts",
        verbose_name=_("waiting question"),
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("offer")
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("routing fact")
        verbose_name_plural = _("routing facts")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["teacher", "kind", "at"], name="fact_teacher_kind")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()}"
