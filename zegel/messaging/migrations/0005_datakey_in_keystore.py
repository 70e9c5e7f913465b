"""Data keys now belong to the keystore app (same table; no SQL runs)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_conversation_expires"),
        ("keystore", "0001_initial"),
        ("notify", "0003_datakey_in_keystore"),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message", name="key",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="keystore.datakey"),
                ),
                migrations.AlterField(
                    model_name="attachment", name="key",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="keystore.datakey"),
                ),
                migrations.DeleteModel(name="DataKey"),
            ],
            database_operations=[],
        ),
    ]
