"""PostgreSQL refuses UPDATE and DELETE on routing facts: stipend statements are computed from them."""

from django.db import migrations

CREATE = """
CREATE FUNCTION routing_fact_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'routing facts are append-only';
END $$;
CREATE TRIGGER routing_fact_append_only BEFORE UPDATE OR DELETE ON routing_routingfact
    FOR EACH ROW EXECUTE FUNCTION routing_fact_append_only();
"""
DROP = """
DROP TRIGGER routing_fact_append_only ON routing_routingfact;
DROP FUNCTION routing_fact_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
