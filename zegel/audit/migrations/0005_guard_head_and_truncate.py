"""On PostgreSQL the database refuses TRUNCATE of the audit tables, and lets the head move
only forward: to the hash of the newest event. See docs/security.md and docs/operations.md."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION zegel_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit tables cannot be truncated';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS zegel_audit_no_truncate ON audit_auditevent;
CREATE TRIGGER zegel_audit_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION zegel_audit_no_truncate();
DROP TRIGGER IF EXISTS zegel_audit_no_truncate ON audit_audithead;
CREATE TRIGGER zegel_audit_no_truncate BEFORE TRUNCATE ON audit_audithead
    FOR EACH STATEMENT EXECUTE FUNCTION zegel_audit_no_truncate();

CREATE OR REPLACE FUNCTION zegel_audit_head_forward() RETURNS trigger AS $$
DECLARE
    newest varchar;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit head cannot be deleted';
    END IF;
    SELECT hash INTO newest FROM audit_auditevent ORDER BY id DESC LIMIT 1;
    IF TG_OP = 'INSERT' THEN
        IF newest IS NOT NULL OR NEW.last_hash <> repeat('0', 64) THEN
            RAISE EXCEPTION 'the audit head starts empty, before the first event';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.id <> OLD.id OR newest IS NULL OR NEW.last_hash <> newest THEN
        RAISE EXCEPTION 'the audit head may only move to the newest event';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS zegel_audit_head_forward ON audit_audithead;
CREATE TRIGGER zegel_audit_head_forward BEFORE INSERT OR UPDATE OR DELETE ON audit_audithead
    FOR EACH ROW EXECUTE FUNCTION zegel_audit_head_forward();
"""

DROP = """
DROP TRIGGER IF EXISTS zegel_audit_head_forward ON audit_audithead;
DROP FUNCTION IF EXISTS zegel_audit_head_forward();
DROP TRIGGER IF EXISTS zegel_audit_no_truncate ON audit_audithead;
DROP TRIGGER IF EXISTS zegel_audit_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS zegel_audit_no_truncate();
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keyed_chain")]
    operations = [migrations.RunPython(create, drop)]
