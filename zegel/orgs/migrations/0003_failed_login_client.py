from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_failed_login'),
    ]

    operations = [
        migrations.AddField(
            model_name='failedlogin',
            name='client',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddIndex(
            model_name='failedlogin',
            index=models.Index(fields=['client', 'at'], name='orgs_failedlogin_client_at'),
        ),
    ]
