"""Data keys remember the context they were wrapped with (format v2), for rotation."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("keystore", "0001_initial")]
    operations = [
        migrations.AddField(model_name="datakey", name="context",
                            field=models.BinaryField(default=b"")),
    ]
