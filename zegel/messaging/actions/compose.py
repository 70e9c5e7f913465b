"""Sending: a new conversation, or the sender's answer in one."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.db import retry_on_conflict
from zegel.keystore.binding import Role
from zegel.keystore.keys import create_data_key, seal_text
from zegel.messaging import access, guards
from zegel.messaging.actions.attachments import check_owned, claim_attachments
from zegel.messaging.content import conversation_subject, may_receive_answer
from zegel.messaging.drafts import (
    RecipientSpec,
    check_recipients,
    expiry_refusal,
    hold_refused_methods,
    method_refusals,
    with_directory,
)
from zegel.messaging.errors import ActionError, ActionErrors, FieldError
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
    RecipientLink,
)
from zegel.messaging.search import index_subject
from zegel.messaging.validation import (
    clean_display_name,
    mask_phone,
)
from zegel.notify.emails import render_email
from zegel.notify.outbox import enqueue_email
from zegel.orgs.models import User, hash_token

MAX_SUBJECT = 300
MAX_BODY = 1_000_000


def new_message(conversation: Conversation, subject: str, body: str, *,
                 user: User | None = None, recipient: Recipient | None = None) -> Message:
    if len(subject) > MAX_SUBJECT:
        raise ActionError(_("The subject is too long."), field="subject")
    if len(body) > MAX_BODY:
        raise ActionError(_("The message is too long."), field="body")
    message = Message(conversation=conversation, author_user=user, author_recipient=recipient)
    owner = message.owner()
    message.key, dek = create_data_key(owner=owner)
    message.subject_ct = seal_text(dek, message.subject_oid, subject, role=Role.SUBJECT,
                                   owner=owner)
    message.body_ct = seal_text(dek, message.body_oid, body, role=Role.BODY, owner=owner)
    message.save()
    return message


def notify_recipient(recipient: Recipient, message: Message, sender: User, *,
                      dedupe_key: str = "") -> None:
    token = secrets.token_urlsafe(32)
    RecipientLink.objects.create(recipient=recipient, token_hash=hash_token(token))
    org = sender.organisation
    from_name, reply_to = org.notification_from(sender)
    # In the organisation's default language, with a short line in each other language it
    # offers (Zegel knows no recipient's own language before they open the portal).
    language = org.recipient_language
    email = render_email(
        "notification",
        {"org": org, "sender_name": sender.display_name, "recipient": recipient,
         "masked_phone": mask_phone(recipient.phone) if recipient.phone else "",
         "expires_at": message.conversation.expires_at,
         "link": f"{settings.BASE_URL}/m/{token}", "reply_to_sender": bool(reply_to),
         "other_languages": [code for code in org.offered_languages if code != language]},
        to=recipient.email,
        from_name=from_name,
        language=language,
    )
    if reply_to:
        email = dataclasses.replace(email, reply_to=reply_to)
    # Without a key of the caller's, the key names the message just created: no row has it.
    enqueue_email(org, email, dedupe_key=dedupe_key or f"notify:{message.pk}:{recipient.pk}",
                  purpose="notification", recipient=recipient, message=message,
                  new_key=not dedupe_key)


@retry_on_conflict
def send_message(*, sender: User, subject: str, body: str, recipients: Sequence[RecipientSpec],
                 attachments: Sequence[Attachment] = (), request: HttpRequest | None = None,
                 via: str = "web", dlp_confirmed: bool = False,
                 expires_at: datetime | None = None, hold_incomplete: bool = False) -> Message:
    """Send a new conversation, if the organisation's data-leak rules let it go.

    ``dlp_confirmed`` is the sender's confirmation that a warning was read. With
    ``hold_incomplete`` (the API), a recipient that lacks a usable way to verify is held
    instead of refusing the whole send: it is created without a link and without a
    notification, and the sender releases it by adding what is missing
    (actions.verification.change_verification). The compose page refuses instead: its sender
    is there to fix the field.
    """
    subject = clean_display_name(subject)
    # The directory first: a recipient given by address alone gets its method and details.
    recipients = with_directory(sender.organisation, recipients)
    # Every problem of the form at once (ActionErrors), in the order the compose page shows
    # its fields: recipients, subject, message, end date.
    clean, errors = check_recipients(recipients, hold=hold_incomplete)
    if hold_incomplete:
        hold_refused_methods(sender.organisation, clean)
    else:
        errors.extend(method_refusals(sender.organisation, recipients))
    if not subject:
        errors.append(FieldError("subject", _("Enter a subject.")))
    if not body.strip() and not attachments:
        errors.append(FieldError("body", _("Write a message or add an attachment.")))
    if expires_at is not None and expires_at <= timezone.now():
        errors.append(FieldError("expires_at", _("Choose a date in the future.")))
    elif (too_long := expiry_refusal(sender.organisation, expires_at)) is not None:
        errors.append(FieldError("expires_at", too_long))
    if errors:
        raise ActionErrors(errors)
    check_owned(attachments, user=sender)
    draft = guards.Draft(sender=sender, subject=subject, body=body, recipients=clean,
                         attachments=attachments, via=via, confirmed=dlp_confirmed,
                         request=request)
    # The data-leak scan reads every file and may take seconds, so it runs before the
    # transaction (a write lock held that long would stall every other writer on SQLite); what
    # it cannot see change is checked again under lock below (the drafts are still this
    # sender's and still unbound).
    verdicts = _scan(draft, attachments)
    with transaction.atomic(durable=True):
        conversation = Conversation.objects.create(
            organisation=sender.organisation, created_by=sender, expires_at=expires_at,
            required_methods=guards.joined_methods("", guards.required_methods(verdicts)))
        message = new_message(conversation, subject, body, user=sender)
        index_subject(conversation, subject)
        claim_attachments(attachments, message, user=sender)
        created = []
        for spec in clean:
            recipient = Recipient.objects.create(
                conversation=conversation, email=spec.email, name=spec.name, kind=spec.kind,
                method=spec.method, phone=spec.phone, access_code_hash=spec.access_code_hash,
                access_code_hint=spec.access_code_hint, created_at=message.created_at,
                held_reason=spec.held_reason,
            )
            created.append(recipient)
            if recipient.held_reason:
                # No link and no notification: nothing can open the message for it yet.
                RecipientEvent.objects.create(recipient=recipient, message=message,
                                              kind=RecipientEvent.Kind.HELD,
                                              detail=recipient.held_reason)
            else:
                notify_recipient(recipient, message, sender)
        # The first message is addressed to everyone it was sent to.
        message.audience.add(*created)
        conversation.new_recipients = created
        held = {r.email: r.held_reason for r in clean if r.held_reason}
        record("message.sent", organisation=sender.organisation, **staff_actor(sender),
               object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "via": via,
                     "recipients": [r.email for r in clean],
                     "methods": [r.method for r in clean], "attachments": len(attachments),
                     **({"held": held} if held else {})})
        guards.after_send(draft, verdicts, conversation)
    return message


def _scan(draft: guards.Draft, attachments: Sequence[Attachment]) -> list[Any]:
    try:
        return guards.before_send(draft)
    except OSError:
        # A draft's file went while it was read (the sweep removed it): refuse the send as for
        # any draft that is gone, instead of failing with a server error.
        check_owned(attachments, user=draft.sender)
        raise


@retry_on_conflict
def answer_conversation(*, sender: User, conversation: Conversation, body: str,
                        attachments: Sequence[Attachment] = (),
                        audience: Sequence[object] | None = None,
                        request: HttpRequest | None = None, via: str = "web",
                        dlp_confirmed: bool = False) -> Message:
    """The sender's answer in one of their conversations, addressed to ``audience`` (recipient
    ids of this conversation), or to every recipient who can still open it when that is None.
    Only the answer's audience is notified of it and can read it (docs/architecture.md)."""
    # Checked first without a lock, so nobody scans content into someone else's conversation,
    # and again under lock: it may have been revoked while the scan ran.
    conversation = access.conversation_for_user(sender, conversation.pk)
    _refuse_revoked(conversation)
    wanted = _audience_ids(audience)
    addressed = _addressed(conversation, wanted)
    if not body.strip() and not attachments:
        raise ActionError(_("Write a message or add an attachment."), field="body")
    subject = conversation_subject(conversation)
    check_owned(attachments, user=sender)
    draft = guards.Draft(sender=sender, subject=subject, body=body, recipients=addressed,
                         attachments=attachments, via=via, confirmed=dlp_confirmed,
                         request=request)
    verdicts = _scan(draft, attachments)
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        _refuse_revoked(conversation)
        # Checked again under lock: a recipient revoked or locked out since the scan is left
        # out of "everyone", and refused when chosen by id.
        addressed = _addressed(conversation, wanted, for_update=True)
        message = new_message(conversation, subject, body, user=sender)
        claim_attachments(attachments, message, user=sender)
        message.audience.add(*addressed)
        for recipient in addressed:
            # A held recipient is addressed (it reads the answer once released) but has no
            # link to be told of yet.
            if not recipient.held_reason:
                notify_recipient(recipient, message, sender)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_activity_at=message.created_at, has_unread_reply=False,
            required_methods=guards.joined_methods(conversation.required_methods,
                                                   guards.required_methods(verdicts)))
        record("message.sent", organisation=sender.organisation, **staff_actor(sender),
               object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "answer": True,
                     "recipients": [r.email for r in addressed],
                     "attachments": len(attachments)})
        guards.after_send(draft, verdicts, conversation)
    return message


def _audience_ids(audience: Sequence[object] | None) -> set[int] | None:
    if audience is None:
        return None
    ids = set()
    for value in audience:
        try:
            ids.add(int(str(value).strip()))
        except ValueError:
            raise ActionError(_("Choose who receives the answer from the recipients of this "
                                "conversation."), field="audience") from None
    if not ids:
        raise ActionError(_("Choose at least one recipient for the answer."), field="audience")
    return ids


def _addressed(conversation: Conversation, wanted: set[int] | None, *,
               for_update: bool = False) -> list[Recipient]:
    """The answer's audience: the wanted recipients (all who can open it for None), each one a
    recipient of this conversation who can still open it; otherwise an error that names who
    cannot receive it."""
    recipients = conversation.recipients.all()
    if for_update:
        recipients = recipients.select_for_update(of=("self",), no_key=True)
    everyone = list(recipients)
    able = [r for r in everyone if may_receive_answer(r)]
    if wanted is None:
        if not able:
            raise ActionError(_("Nobody can receive an answer: the access of every recipient "
                                "was revoked or blocked."), field="audience", status=409)
        return able
    known = {r.pk: r for r in everyone}
    unknown = wanted - known.keys()
    if unknown:
        raise ActionError(_("Choose who receives the answer from the recipients of this "
                            "conversation."), field="audience")
    unable = [known[pk] for pk in sorted(wanted) if known[pk] not in able]
    if unable:
        raise ActionError(_("%(who)s can no longer open this conversation (access revoked or "
                            "blocked), so cannot receive the answer.")
                          % {"who": unable[0].label}, field="audience", status=409)
    return [r for r in able if r.pk in wanted]


def _refuse_revoked(conversation: Conversation) -> None:
    if conversation.revoked_at is not None:
        raise ActionError(_("This conversation was revoked; it cannot be answered."),
                          status=409)
    # Revoked for recipients, or past its end date: nobody could open the answer.
    if conversation.closed_at is not None or (conversation.expires_at is not None
                                              and conversation.expires_at <= timezone.now()):
        raise ActionError(_("The recipients' access has ended; this conversation cannot be "
                            "answered."), status=409)


def mark_seen_by_sender(*, sender: User, conversation: Conversation) -> None:
    """The sender looked at the conversation: it leaves the inbox. One conditional UPDATE,
    with the access rule in its WHERE, so there is nothing to lock first."""
    with transaction.atomic(durable=True):
        access.visible_conversations(sender).filter(
            pk=conversation.pk, has_unread_reply=True).update(has_unread_reply=False)
