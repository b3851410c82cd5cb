from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

MIN_GRADE = 1
MAX_GRADE = 12
grade_validators = [MinValueValidator(MIN_GRADE), MaxValueValidator(MAX_GRADE)]


class City(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="districts", verbose_name=_("city"))
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [models.UniqueConstraint(fields=["city", "name"], name="district_unique_name_in_city")]

    def __str__(self) -> str:
        return f"{self.city.name}{self.name}"


class School(models.Model):
    class Stage(models.TextChoices):
        PRIMARY = "primary", _("primary school")
        MIDDLE = "middle", _("middle school")
        NINE_YEAR = "nine_year", _("nine-year school")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools", verbose_name=_("district"))
    name = models.CharField(_("name"), max_length=128)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="school_unique_name_in_district")]

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    class RoutingPolicy(models.TextChoices):
        AUTO = "auto", _("assign to the teacher with the most free capacity")
        OPEN = "open", _("offer to every eligible teacher, first to accept (抢答)")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32, unique=True)
    min_grade = models.PositiveSmallIntegerField(_("lowest grade"), validators=grade_validators)
    max_grade = models.PositiveSmallIntegerField(_("highest grade"), validators=grade_validators)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    routing_policy = models.CharField(
        _("live routing"), max_length=8, choices=RoutingPolicy.choices, default=RoutingPolicy.AUTO
    )

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(min_grade__lte=models.F("max_grade")), name="subject_grade_range")
        ]

    def __str__(self) -> str:
        return self.name

    def teaches_grade(self, grade: int) -> bool:
        return self.min_grade <= grade <= self.max_grade


class GradeBand(models.Model):
    """A run of grades that share on-duty teachers (e.g. 小学低段 = grades 1-2)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32, unique=True)
    min_grade = models.PositiveSmallIntegerField(_("lowest grade"), validators=grade_validators)
    max_grade = models.PositiveSmallIntegerField(_("highest grade"), validators=grade_validators)

    class Meta:
        verbose_name = _("grade band")
        verbose_name_plural = _("grade bands")
        ordering = ["min_grade"]
        constraints = [
            models.CheckConstraint(condition=models.Q(min_grade__lte=models.F("max_grade")), name="grade_band_range")
        ]

    def __str__(self) -> str:
        return self.name
