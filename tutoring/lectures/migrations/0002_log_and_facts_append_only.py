"""PostgreSQL refuses UPDATE and DELETE on lecture events (the replay is rendered from the log) and on lecture
facts (statistics and stipends are computed from them)."""

from django.db import migrations

TABLES = ("lectures_lectureevent", "lectures_lecturefact")
CREATE = """
CREATE FUNCTION lecture_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME;  -- %% for the driver's placeholders
END $$;
""" + "".join(
    f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION lecture_append_only();\n"
    for table in TABLES
)
DROP = "".join(f"DROP TRIGGER append_only ON {table};\n" for table in TABLES) + "DROP FUNCTION lecture_append_only();"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("lectures", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
