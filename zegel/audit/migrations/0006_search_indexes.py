"""Indexes for the audit page's searches (who, object, address), each led by the organisation
and ending with the id, so a page newest first is one short index range (docs/admin.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_guard_head_and_truncate'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['organisation', 'id'], name='audit_org_id'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['organisation', 'object_id', 'id'], name='audit_org_object'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['organisation', 'actor_label', 'id'], name='audit_org_actor'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['organisation', 'ip', 'id'], name='audit_org_ip'),
        ),
    ]
