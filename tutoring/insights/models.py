"""Rollups of what happened to the questions, by the local day (and hour) they were asked: every figure staff and
administrators read is a sum of these columns (``tutoring.insights.metrics`` defines each), never a scan of the
raw rows. ``tutoring.insights.rollups`` recomputes a day's rows whole from the facts the other apps record, for
every day something happened to since its last run (a beat task each minute), so they are exact and can be
rebuilt at any time."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tutoring.knowledge.models import KnowledgePoint
from tutoring.lectures.models import Lecture
from tutoring.library.models import Entry
from tutoring.questions.models import Question
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.sessions.models import TutoringSession


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


COUNTED = [field.name for field in Counts._meta.local_fields]  # the columns each rollup of counts sums


class DayCounts(Counts):
    """Counts of the questions of one subject and grade asked on one local day, in a place."""

    day = models.DateField(_("day"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        abstract = True


class HourCounts(Counts):
    """Counts of the questions of one subject and grade asked in one local hour, in a place."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))  # local, 0-23
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # ISO: 1 Monday … 7 Sunday
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        abstract = True


class PointCounts(Counts):
    """Counts of the questions of one grade tagged with one knowledge point, asked on one local day in a place (a
    question with several points counts once under each)."""

    day = models.DateField(_("day"))
    point = models.ForeignKey(
        KnowledgePoint, on_delete=models.CASCADE, related_name="+", verbose_name=_("knowledge point")
    )
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        abstract = True


class Spread(models.Model):
    """How many of a day's questions (a place, subject and grade) fell in each bucket of a measure (the wait until a
    teacher accepted, a session's length): the percentiles are read from these."""

    class Measure(models.TextChoices):
        WAIT = "wait", _("wait until accepted")
        SESSION = "session", _("session length")

    day = models.DateField(_("day"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    measure = models.CharField(_("measure"), max_length=8, choices=Measure.choices)
    bucket = models.PositiveSmallIntegerField(_("bucket"))  # an index into metrics.BUCKET_SECONDS
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        abstract = True


class DayFigures(DayCounts):
    """A school's questions of one subject and grade asked on one local day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))

    class Meta:
        verbose_name = _("figures of a day")
        verbose_name_plural = _("figures of days")
        constraints = [
            models.UniqueConstraint(fields=["day", "school", "subject", "grade"], name="day_figures_unique"),
        ]
        indexes = [models.Index(fields=["day", "school"], name="day_figures_day_school")]

    def __str__(self) -> str:
        return f"{self.day} {self.school_id} {self.subject_id} {self.grade}"


class HourFigures(HourCounts):
    """A district's questions of one subject and grade asked in one local hour: the hour-of-day and weekday views."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+", verbose_name=_("district"))

    class Meta:
        verbose_name = _("figures of an hour")
        verbose_name_plural = _("figures of hours")
        constraints = [
            models.UniqueConstraint(fields=["day", "hour", "district", "subject", "grade"], name="hour_figures_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}:00 {self.district_id} {self.subject_id} {self.grade}"


class PointFigures(PointCounts):
    """A school's questions of one grade tagged with one knowledge point, asked on one local day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))

    class Meta:
        verbose_name = _("figures of a knowledge point")
        verbose_name_plural = _("figures of knowledge points")
        constraints = [
            models.UniqueConstraint(fields=["day", "school", "point", "grade"], name="point_figures_unique"),
        ]
        # a point's or a school's rows of a period: one range of an index each (by day first, the index made
        # PostgreSQL read every row of the period)
        indexes = [
            models.Index(fields=["point", "day"], name="point_figures_point_day"),
            models.Index(fields=["school", "day"], name="point_figures_school_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.school_id} {self.point_id} {self.grade}"


class DaySpread(Spread):
    """The spreads of a school's questions of a day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))

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


class DistrictDayFigures(DayCounts):
    """The sums of ``DayFigures`` over a district's schools (day × district × subject × grade: a fifteenth of the
    rows): what a request about a district that is not broken down by school reads. Written by
    ``rollups.rollup_day`` from the day's school rows, in the same transaction, so the two always agree."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+", verbose_name=_("district"))

    class Meta:
        verbose_name = _("figures of a day")
        verbose_name_plural = _("figures of days")
        constraints = [
            models.UniqueConstraint(fields=["day", "district", "subject", "grade"], name="district_day_figures_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district_id} {self.subject_id} {self.grade}"


class DistrictPointFigures(PointCounts):
    """The sums of ``PointFigures`` over a district's schools (day × district × point × grade): the knowledge
    points of a district not broken down by school. Written with the school rows by ``rollups.rollup_day``."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+", verbose_name=_("district"))

    class Meta:
        verbose_name = _("figures of a knowledge point")
        verbose_name_plural = _("figures of knowledge points")
        constraints = [
            models.UniqueConstraint(fields=["day", "district", "point", "grade"], name="district_point_figures_unique"),
        ]
        indexes = [
            models.Index(fields=["point", "day"], name="district_point_point_day"),
            models.Index(fields=["district", "day"], name="district_point_district_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district_id} {self.point_id} {self.grade}"


class DistrictDaySpread(Spread):
    """The sums of ``DaySpread`` over a district's schools: the percentiles of a district not broken down by
    school. Written with the school rows by ``rollups.rollup_day``."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+", verbose_name=_("district"))

    class Meta:
        verbose_name = _("spread of a day")
        verbose_name_plural = _("spreads of days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "district", "subject", "grade", "measure", "bucket"], name="district_day_spread_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.district_id} {self.subject_id} {self.grade} {self.measure} {self.bucket}"


class CityDayFigures(DayCounts):
    """The sums of ``DistrictDayFigures`` over a city's districts (day × city × subject × grade): what a request
    about a whole city that is not broken down by district or school reads. Written by ``rollups.rollup_day`` from
    the day's district rows, in the same transaction."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))

    class Meta:
        verbose_name = _("figures of a day")
        verbose_name_plural = _("figures of days")
        constraints = [
            models.UniqueConstraint(fields=["day", "city", "subject", "grade"], name="city_day_figures_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.city_id} {self.subject_id} {self.grade}"


class CityHourFigures(HourCounts):
    """The sums of ``HourFigures`` over a city's districts (day × hour × city × subject × grade): the hour-of-day
    and weekday views of a whole city. Written with the district rows by ``rollups.rollup_day``."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))

    class Meta:
        verbose_name = _("figures of an hour")
        verbose_name_plural = _("figures of hours")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "hour", "city", "subject", "grade"], name="city_hour_figures_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}:00 {self.city_id} {self.subject_id} {self.grade}"


class CityPointFigures(PointCounts):
    """The sums of ``DistrictPointFigures`` over a city's districts (day × city × point × grade): the knowledge
    points of a whole city and its shares of the heat map. Written with the district rows by
    ``rollups.rollup_day``."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))

    class Meta:
        verbose_name = _("figures of a knowledge point")
        verbose_name_plural = _("figures of knowledge points")
        constraints = [
            models.UniqueConstraint(fields=["day", "city", "point", "grade"], name="city_point_figures_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.city_id} {self.point_id} {self.grade}"


class CityDaySpread(Spread):
    """The sums of ``DistrictDaySpread`` over a city's districts: the percentiles of a whole city. Written with the
    district rows by ``rollups.rollup_day``."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))

    class Meta:
        verbose_name = _("spread of a day")
        verbose_name_plural = _("spreads of days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "city", "subject", "grade", "measure", "bucket"], name="city_day_spread_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.city_id} {self.subject_id} {self.grade} {self.measure} {self.bucket}"


class StudentDay(models.Model):
    """A student who asked questions of one subject on one local day, with the school and grade of their profile:
    the distinct students of any period are counted from these (a count of distinct students cannot be summed over
    days). One row per student, subject and day, far fewer than the questions."""

    day = models.DateField(_("day"))
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    questions = models.PositiveIntegerField(_("questions asked"))

    class Meta:
        verbose_name = _("student's day")
        verbose_name_plural = _("students' days")
        constraints = [models.UniqueConstraint(fields=["day", "student", "subject"], name="student_day_unique")]
        indexes = [models.Index(fields=["day", "school"], name="student_day_day_school")]

    def __str__(self) -> str:
        return f"{self.day} {self.student_id}"


class RatingComment(models.Model):
    """The comment a student wrote with their rating of a question's first ended session, by the day the question
    was asked (the same sessions ``Counts.rating_*`` count); never the student."""

    day = models.DateField(_("day"))
    session = models.OneToOneField(
        TutoringSession, on_delete=models.CASCADE, related_name="+", verbose_name=_("session")
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    stars = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"))
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("rating comment")
        verbose_name_plural = _("rating comments")
        indexes = [models.Index(fields=["day", "school"], name="rating_comment_day_school")]

    def __str__(self) -> str:
        return f"{self.day} {self.session_id} {self.stars}"


class CoverageHour(models.Model):
    """Seconds teachers were on duty within one local hour (from the routing's presence facts), by the city, subject
    and grade band of the shift they were on (none for a volunteer outside a shift)."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))  # local, 0-23
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # ISO: 1 Monday … 7 Sunday
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))
    subject = models.ForeignKey(
        Subject, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("subject")
    )
    grade_band = models.ForeignKey(
        GradeBand, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("grade band")
    )
    teacher_seconds = models.FloatField(_("teacher-seconds on duty"))

    class Meta:
        verbose_name = _("duty coverage of an hour")
        verbose_name_plural = _("duty coverage of hours")
        indexes = [models.Index(fields=["day", "city"], name="coverage_hour_day_city")]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}:00 {self.city_id} {self.subject_id} {self.grade_band_id}"


class LectureFigures(models.Model):
    """A lecture held (started) on a local day, with its audience, from the lectures' facts."""

    lecture = models.OneToOneField(Lecture, on_delete=models.CASCADE, related_name="+", verbose_name=_("lecture"))
    day = models.DateField(_("day"))
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade_band = models.ForeignKey(GradeBand, on_delete=models.CASCADE, related_name="+", verbose_name=_("grade band"))
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("district")
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("school"))
    minutes = models.FloatField(_("minutes live"))
    signups = models.PositiveIntegerField(_("signed up"))
    viewers = models.PositiveIntegerField(_("students who watched live"))
    peak = models.PositiveIntegerField(_("most students at once"))
    replay_viewers = models.PositiveIntegerField(_("students who watched the replay"))
    replay_seconds = models.FloatField(_("seconds of replay watched"))

    class Meta:
        verbose_name = _("figures of a lecture")
        verbose_name_plural = _("figures of lectures")
        indexes = [models.Index(fields=["day", "city"], name="lecture_figures_day_city")]

    def __str__(self) -> str:
        return f"{self.day} {self.lecture_id}"


class RollupMark(models.Model):
    """Until when the rollups have taken in every change (a refresh reads what changed since, with an overlap)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    at = models.DateTimeField(_("up to"))

    class Meta:
        verbose_name = _("rollup mark")
        verbose_name_plural = _("rollup marks")

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"


class HotCluster(models.Model):
    """Questions of one city's week, subject and grade band that recur (``matching.clustering``): a topic staff may
    answer once with a video or a lecture. Rebuilt whole for a week by ``tutoring.insights.clusters``."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", verbose_name=_("city"))
    week = models.DateField(_("week"))  # its Monday
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject"))
    grade_band = models.ForeignKey(GradeBand, on_delete=models.CASCADE, related_name="+", verbose_name=_("grade band"))
    number = models.PositiveIntegerField(_("number"))  # 1 for the week's largest cluster of the subject and band
    size = models.PositiveIntegerField(_("questions"))
    students = models.PositiveIntegerField(_("students"))
    representative = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("representative question")
    )
    terms = models.JSONField(_("words"), default=list)
    solved_by_video = models.PositiveIntegerField(_("solved by an answered question"))
    sent_to_teacher = models.PositiveIntegerField(_("sent to a teacher"))
    answered = models.PositiveIntegerField(_("answered by a teacher"))
    best_entry = models.ForeignKey(
        Entry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("best answered question"),
    )
    knowledge_points = models.ManyToManyField(
        KnowledgePoint, blank=True, related_name="+", verbose_name=_("knowledge points")
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("the same cluster the week before"),
    )
    previous_size = models.PositiveIntegerField(_("questions the week before"), default=0)
    centroid = models.BinaryField(_("centroid"), editable=False)  # float16, L2-normalised: next week's trend

    class Meta:
        verbose_name = _("hot cluster")
        verbose_name_plural = _("hot clusters")
        ordering = ["-week", "subject", "grade_band", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "week", "subject", "grade_band", "number"], name="hot_cluster_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.subject_id} {self.grade_band_id} #{self.number}"

    @property
    def change(self) -> int | None:
        """Questions more (or fewer) than the same cluster the week before; None for a new one."""
        return self.size - self.previous_size if self.previous_id else None


class HotClusterQuestion(models.Model):
    cluster = models.ForeignKey(HotCluster, on_delete=models.CASCADE, related_name="members", verbose_name=_("cluster"))
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("question"))
    position = models.PositiveIntegerField(_("position"))  # 0: the most central
    centrality = models.FloatField(_("mean similarity to the others"))

    class Meta:
        verbose_name = _("question of a hot cluster")
        verbose_name_plural = _("questions of hot clusters")
        ordering = ["cluster", "position"]
        constraints = [models.UniqueConstraint(fields=["cluster", "question"], name="hot_cluster_question_unique")]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.question_id}"
