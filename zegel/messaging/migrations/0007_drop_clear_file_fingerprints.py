"""The file's hash and content type live in its sealed metadata now (0006)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_bind_ciphertext_to_owner")]
    operations = [
        migrations.RemoveField(model_name="attachment", name="sha256"),
        migrations.RemoveField(model_name="attachment", name="content_type"),
    ]
