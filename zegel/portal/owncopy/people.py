"""Who a message is from and to, as the recipient was shown it, and the words both copies use
for names, times and sizes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.template.defaultfilters import filesizeformat
from django.utils import dateformat, timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from zegel.core.pdf import utc
from zegel.messaging import content
from zegel.messaging.models import Message, Recipient

# (display name, e-mail address)
Party = tuple[str, str]

_UNSAFE_IN_NAME = re.compile(r"[^\w\- ]+")


@dataclass(frozen=True)
class Addressees:
    sender: Party
    to: list[Party]
    cc: list[Party]
    # The viewer themselves when they received the message as BCC; never anyone else.
    bcc: list[Party]


def _party(recipient: Recipient) -> Party:
    return recipient.name, recipient.email


def addressees(message: Message, viewer: Recipient) -> Addressees:
    """From, To, CC and BCC as the portal shows them to `viewer`: the message's To and CC
    recipients (content.shown_to) with the viewer in their own place; a BCC recipient other
    than the viewer is never named. A reply of the viewer's goes to the conversation's sender
    only, as the portal's reply form says."""
    if message.author_user is None:
        sender = message.conversation.created_by
        return Addressees(sender=_party(viewer), to=[(sender.name, sender.email)], cc=[],
                          bcc=[])
    author = message.author_user
    shown = {r.pk for r in content.shown_to(message, viewer)}
    named = [r for r in message.audience.all() if r.pk in shown or r.pk == viewer.pk]
    return Addressees(
        sender=(author.name, author.email),
        to=[_party(r) for r in named if r.kind == Recipient.Kind.TO],
        cc=[_party(r) for r in named if r.kind == Recipient.Kind.CC],
        bcc=[_party(viewer)] if viewer.kind == Recipient.Kind.BCC else [],
    )


def label(party: Party) -> str:
    name, email = party
    return f"{name} <{email}>" if name else email


def local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def when(moment: datetime) -> str:
    """UTC first (as the audit log and the proof of delivery write it), then the local time."""
    return f"{utc(moment)} ({dateformat.format(local(moment), 'j F Y, H:i T')})"


def size_text(size: int) -> str:
    return _("%(size)s (%(bytes)s bytes)") % {"size": filesizeformat(size),
                                              "bytes": number_format(size, force_grouping=True)}


def safe_filename(stem: str, extension: str) -> str:
    """A download name of letters, digits, spaces and dashes only: no path, no quotes."""
    clean = " ".join(_UNSAFE_IN_NAME.sub("-", stem).split()).strip(" -_")[:80]
    return f"{clean or 'zegel'}.{extension}"
