"""Each staff message has an audience: only those recipients are notified of it and can read
it. The first message goes to everyone it was sent to; an answer to the recipients chosen."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.conftest import send
from zegel.messaging import actions, content
from zegel.messaging.models import Conversation, Message, Recipient
from zegel.notify.models import OutboxItem
from zegel.orgs.models import User

PARENTS = [actions.RecipientSpec(email="moeder@example.nl", name="Moeder", method="email"),
           actions.RecipientSpec(email="vader@example.nl", name="Vader", method="email")]


def _two_parents(sender: User) -> tuple[Conversation, Recipient, Recipient]:
    message = send(sender, recipients=PARENTS)
    conversation = message.conversation
    mother, father = conversation.recipients.order_by("id")
    return conversation, mother, father


def _notified(message: Message) -> set[int]:
    return set(OutboxItem.objects.filter(message=message, purpose="notification")
               .values_list("recipient_id", flat=True))


def test_the_first_message_is_addressed_to_everyone_it_was_sent_to(sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    first = conversation.messages.get()
    assert set(first.audience.all()) == {mother, father}
    assert _notified(first) == {mother.pk, father.pk}


def test_an_answer_to_one_recipient_reaches_only_that_recipient(sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    question = actions.reply_as_recipient(mother, "Mag ik iets vragen over mijn kind?")
    answer = actions.answer_conversation(sender=sender, conversation=conversation,
                                         body="Alleen voor u", audience=[mother.pk])
    assert list(answer.audience.all()) == [mother]
    assert _notified(answer) == {mother.pk}
    assert answer in content.visible_messages(mother)
    assert question in content.visible_messages(mother)
    seen_by_father = set(content.visible_messages(father))
    assert answer not in seen_by_father and question not in seen_by_father
    assert seen_by_father == {conversation.messages.order_by("created_at").first()}


def test_an_answer_without_audience_goes_to_everyone_who_can_still_open_it(
        sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    actions.revoke_recipient(sender=sender, recipient=father)
    answer = actions.answer_conversation(sender=sender, conversation=conversation,
                                         body="Voor iedereen")
    assert list(answer.audience.all()) == [mother]
    assert _notified(answer) == {mother.pk}


def test_a_locked_recipient_is_not_in_everyone_and_cannot_be_chosen(sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    Recipient.objects.filter(pk=father.pk).update(locked_at=timezone.now())
    answer = actions.answer_conversation(sender=sender, conversation=conversation, body="Hoi")
    assert list(answer.audience.all()) == [mother]
    with pytest.raises(actions.ActionError) as caught:
        actions.answer_conversation(sender=sender, conversation=conversation, body="Hoi",
                                    audience=[father.pk])
    assert caught.value.field == "audience" and "vader@example.nl" in caught.value.message
    assert content.answerable(conversation) == [mother]


@pytest.mark.parametrize("audience", [[], ["abc"], [999_999], "other"])
def test_a_bad_audience_is_refused_and_nothing_is_sent(sender: User, audience: Any) -> None:
    conversation, _mother, _father = _two_parents(sender)
    other = send(sender, recipients=[actions.RecipientSpec(email="ander@example.nl",
                                                           method="email")])
    if audience == "other":  # a recipient of another conversation of the same sender
        audience = [other.conversation.recipients.get().pk]
    before = Message.objects.count(), OutboxItem.objects.count()
    with pytest.raises(actions.ActionError) as caught:
        actions.answer_conversation(sender=sender, conversation=conversation, body="Hoi",
                                    audience=audience)
    assert caught.value.field == "audience"
    assert caught.value.message
    assert (Message.objects.count(), OutboxItem.objects.count()) == before


def test_an_answer_nobody_can_receive_is_refused(sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    for recipient in (mother, father):
        actions.revoke_recipient(sender=sender, recipient=recipient)
    with pytest.raises(actions.ActionError) as caught:
        actions.answer_conversation(sender=sender, conversation=conversation, body="Hoi")
    assert caught.value.field == "audience" and caught.value.status == 409


def test_a_notification_sent_again_names_the_latest_message_for_that_recipient(
        sender: User) -> None:
    conversation, mother, father = _two_parents(sender)
    first = conversation.messages.get()
    actions.answer_conversation(sender=sender, conversation=conversation, body="Moeder",
                                audience=[mother.pk])
    actions.resend_notification(sender=sender, recipient=father)
    resent = OutboxItem.objects.filter(recipient=father).order_by("-id").first()
    assert resent is not None and resent.message_id == first.pk


def test_bcc_is_a_kind_and_a_bad_kind_is_refused(sender: User) -> None:
    message = send(sender, recipients=[
        actions.RecipientSpec(email="a@example.nl", method="email"),
        actions.RecipientSpec(email="b@example.nl", method="email", kind="bcc")])
    kinds = dict(message.conversation.recipients.values_list("email", "kind"))
    assert kinds == {"a@example.nl": "to", "b@example.nl": "bcc"}
    with pytest.raises(actions.ActionError) as caught:
        send(sender, recipients=[actions.RecipientSpec(email="c@example.nl", method="email",
                                                       kind="xx")])
    assert caught.value.field == "0.kind"


def test_the_portal_shows_to_and_cc_of_the_same_message_never_bcc(sender: User) -> None:
    message = send(sender, recipients=[
        actions.RecipientSpec(email="to@example.nl", method="email"),
        actions.RecipientSpec(email="cc@example.nl", method="email", kind="cc"),
        actions.RecipientSpec(email="bcc@example.nl", method="email", kind="bcc")])
    to, cc, bcc = message.conversation.recipients.order_by("id")
    shown = {r.email: [o.email for o in content.shown_to(message, r)] for r in (to, cc, bcc)}
    assert shown == {"to@example.nl": ["cc@example.nl"], "cc@example.nl": ["to@example.nl"],
                     "bcc@example.nl": ["to@example.nl", "cc@example.nl"]}
    answer = actions.answer_conversation(sender=sender, conversation=message.conversation,
                                         body="Alleen aan bcc", audience=[bcc.pk, cc.pk])
    # To/CC on *that* message only: the To recipient of the first message is not named.
    assert [r.email for r in content.shown_to(answer, bcc)] == ["cc@example.nl"]
    assert content.shown_to(answer, cc) == []


BEFORE = ("messaging", "0008_recipient_last_failed")


def _migrate(before: tuple[str, str] | None = None) -> Any:
    """Every app at its newest migration, but messaging at `before` if given."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    plan = [before if before and node[0] == before[0] else node
            for node in executor.loader.graph.leaf_nodes()]
    executor.migrate(plan)
    return executor.loader.project_state(plan).apps


def test_the_migration_addresses_old_messages_to_whoever_could_read_them(
        transactional_db: None) -> None:
    apps = _migrate(BEFORE)
    try:
        org = apps.get_model("orgs", "Organisation").objects.create(name="Oud", domain="oud.nl")
        user = apps.get_model("orgs", "User").objects.create(email="oud@oud.nl",
                                                             organisation=org, password="!")
        conversation = apps.get_model("messaging", "Conversation").objects.create(
            organisation=org, created_by=user)
        key = apps.get_model("keystore", "DataKey").objects.create(id=uuid.uuid4(),
                                                                  wrapped=b"x")
        new_message = apps.get_model("messaging", "Message").objects.create
        start = timezone.now()
        first = new_message(conversation=conversation, author_user=user, key=key,
                            created_at=start)
        add = apps.get_model("messaging", "Recipient").objects.create
        early = add(conversation=conversation, email="early@example.nl", method="email",
                    created_at=start)
        later = add(conversation=conversation, email="later@example.nl", method="email",
                    created_at=start + timedelta(minutes=1))
        reply = new_message(conversation=conversation, author_recipient=early, key=key,
                            created_at=start + timedelta(minutes=2))
        second = new_message(conversation=conversation, author_user=user, key=key,
                             created_at=start + timedelta(minutes=3))
    finally:
        _migrate()
    audience = {m.pk: {r.email for r in m.audience.all()}
                for m in Message.objects.filter(pk__in=[first.pk, reply.pk, second.pk])}
    assert audience == {first.pk: {"early@example.nl"}, reply.pk: set(),
                        second.pk: {"early@example.nl", "later@example.nl"}}
    assert later.pk
