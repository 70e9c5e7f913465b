"""Every action is its own transaction: it refuses to run inside someone else's, where its
writes and its audit event could still be rolled back after it returned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tests.conftest import deliver_and_get_link, send
from tests.messaging.test_attachments import make_attachment
from zegel.messaging import actions
from zegel.messaging.models import Conversation, HeldReply, Message, Recipient
from zegel.orgs.models import Organisation, User


@pytest.fixture
def message(sender: User) -> Message:
    sent = send(sender, attachments=[make_attachment(sender, b"dossier")])
    deliver_and_get_link()
    return sent


def _calls(sender: User, message: Message) -> dict[str, Callable[[], Any]]:
    conversation = message.conversation
    recipient = Recipient.objects.get()
    later = timezone.now() + timedelta(days=3)
    draft = make_attachment(sender, b"weggehaald")
    Organisation.objects.filter(pk=sender.organisation_id).update(remember_browser_days=30)
    # (The apply_due case ends the conversation first: then there is nothing to remember.)
    try:
        remembered = actions.remember_browser(recipient)
    except actions.NotFound:
        remembered = None
    secret = remembered.secret if remembered else "unused"
    return {
        "send_message": lambda: send(sender),
        "answer_conversation": lambda: actions.answer_conversation(
            sender=sender, conversation=conversation, body="Nog iets."),
        "mark_seen_by_sender": lambda: actions.mark_seen_by_sender(
            sender=sender, conversation=conversation),
        "store_upload": lambda: make_attachment(sender, b"nog een"),
        "discard_draft_attachments": actions.discard_draft_attachments,
        "remove_draft": lambda: actions.remove_draft(draft.pk, user=sender),
        "request_code": lambda: actions.request_code(recipient, "session"),
        "verify_code": lambda: actions.verify_code(recipient, "123456", "session"),
        "verify_access_code": lambda: actions.verify_access_code(recipient, "code"),
        "lock_recipient": lambda: actions.lock_recipient(recipient),
        "record_opened": lambda: actions.record_opened(recipient, [message]),
        "record_download": lambda: actions.record_download(message.attachments.get(),
                                                           recipient=recipient),
        "reply_as_recipient": lambda: actions.reply_as_recipient(recipient, "Dank u."),
        "revoke_recipient": lambda: actions.revoke_recipient(sender=sender, recipient=recipient),
        "revoke_conversation": lambda: actions.revoke_conversation(sender=sender,
                                                                   conversation=conversation),
        "set_expiry": lambda: actions.set_expiry(sender=sender, conversation=conversation,
                                                 expires_at=later),
        "resend_notification": lambda: actions.resend_notification(sender=sender,
                                                                   recipient=recipient),
        "revoke_for_recipients": lambda: actions.revoke_for_recipients(
            sender=sender, conversation=conversation),
        "schedule_revocation": lambda: actions.schedule_revocation(
            sender=sender, conversation=conversation, scope="everyone", at=later),
        "cancel_revocation": lambda: actions.cancel_revocation(sender=sender,
                                                               conversation=conversation),
        "apply_due": actions.apply_due,
        "hold_reply": lambda: actions.hold_reply(recipient, recipient.links.get(), "Later.", []),
        "release_held_reply": lambda: actions.release_held_reply(
            recipient, recipient.links.get(), "secret"),
        "purge_held_replies": actions.purge_held_replies,
        "change_verification": lambda: actions.change_verification(
            sender=sender, recipient=recipient, method="sms", phone="06 11112222"),
        "remember_browser": lambda: actions.remember_browser(recipient),
        "open_remembered": lambda: actions.open_remembered(recipient, secret),
        "forget_browser": lambda: actions.forget_browser(secret),
        "purge_remembered_browsers": actions.purge_remembered_browsers,
        "request_help": lambda: actions.request_help(recipient, "Geen code."),
        "record_own_copy": lambda: actions.record_own_copy(recipient, [message], form="pdf"),
    }


ACTIONS = [
    "send_message", "answer_conversation", "mark_seen_by_sender", "store_upload",
    "discard_draft_attachments", "remove_draft", "request_code", "verify_code",
    "verify_access_code",
    "lock_recipient", "record_opened", "record_download", "reply_as_recipient",
    "revoke_recipient", "revoke_conversation", "set_expiry", "resend_notification",
    "hold_reply", "release_held_reply", "purge_held_replies",
    "change_verification", "remember_browser", "open_remembered", "forget_browser",
    "purge_remembered_browsers", "request_help", "record_own_copy",
    "revoke_for_recipients", "schedule_revocation", "cancel_revocation", "apply_due",
]


@pytest.mark.parametrize("name", ACTIONS)
def test_an_action_refuses_to_run_inside_another_transaction(
        name: str, sender: User, message: Message) -> None:
    if name == "apply_due":
        Conversation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    if name == "purge_held_replies":
        recipient = Recipient.objects.get()
        actions.hold_reply(recipient, recipient.links.get(), "Later.", [])
        HeldReply.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    call = _calls(sender, message)[name]
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        call()


def test_every_action_of_the_package_is_checked() -> None:
    public = {name for name in actions.__all__
              if callable(getattr(actions, name)) and name[0].islower()
              # A check of input, and a read: neither writes.
              and name not in {"clean_recipients", "remembered_until"}}
    assert public == set(ACTIONS)
