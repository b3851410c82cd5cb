from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from tutoring.schools.models import City, District, GradeBand, School, Subject, grade_validators


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", _("student")
        TEACHER = "teacher", _("teacher")
        STAFF = "staff", _("teaching-research staff")
        ADMINISTRATOR = "administrator", _("administrator")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STUDENT)
    display_name = models.CharField(_("display name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def is_teacher(self) -> bool:
        return self.role == self.Role.TEACHER

    @property
    def is_research_staff(self) -> bool:
        return self.role == self.Role.STAFF


class StudentProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="student_profile", verbose_name=_("user"))
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="students", verbose_name=_("school"))
    grade = models.PositiveSmallIntegerField(_("grade"), validators=grade_validators)
    class_name = models.CharField(_("class"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("student profile")
        verbose_name_plural = _("student profiles")

    def __str__(self) -> str:
        return str(self.user)


class TeacherProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="teacher_profile", verbose_name=_("user"))
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="teachers", verbose_name=_("school"))
    subjects = models.ManyToManyField(Subject, related_name="teachers", verbose_name=_("subjects"))
    grade_bands = models.ManyToManyField(GradeBand, related_name="teachers", verbose_name=_("grade bands"))

    class Meta:
        verbose_name = _("teacher profile")
        verbose_name_plural = _("teacher profiles")

    def __str__(self) -> str:
        return str(self.user)


class StaffProfile(models.Model):
    """Teaching-research staff read the data of a city, or of one district in it."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user"))
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="staff", verbose_name=_("city"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name=_("district")
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class AdministratorProfile(models.Model):
    """The place an administrator runs: the city (neither district nor school), a district, or a school; a
    school's principal (校长) approves what the school publishes."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="administrator_profile", verbose_name=_("user")
    )
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="administrators", verbose_name=_("city"))
    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrators",
        verbose_name=_("district"),
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="administrators", verbose_name=_("school")
    )
    principal = models.BooleanField(_("principal"), default=False)

    class Meta:
        verbose_name = _("administrator profile")
        verbose_name_plural = _("administrator profiles")

    def __str__(self) -> str:
        return str(self.user)
