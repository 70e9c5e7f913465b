"""Key the chain (zegel.audit.chain version 2) and seal the events written before.

Existing events keep their unkeyed hashes (version 1) and are verified as before. One keyed
event, `audit.keyed`, is appended onto the head they left: from then on the unkeyed part can no
longer be re-hashed unnoticed, because the keyed event covers its end. See docs/security.md.
"""

from django.db import migrations, models
from django.utils import timezone

from zegel.audit import chain


def seal_legacy(apps, schema_editor):  # type: ignore[no-untyped-def]
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditHead = apps.get_model("audit", "AuditHead")
    legacy = AuditEvent.objects.filter(version=chain.LEGACY)
    if not legacy.exists():
        return
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    newest = AuditEvent.objects.order_by("-id").first()
    key = chain.chain_key()
    # Onto the head writers kept, not onto the newest row: if the newest unkeyed events were
    # cut before the upgrade, verify keeps saying so.
    event = AuditEvent(
        organisation=None, at=timezone.now(), actor_type="system", actor_id="", actor_label="",
        action="audit.keyed", object_type="audit_log", object_id="", ip=None,
        data={"legacy_events": legacy.count(), "legacy_newest": newest.hash},
        prev_hash=head.last_hash, version=chain.KEYED,
    )
    event.hash = chain.keyed_digest(key, head.last_hash, chain.event_fields(event))
    event.save()
    head.last_hash = event.hash
    head.seal = chain.head_seal(key, event.hash)
    head.save(update_fields=["last_hash", "seal"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_trigger")]

    operations = [
        # Rows that exist already were hashed unkeyed (version 1); new rows are keyed.
        migrations.AddField(
            model_name="auditevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="audithead",
            name="seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(seal_legacy, migrations.RunPython.noop),
    ]
