import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def per_sender(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Rebuild the table per sender from the audit log's sensitive sends (the organisation-wide
    rows cannot say whose they were). A sender whose history cannot be found gets the
    "first sensitive message" warning once more: the safe side."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Conversation = apps.get_model("messaging", "Conversation")
    Recipient = apps.get_model("messaging", "Recipient")
    SensitiveContact = apps.get_model("dlp", "SensitiveContact")
    SensitiveContact.objects.all().delete()
    first = {}
    decisions = AuditEvent.objects.filter(
        action="dlp.decision", object_type="conversation", data__outcome="sent",
        data__sensitive=True,
    ).order_by("id").values_list("object_id", "at")
    for conversation_id, at in decisions.iterator():
        try:
            pk = uuid.UUID(conversation_id)
        except ValueError:
            continue
        conversation = Conversation.objects.filter(pk=pk).values_list(
            "organisation_id", "created_by_id").first()
        if conversation is None:
            continue
        org_id, sender_id = conversation
        for email in Recipient.objects.filter(conversation_id=pk).values_list("email", flat=True):
            first.setdefault((org_id, sender_id, email.strip().lower()), at)
    SensitiveContact.objects.bulk_create(
        [SensitiveContact(organisation_id=o, sender_id=u, address=a, first_sent_at=at)
         for (o, u, a), at in first.items()],
        batch_size=1000, ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('dlp', '0002_sensitive_contact'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('messaging', '0005_datakey_in_keystore'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='sensitivecontact',
            name='dlp_sensitive_contact_per_org',
        ),
        migrations.AddField(
            model_name='sensitivecontact',
            name='sender',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(per_sender, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='sensitivecontact',
            name='sender',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='sensitivecontact',
            constraint=models.UniqueConstraint(fields=('organisation', 'sender', 'address'), name='dlp_sensitive_contact_per_sender'),
        ),
    ]
