# Knowledge points become the taxonomy's rows (tutoring.knowledge): each entry's labels, once free text, are kept as
# tags of the point of its subject with that code, name or (unambiguous) alias; a label the taxonomy does not know
# yet becomes a point of its own (code "label.<text>"), so nothing typed is lost.

import django.db.models.deletion
from django.db import migrations, models


def labels_to_tags(apps, schema_editor):
    Entry = apps.get_model("library", "Entry")
    EntryKnowledgePoint = apps.get_model("library", "EntryKnowledgePoint")
    KnowledgePoint = apps.get_model("knowledge", "KnowledgePoint")
    for entry in Entry.objects.exclude(knowledge_point_labels=[]).iterator():
        source = "teacher" if entry.created_by_id else "import"
        seen = set()
        for rank, label in enumerate(entry.knowledge_point_labels):
            label = str(label).strip()[:64]
            if not label:
                continue
            points = KnowledgePoint.objects.filter(subject_id=entry.subject_id, is_active=True)
            point = points.filter(code=label).first() or points.filter(name=label).first()
            if point is None:
                aliased = [candidate for candidate in points if label in candidate.aliases]
                point = aliased[0] if len(aliased) == 1 else None
            if point is None:
                point, _ = KnowledgePoint.objects.get_or_create(
                    subject_id=entry.subject_id, code=f"label.{label}", defaults={"name": label}
                )
            if point.pk not in seen:
                seen.add(point.pk)
                EntryKnowledgePoint.objects.create(entry=entry, point=point, source=source, rank=rank)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("library", "0004_verbose_names"),
    ]

    operations = [
        migrations.RenameField(model_name="entry", old_name="knowledge_points", new_name="knowledge_point_labels"),
        migrations.CreateModel(
            name="EntryKnowledgePoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("tagger", "tagged automatically"),
                            ("teacher", "chosen by a teacher"),
                            ("import", "imported with the entry"),
                        ],
                        max_length=8,
                        verbose_name="source",
                    ),
                ),
                ("confidence", models.FloatField(blank=True, null=True, verbose_name="confidence")),
                ("rank", models.PositiveSmallIntegerField(default=0, verbose_name="rank")),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="knowledge_point_tags",
                        to="library.entry",
                        verbose_name="answered question",
                    ),
                ),
                (
                    "point",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="%(app_label)s_%(class)s_tags",
                        to="knowledge.knowledgepoint",
                        verbose_name="knowledge point",
                    ),
                ),
            ],
            options={
                "verbose_name": "knowledge point of an answered question",
                "verbose_name_plural": "knowledge points of answered questions",
                "ordering": ["entry", "rank"],
                "constraints": [
                    models.UniqueConstraint(fields=("entry", "point"), name="entry_knowledge_point_unique")
                ],
            },
        ),
        migrations.AddField(
            model_name="entry",
            name="knowledge_points",
            field=models.ManyToManyField(
                blank=True,
                related_name="entries",
                through="library.EntryKnowledgePoint",
                to="knowledge.knowledgepoint",
                verbose_name="knowledge points",
            ),
        ),
        migrations.RunPython(labels_to_tags, migrations.RunPython.noop),
        migrations.RemoveField(model_name="entry", name="knowledge_point_labels"),
    ]
