"""On PostgreSQL the database itself refuses to change or delete audit events.

SQLite has no such guard here; there the hash chain (zegel audit verify) shows tampering.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION zegel_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS zegel_audit_append_only ON audit_auditevent;
CREATE TRIGGER zegel_audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION zegel_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS zegel_audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS zegel_audit_append_only();
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_initial")]
    operations = [migrations.RunPython(create, drop)]
