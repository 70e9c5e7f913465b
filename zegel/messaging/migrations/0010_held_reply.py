import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('keystore', '0001_initial'),
        ('messaging', '0009_message_audience'),
    ]

    operations = [
        migrations.CreateModel(
            name='HeldReply',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('content_oid', models.UUIDField(default=uuid.uuid4)),
                ('content_ct', models.BinaryField()),
                ('secret_hash', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('key', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='keystore.datakey')),
                ('link', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='messaging.recipientlink')),
                ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='messaging.recipient')),
            ],
        ),
    ]
