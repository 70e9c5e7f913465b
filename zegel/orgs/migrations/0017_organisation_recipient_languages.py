from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0016_communication_kit'),
    ]

    operations = [
        migrations.AddField(
            model_name='organisation',
            name='recipient_languages',
            field=models.CharField(db_default='nl,en', default='nl,en', max_length=100, verbose_name='languages offered to recipients'),
        ),
        migrations.AddField(
            model_name='organisation',
            name='default_language',
            field=models.CharField(db_default='nl', default='nl', max_length=10, verbose_name="recipients' default language"),
        ),
    ]
