import django.db.models.deletion
from django.db import migrations, models


def every_allowed_scope(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Tokens issued before scopes existed keep doing all their user may: nothing breaks."""
    ApiToken = apps.get_model("orgs", "ApiToken")
    ApiToken.objects.filter(user__is_admin=True).update(scopes="send,read,admin")


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0003_failed_login_client'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.CharField(default='send,read', max_length=40),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(every_allowed_scope, migrations.RunPython.noop),
        migrations.CreateModel(
            name='ApiRequestCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('window_start', models.BigIntegerField()),
                ('requests', models.IntegerField(default=0)),
                ('token', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orgs.apitoken')),
            ],
            options={
                'indexes': [models.Index(fields=['window_start'], name='orgs_apirequestcount_window')],
                'constraints': [models.UniqueConstraint(fields=('token', 'window_start'), name='orgs_apirequestcount_token_window')],
            },
        ),
    ]
