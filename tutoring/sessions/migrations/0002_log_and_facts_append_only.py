"""PostgreSQL refuses UPDATE and DELETE on session events (the log is never thrown away: replays and
re-renders read it) and on session facts (stipends and evaluation are computed from them)."""

from django.db import migrations

TABLES = ("tutoring_sessions_sessionevent", "tutoring_sessions_sessionfact")
CREATE = """
CREATE FUNCTION session_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME;  -- %% for the driver's placeholders
END $$;
""" + "".join(
    f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION session_append_only();\n"
    for table in TABLES
)
DROP = "".join(f"DROP TRIGGER append_only ON {table};\n" for table in TABLES) + "DROP FUNCTION session_append_only();"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("tutoring_sessions", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
