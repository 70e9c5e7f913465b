import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notify", "0002_initial"), ("keystore", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxitem", name="key",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="keystore.datakey"),
                ),
            ],
            database_operations=[],
        ),
    ]
