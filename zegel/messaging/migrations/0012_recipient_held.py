"""Held recipients (sent without a usable way to verify, no link until the sender adds it), the
version of a recipient's way to verify, which ends portal sessions verified before a change,
and the methods the data-leak rules required of a conversation's recipients, which a change
must keep to. Every column has a database default: existing recipients are not held, at version
0, and existing conversations require nothing (their sends were checked when they were sent).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0011_subject_search_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='conversation',
            name='required_methods',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddField(
            model_name='recipient',
            name='auth_version',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='recipient',
            name='held_reason',
            field=models.CharField(blank=True, db_default='', default='', max_length=32),
        ),
        migrations.AlterField(
            model_name='recipientevent',
            name='kind',
            field=models.CharField(choices=[('notified', 'notified'), ('bounced', 'notification bounced'), ('failed', 'notification failed'), ('verified', 'verified'), ('opened', 'opened'), ('downloaded', 'attachment downloaded'), ('replied', 'replied'), ('locked', 'locked after failed attempts'), ('revoked', 'access revoked'), ('held', 'held: not sent yet'), ('released', 'released'), ('method_changed', 'verification changed')], max_length=16),
        ),
    ]
