"""The conversation as a PDF: organisation, sender, dates, and every message the recipient may
see with its text and its files' names, sizes and SHA-256 digests."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf.fonts import TTFFont

from zegel.core.pdf import Document
from zegel.messaging.content import OpenMessage
from zegel.messaging.models import Recipient
from zegel.portal.owncopy.people import addressees, label, local, safe_filename, size_text, when

# What the PDF prints for a character its fonts have no glyph for.
REPLACEMENT = "\ufffd"


class _Printable:
    """Text the PDF's fonts can draw: tabs as spaces, other control characters dropped, and a
    character the bundled DejaVu fonts lack replaced. fpdf2 would log the missing characters,
    and a log must never carry message content."""

    def __init__(self, doc: Document) -> None:
        self.glyphs = [set(font.cmap) for font in doc.fonts.values()
                       if isinstance(font, TTFFont)]
        self.replaced = False

    def __call__(self, text: str) -> str:
        out = []
        for ch in text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "):
            if ch == "\n":
                out.append(ch)
            elif unicodedata.category(ch) in ("Cc", "Cs"):
                continue
            elif all(ord(ch) in glyphs for glyphs in self.glyphs):
                out.append(ch)
            else:
                self.replaced = True
                out.append(REPLACEMENT)
        return "".join(out)


def conversation_pdf(viewer: Recipient, thread: Sequence[OpenMessage], *,
                     saved_at: datetime | None = None) -> bytes:
    """The conversation as `viewer` may read it; `thread` is their visible messages, opened."""
    conversation = viewer.conversation
    org = conversation.organisation
    sender = conversation.created_by
    subject = thread[0].subject if thread else ""
    doc = Document(title=subject or org.name, author=org.name,
                   footer=_("Own copy for %(recipient)s · %(org)s") % {
                       "recipient": viewer.email, "org": org.name})
    text = _Printable(doc)
    doc.heading(text(subject or _("(no subject)")))
    doc.paragraph(text(_("Your own copy of a secure conversation with %(org)s, saved from "
                         "the Zegel portal.") % {"org": org.name}))
    doc.field(pgettext("own copy", "Organisation:"), text(f"{org.name} ({org.domain})"))
    doc.field(pgettext("own copy", "Sender:"), text(label((sender.name, sender.email))))
    doc.field(pgettext("own copy", "For:"), text(viewer.label))
    doc.field(pgettext("own copy", "Started:"), when(conversation.created_at))
    ends = conversation.expires_at
    doc.field(pgettext("own copy", "Available until:"),
              when(ends) if ends else pgettext("own copy", "no end date"))
    doc.field(pgettext("own copy", "Saved:"), when(saved_at or timezone.now()))
    doc.field(pgettext("own copy", "Messages:"), str(len(thread)))
    doc.paragraph(_("Times are in UTC, with the local time (%(zone)s) in brackets.")
                  % {"zone": settings.TIME_ZONE}, size=8.5)
    for number, entry in enumerate(thread, start=1):
        _message(doc, text, viewer, number, entry)
    if text.replaced:
        doc.ln(2)
        doc.paragraph(_("Some characters cannot be shown in this PDF and are printed as "
                        "%(mark)s. Save the message as .eml to keep the text exactly as it was "
                        "written.") % {"mark": REPLACEMENT}, size=8.5)
    return doc.output_bytes()


def _message(doc: Document, text: _Printable, viewer: Recipient, number: int,
             entry: OpenMessage) -> None:
    message = entry.message
    people = addressees(message, viewer)
    mine = message.author_recipient_id is not None
    doc.ln(3)
    doc.heading(text(f"{number}. {_('You') if mine else entry.author}"), size=12)
    doc.field(pgettext("own copy", "From:"), text(label(people.sender)))
    for heading, parties in ((pgettext("own copy", "To:"), people.to),
                             (pgettext("own copy", "CC:"), people.cc),
                             (pgettext("own copy", "BCC:"), people.bcc)):
        if parties:
            doc.field(heading, text(", ".join(label(p) for p in parties)))
    doc.field(pgettext("own copy", "Date:"), when(message.created_at))
    doc.field(pgettext("own copy", "Subject:"), text(entry.subject))
    doc.ln(1.5)
    doc.paragraph(text(entry.body))
    if entry.files:
        doc.field(pgettext("own copy", "Attachments:"), str(len(entry.files)))
        for _attachment, meta in entry.files:
            doc.field("•", text(f"{meta.name}, {size_text(meta.size)}"), size=9)
            doc.field("   SHA-256:", meta.sha256, size=8)


def pdf_filename(viewer: Recipient) -> str:
    conversation = viewer.conversation
    day = local(conversation.created_at).strftime("%Y-%m-%d")
    return safe_filename(f"{conversation.organisation.name} {day}", "pdf")
