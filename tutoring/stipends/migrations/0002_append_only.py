"""PostgreSQL refuses UPDATE and DELETE on adjustments, publications and the audit log: what was paid, published
and reported and who did what are never rewritten."""

from django.db import migrations

TABLES = ("stipends_adjustment", "stipends_auditentry", "stipends_publication")
CREATE = """
CREATE FUNCTION stipends_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME;
END $$;
""" + "".join(
    f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION stipends_append_only();\n"
    for table in TABLES
)
DROP = "".join(f"DROP TRIGGER append_only ON {table};\n" for table in TABLES) + "DROP FUNCTION stipends_append_only();"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("stipends", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
