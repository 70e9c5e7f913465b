"""The keyed index of subject words (zegel.messaging.search, docs/crypto.md "Subject search"),
filled for the conversations that still have their content. Like 0006 this needs the key file
that wrapped the existing keys; with no live conversation it never opens it."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from zegel.crypto.keyring import get_keyring
from zegel.crypto.stream import decrypt_bytes
from zegel.keystore.binding import Owner, Role, binding, wrap_context
from zegel.messaging.search import tokens


def fill(apps: Any, schema_editor: Any) -> None:
    Conversation = apps.get_model("messaging", "Conversation")
    Message = apps.get_model("messaging", "Message")
    SubjectWord = apps.get_model("messaging", "SubjectWord")
    live = Conversation.objects.filter(revoked_at__isnull=True)
    if not live.exists():
        return
    keyring = get_keyring()
    for conversation in live.iterator():
        first = (Message.objects.select_related("key").filter(conversation=conversation)
                 .order_by("created_at", "id").first())
        if first is None or first.key.shredded_at is not None or not first.key.wrapped:
            continue
        owner = Owner(kind="message", organisation=conversation.organisation_id,
                      conversation=conversation.pk, message=first.pk)
        dek = keyring.unwrap(first.key.kek_id, bytes(first.key.wrapped),
                             context=wrap_context(first.key.id, owner))
        subject = decrypt_bytes(dek, first.subject_oid.bytes, bytes(first.subject_ct),
                                context=binding(Role.SUBJECT, owner)).decode("utf-8")
        SubjectWord.objects.bulk_create(
            [SubjectWord(conversation_id=conversation.pk, token=t)
             for t in sorted(set(tokens(conversation.organisation_id, subject)))])


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0010_held_reply'),
    ]

    operations = [
        migrations.CreateModel(
            name='SubjectWord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='subject_words', to='messaging.conversation')),
            ],
            options={
                'indexes': [models.Index(fields=['token'], name='subject_word_token')],
                'constraints': [models.UniqueConstraint(fields=('conversation', 'token'), name='subject_word_once_per_conversation')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
