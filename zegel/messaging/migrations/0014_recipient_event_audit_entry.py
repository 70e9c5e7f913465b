import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Each recipient event names the audit entry that records it. Events from before stay
    unlinked: matching them to entries afterwards would be a guess."""

    dependencies = [
        ("audit", "0005_guard_head_and_truncate"),
        ("messaging", "0013_held_recipients_saved_copies"),
    ]

    operations = [
        migrations.AddField(
            model_name="recipientevent",
            name="audit_entry",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="audit.auditevent",
                                    db_constraint=False),
        ),
    ]
