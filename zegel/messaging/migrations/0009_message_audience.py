from typing import Any

from django.db import migrations, models


def address_existing_messages(apps: Any, schema_editor: Any) -> None:
    """Before this migration every recipient read every staff message sent since they were
    added (recipient.created_at <= message.created_at). Each existing staff message is
    addressed to exactly those recipients, so nobody gains or loses a message. One statement,
    in the database: no conversation is read into memory."""
    Message = apps.get_model("messaging", "Message")
    Recipient = apps.get_model("messaging", "Recipient")
    quote = schema_editor.quote_name
    audience = quote(Message.audience.through._meta.db_table)
    messages = quote(Message._meta.db_table)
    recipients = quote(Recipient._meta.db_table)
    schema_editor.execute(
        f"INSERT INTO {audience} (message_id, recipient_id) "
        f"SELECT m.id, r.id FROM {messages} m JOIN {recipients} r "
        "ON r.conversation_id = m.conversation_id "
        "WHERE m.author_user_id IS NOT NULL AND r.created_at <= m.created_at")


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0008_recipient_last_failed'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='audience',
            field=models.ManyToManyField(blank=True, related_name='addressed_messages',
                                         to='messaging.recipient'),
        ),
        migrations.AlterField(
            model_name='recipient',
            name='kind',
            field=models.CharField(choices=[('to', 'To'), ('cc', 'CC'), ('bcc', 'BCC')],
                                   default='to', max_length=3),
        ),
        migrations.RunPython(address_existing_messages, migrations.RunPython.noop),
    ]
