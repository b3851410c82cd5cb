import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("library", "0005_entry_knowledge_point_tags"),
    ]

    operations = [
        # Entries saved before count as tagged now: the sweep requeues only what is saved from here on (the
        # knowledge_points_backfill command tags older ones on purpose).
        migrations.AddField(
            model_name="entry",
            name="tagged_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="tagged at", default=django.utils.timezone.now
            ),
            preserve_default=False,
        ),
    ]
