"""Who may see and change what: one helper per object type, used by the sender app, the API and
the actions alike, so the rule is written once.

Staff: a conversation is seen and changed only by the sender who created it, in their own
organisation (DESIGN.md's "colleagues with access" is not built yet). Its messages, recipients
and attachments follow the conversation. Guests: a recipient whose access was revoked, or whose
conversation was revoked or has expired, is gone.

Every refusal is the same NotFound, so nobody can tell someone else's object from one that does
not exist. Actions call these with ``for_update=True`` inside their transaction: the row is
re-read and locked, and the rule is checked on what the database holds now, not on the object a
view read a moment before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.messaging.errors import NotFound
from zegel.messaging.models import Attachment, Conversation, Message, Recipient
from zegel.orgs.models import User


def _uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def visible_conversations(user: User) -> QuerySet[Conversation]:
    """The conversations this staff user may see and change: the rule itself."""
    return Conversation.objects.filter(organisation_id=user.organisation_id, created_by_id=user.pk)


def conversation_for_user(user: User, pk: object, *, for_update: bool = False) -> Conversation:
    conversation_id = _uuid(pk)
    conversations = visible_conversations(user).select_related("organisation", "created_by")
    if for_update:
        conversations = conversations.select_for_update(of=("self",), no_key=True)
    found = conversations.filter(pk=conversation_id).first() if conversation_id else None
    if found is None:
        raise NotFound(_("Conversation not found."))
    return found


def message_for_user(user: User, pk: object) -> Message:
    message_id = _uuid(pk)
    found = (Message.objects.select_related("conversation__organisation")
             .filter(pk=message_id, conversation__in=visible_conversations(user)).first()
             if message_id else None)
    if found is None:
        raise NotFound(_("Message not found."))
    return found


def recipient_for_user(user: User, conversation: Conversation, pk: object, *,
                       for_update: bool = False) -> Recipient:
    """A recipient of a conversation this user may see."""
    recipients = Recipient.objects.filter(conversation_id=conversation.pk,
                                          conversation__in=visible_conversations(user))
    if for_update:
        recipients = recipients.select_for_update(of=("self",), no_key=True)
    try:
        found = recipients.filter(pk=int(str(pk))).first()
    except ValueError:
        found = None
    if found is None:
        raise NotFound(_("Recipient not found."))
    return found


def attachment_for_user(user: User, conversation: Conversation, pk: object) -> Attachment:
    """A sent attachment in a conversation this user may see."""
    attachment_id = _uuid(pk)
    found = (Attachment.objects.select_related("key", "organisation")
             .filter(pk=attachment_id, message__conversation_id=conversation.pk,
                     message__conversation__in=visible_conversations(user)).first()
             if attachment_id else None)
    if found is None:
        raise NotFound(_("An attachment could not be found."))
    return found


def draft_attachments(ids: Iterable[object], *, user: User | None = None,
                      recipient: Recipient | None = None, for_update: bool = False,
                      missing_ok: bool = False) -> list[Attachment]:
    """Uploads of this person that no message has yet. An id that is not one of them
    (someone else's, already sent, removed by the sweep) is refused, or with ``missing_ok``
    left out (a form posting back the drafts it showed)."""
    wanted = {_uuid(value) for value in ids}
    if None in wanted and not missing_ok:
        raise NotFound(_("An attachment could not be found."), field="attachments")
    wanted.discard(None)
    if not wanted:
        return []  # nothing asked for: no query to build (most messages have no files)
    drafts = Attachment.objects.filter(pk__in=wanted, message__isnull=True,
                                       uploaded_by_user_id=user.pk if user else None,
                                       uploaded_by_recipient_id=recipient.pk if recipient else None)
    # A draft whose key was destroyed can never be read or sent.
    drafts = drafts.filter(key__shredded_at__isnull=True).exclude(key__wrapped=b"")
    if for_update:
        drafts = drafts.select_for_update(of=("self",), no_key=True)
    found = list(drafts.select_related("key").order_by("created_at", "id"))
    if len(found) != len(wanted) and not missing_ok:
        raise NotFound(_("An attachment could not be found."), field="attachments")
    return found


def recipient_for_guest(pk: int, *, for_update: bool = False) -> Recipient:
    """The recipient behind a portal session, if their access still holds: not revoked, the
    conversation not revoked and not expired. Being locked out is the caller's to handle,
    because the portal says so instead of "not found"."""
    recipients = Recipient.objects.select_related("conversation__organisation",
                                                  "conversation__created_by")
    if for_update:
        recipients = recipients.select_for_update(of=("self",), no_key=True)
    found = recipients.filter(pk=pk).first()
    if found is None or not guest_access_holds(found):
        raise NotFound(_("This message is no longer available."))
    return found


def guest_access_holds(recipient: Recipient) -> bool:
    """The guest rule itself: neither the recipient nor the conversation was revoked (in either
    scope), the conversation has not expired (the end date counts from its moment, not from
    when the periodic job records it), and the recipient is not held (a held one has no link;
    this keeps it out even if one turned up)."""
    conversation = recipient.conversation
    return (recipient.revoked_at is None and conversation.revoked_at is None
            and conversation.closed_at is None and not recipient.held_reason
            and (conversation.expires_at is None or conversation.expires_at > timezone.now()))
