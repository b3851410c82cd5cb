"""Knowledge points: each subject's taxonomy (points with parents, aliases and grades), reference data that
questions, library entries and the insights are tagged with."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tutoring.schools.models import Subject, grade_validators


class KnowledgePoint(models.Model):
    """A point of a subject's taxonomy, identified by its ``code`` (stable across imports); its ``name`` and
    ``aliases`` are the words teachers and the tagger find it by. A point an import no longer lists is
    deactivated, never deleted: questions stay tagged with it."""

    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="knowledge_points", verbose_name=_("subject")
    )
    code = models.CharField(_("code"), max_length=255)
    name = models.CharField(_("name"), max_length=64)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    # The grades the point is taught in; empty means every grade of the subject.
    min_grade = models.PositiveSmallIntegerField(_("lowest grade"), null=True, blank=True, validators=grade_validators)
    max_grade = models.PositiveSmallIntegerField(_("highest grade"), null=True, blank=True, validators=grade_validators)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge point")
        verbose_name_plural = _("knowledge points")
        ordering = ["subject", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "code"], name="knowledge_point_unique_code"),
            models.CheckConstraint(
                condition=models.Q(min_grade__isnull=True)
                | models.Q(max_grade__isnull=True)
                | models.Q(min_grade__lte=models.F("max_grade")),
                name="knowledge_point_grade_range",
            ),
        ]
        indexes = [models.Index(fields=["subject", "name"], name="knowledge_point_name")]

    def __str__(self) -> str:
        return self.name


class TagSource(models.TextChoices):
    """Who put a knowledge point on a question or a library entry."""

    TAGGER = "tagger", _("tagged automatically")
    TEACHER = "teacher", _("chosen by a teacher")
    IMPORT = "import", _("imported with the entry")


class KnowledgePointTag(models.Model):
    """A knowledge point put on something (a question, a library entry): by whom, how sure, in what order."""

    point = models.ForeignKey(
        KnowledgePoint,
        on_delete=models.PROTECT,
        related_name="%(app_label)s_%(class)s_tags",
        verbose_name=_("knowledge point"),
    )
    source = models.CharField(_("source"), max_length=8, choices=TagSource.choices)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)  # the tagger's, 0-1
    rank = models.PositiveSmallIntegerField(_("rank"), default=0)

    class Meta:
        abstract = True
