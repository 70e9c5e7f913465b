"""A recipient who cannot verify tells the sender: "I don't have my access code", "I did not get
the SMS" (or the e-mail code). The sender gets an e-mail without content and sees the request
in the conversation, with the recipient's short note if they wrote one.

Whoever asks holds only the link, so every request is capped: one per recipient per cooldown,
a few per recipient per day, and a few per client address per day within the organisation.
The note is treated as reply text: sealed, shown to the sender only, never logged or e-mailed.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import client_ip, guest_actor, record
from zegel.crypto.keyring import get_keyring
from zegel.db import retry_on_conflict
from zegel.keystore.binding import Role
from zegel.keystore.keys import seal_text, unwrap
from zegel.messaging import access
from zegel.messaging.content import help_note_owner
from zegel.messaging.errors import ActionError, NotFound
from zegel.messaging.models import HelpRequest, Recipient, RecipientEvent
from zegel.notify.emails import render_email
from zegel.notify.outbox import enqueue_email
from zegel.orgs.models import Organisation

MAX_HELP_NOTE = 500

_REASONS = {
    Recipient.Method.ACCESS_CODE: (HelpRequest.Reason.NO_ACCESS_CODE,
                                   RecipientEvent.Kind.HELP_NO_ACCESS_CODE),
    Recipient.Method.SMS: (HelpRequest.Reason.NO_SMS, RecipientEvent.Kind.HELP_NO_SMS),
    Recipient.Method.EMAIL: (HelpRequest.Reason.NO_EMAIL_CODE,
                             RecipientEvent.Kind.HELP_NO_EMAIL_CODE),
}


@dataclass(frozen=True)
class HelpAnswer:
    """What became of a request for help: sent to the sender, or refused by a cap (``limited``;
    nothing was sent) or because the recipient is locked out."""

    sent: bool
    limited: bool = False
    locked: bool = False


def clean_help_note(text: str) -> str:
    """The note as it is kept: plain text without control characters (newlines and tabs stay),
    trimmed; refused (ActionError on the field "note") when longer than MAX_HELP_NOTE."""
    kept = "".join(c for c in (text or "").replace("\r\n", "\n")
                   if c in "\n\t" or unicodedata.category(c)[0] != "C").strip()
    if len(kept) > MAX_HELP_NOTE:
        raise ActionError(_("Your note is %(length)d characters long; it can be at most "
                            "%(max)d. Make it shorter.") % {"length": len(kept),
                                                            "max": MAX_HELP_NOTE},
                          field="note")
    return kept


def _client_hash(request: HttpRequest | None) -> str:
    address = client_ip(request)
    if not address:
        return ""
    key = get_keyring().derive("help-request-client")
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


@retry_on_conflict
def request_help(recipient: Recipient, note: str = "", *,
                 request: HttpRequest | None = None) -> HelpAnswer:
    """Tell the sender that this recipient cannot verify, unless a cap says no. NotFound once
    access was revoked or the conversation is gone; ActionError for a note that is too long."""
    note = clean_help_note(note)
    client = _client_hash(request)
    with transaction.atomic(durable=True):
        # The organisation's row first (the order request_code takes them in): the cap per
        # client counts this client's requests for every recipient of the organisation, so
        # parallel requests take turns and none sees room under the cap that another took.
        Organisation.objects.select_for_update(no_key=True).filter(
            pk=recipient.conversation.organisation_id).first()
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if recipient.locked_at:
            return HelpAnswer(sent=False, locked=True)
        org = recipient.conversation.organisation
        now = timezone.now()
        cap = _cap_reached(recipient, client, now)
        if cap:
            record("help.refused", organisation=org, **guest_actor(recipient),
                   object_type="recipient", object_id=recipient.pk, request=request,
                   data={"cap": cap})
            return HelpAnswer(sent=False, limited=True)
        message = (recipient.conversation.messages.filter(author_user__isnull=False,
                                                          audience=recipient)
                   .select_related("key", "conversation").order_by("-created_at").first())
        if message is None:
            raise NotFound(_("This message is no longer available."))
        reason, kind = _REASONS[Recipient.Method(recipient.method)]
        help_request = HelpRequest(recipient=recipient, message=message, reason=reason,
                                   client_hash=client, created_at=now)
        if note:
            owner = message.owner()
            help_request.note_ct = seal_text(unwrap(message.key, owner), help_request.note_oid,
                                             note, role=Role.HELP_NOTE,
                                             owner=help_note_owner(help_request, message))
        help_request.save()
        RecipientEvent.objects.create(recipient=recipient, message=message, kind=kind, at=now)
        _tell_sender(recipient, help_request)
        # The audit log last: its head is the last lock of the transaction. Never the note.
        record("help.requested", organisation=org, **guest_actor(recipient),
               object_type="recipient", object_id=recipient.pk, request=request,
               data={"reason": reason, "note": bool(note), "help_request": help_request.pk})
    return HelpAnswer(sent=True)


def _cap_reached(recipient: Recipient, client: str, now: datetime) -> str:
    """Inside request_help's transaction: the name of the first cap a new request would pass,
    or "". Counted from the requests themselves, so a cap holds across restarts and workers."""
    mine = HelpRequest.objects.filter(recipient=recipient)
    last = mine.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and (now - last).total_seconds() < settings.HELP_REQUEST_COOLDOWN_SECONDS:
        return "recipient_cooldown"
    day = now - timedelta(days=1)
    if mine.filter(created_at__gt=day).count() >= settings.HELP_REQUESTS_PER_RECIPIENT_DAY:
        return "recipient_day"
    per_client = settings.HELP_REQUESTS_PER_CLIENT_DAY
    if client and per_client and HelpRequest.objects.filter(
            recipient__conversation__organisation_id=recipient.conversation.organisation_id,
            client_hash=client, created_at__gt=day).count() >= per_client:
        return "client_day"
    return ""


def _tell_sender(recipient: Recipient, help_request: HelpRequest) -> None:
    """Inside request_help's transaction: an e-mail to the sender with a link to the
    conversation; never the note, never content."""
    conversation = recipient.conversation
    org = conversation.organisation
    email = render_email(
        "help_request",
        {"org": org, "recipient": recipient, "reason": help_request.reason,
         "has_note": bool(help_request.note_ct),
         "link": f"{settings.BASE_URL}/c/{conversation.pk}"},
        to=conversation.created_by.email, from_name="Zegel",
    )
    enqueue_email(org, email, dedupe_key=f"help:{help_request.pk}", purpose="help_notice",
                  message=help_request.message, new_key=True)
