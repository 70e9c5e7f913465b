"""Data keys move from the messaging app to their own: the table stays, only Django's idea of
which app owns it changes (no SQL runs)."""

import uuid

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("messaging", "0004_conversation_expires")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DataKey",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False,
                                                primary_key=True, serialize=False)),
                        ("kek_id", models.CharField(max_length=16)),
                        ("wrapped", models.BinaryField()),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("shredded_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "messaging_datakey"},
                ),
            ],
            database_operations=[],
        ),
    ]
