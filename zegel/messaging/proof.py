"""Proof of delivery: what happened to one sent message, per recipient, each event with its
place in the audit log's hash chain (docs/proof.md).

The proof holds identifiers, names, addresses, the subject and file names with their SHA-256,
never the body. What was destroyed with the content (revoked, expired) is said to be unknown,
not filled in. Making a proof is audited (`proof.created`); that entry carries the SHA-256 of
the proof's facts, so a copy shown later can be matched with the entry.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from zegel.audit.log import record
from zegel.audit.models import AuditEvent
from zegel.core.pdf import Document, utc
from zegel.db import retry_on_conflict
from zegel.keystore.keys import ShreddedError
from zegel.messaging import access, content
from zegel.messaging.errors import NotFound
from zegel.messaging.models import Message, Recipient, RecipientEvent
from zegel.orgs.models import User

FORMAT = "zegel-proof-of-delivery/1"
FORMATS = ("json", "pdf")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the microsecond as stored."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _entry(entry: AuditEvent | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"sequence": entry.pk, "hash": entry.hash, "prev_hash": entry.prev_hash,
            "action": entry.action, "at": iso(entry.at)}


def _subject(message: Message) -> str | None:
    try:
        return content.message_subject(message)
    except ShreddedError:
        return None


def _attachments(message: Message) -> list[dict[str, Any]]:
    out = []
    for attachment in message.attachments.select_related("key", "message__conversation"):
        row: dict[str, Any] = {"id": str(attachment.pk), "size": attachment.size,
                               "name": None, "sha256": None, "content_type": None,
                               "known": False}
        try:
            meta = content.attachment_meta(attachment)
        except ShreddedError:
            pass  # sealed with the content: gone with it, and not guessed
        else:
            row.update(name=meta.name, sha256=meta.sha256, content_type=meta.content_type,
                       known=True)
        out.append(row)
    return out


def proof_facts(user: User, message_id: object, *,
                conversation_id: object = None) -> dict[str, Any]:
    """The proof of a message this user sent (NotFound for anything else: another user's or
    organisation's, a recipient's reply, no such id, or not in `conversation_id` when that is
    given). Reads only; see issue()."""
    found = access.message_for_user(user, message_id)
    if conversation_id is not None and found.conversation_id != conversation_id:
        raise NotFound(_("Message not found."))
    # Read again with what the proof needs, and without the body's ciphertext.
    message = (Message.objects.select_related("key", "conversation__organisation",
                                              "author_user").defer("body_ct")
               .get(pk=found.pk))
    author = message.author_user
    if author is None:
        raise NotFound(_("A proof of delivery is made for messages the sender sent, not for "
                         "replies."))
    conversation = message.conversation
    recipients = list(message.audience.order_by("id"))
    events: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in recipients}
    # The events of this message, of no message (verified, locked, revoked), and the
    # recipient's replies since it was sent.
    mine = (Q(message__isnull=True) | Q(message=message)
            | Q(kind=RecipientEvent.Kind.REPLIED, at__gte=message.created_at))
    for event in (RecipientEvent.objects.select_related("audit_entry")
                  .filter(mine, recipient__in=recipients).order_by("at", "id")):
        events[event.recipient_id].append({
            "kind": event.kind, "text": str(event.get_kind_display()), "at": iso(event.at),
            "message_id": str(event.message_id) if event.message_id else None,
            "detail": event.detail, "audit": _entry(event.audit_entry)})
    subject = _subject(message)
    return {
        "format": FORMAT,
        "message": {"id": str(message.pk), "conversation_id": str(conversation.pk),
                    "sent_at": iso(message.created_at), "subject": subject,
                    "subject_known": subject is not None,
                    "expires_at": iso(conversation.expires_at),
                    "revoked_at": iso(conversation.revoked_at)},
        "organisation": {"id": conversation.organisation_id,
                         "name": conversation.organisation.name},
        "sender": {"id": author.pk, "email": author.email, "name": author.display_name},
        "recipients": [{"id": r.pk, "name": r.name, "email": r.email, "method": r.method,
                        "kind": r.kind, "events": events[r.pk]} for r in recipients],
        "attachments": _attachments(message),
    }


def facts_digest(facts: dict[str, Any]) -> str:
    """SHA-256 of the facts as canonical JSON (sorted keys, no spaces, UTF-8): the value the
    proof's own audit entry carries."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@retry_on_conflict
def _record_issue(user: User, facts: dict[str, Any], fmt: str, actor: dict[str, Any],
                  request: HttpRequest | None) -> AuditEvent:
    with transaction.atomic(durable=True):
        return record("proof.created", organisation=user.organisation, **actor,
                      object_type="message", object_id=facts["message"]["id"],
                      request=request,
                      data={"format": fmt, "facts_sha256": facts_digest(facts)})


def issue(user: User, message_id: object, *, fmt: str, actor: dict[str, Any],
          conversation_id: object = None, request: HttpRequest | None = None) -> dict[str, Any]:
    """The whole proof: the facts, then its own audit entry (written after reading, so
    nobody waits on the audit head while the proof is put together)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    facts = proof_facts(user, message_id, conversation_id=conversation_id)
    entry = _record_issue(user, facts, fmt, actor, request)
    return {**facts, "issued": {"at": iso(entry.at), "by": user.email,
                                "audit": _entry(entry), "facts_sha256": entry.data["facts_sha256"]}}


def _size(size: int) -> str:
    return pgettext("proof", "%(size)s bytes") % {"size": f"{size:,}".replace(",", ".")}


def _when(value: str | None) -> str:
    return utc(datetime.fromisoformat(value)) if value else ""


def render_pdf(proof: dict[str, Any]) -> bytes:
    """The proof as a PDF in the active language; times in UTC."""
    message = proof["message"]
    org = proof["organisation"]["name"]
    unknown = pgettext("proof", "unknown: destroyed with the content")
    title = pgettext("proof", "Proof of delivery")
    doc = Document(title=f"{title} {message['id']}", author=org,
                   footer=f"{title} · {message['id']}")
    doc.heading(title)
    doc.field(pgettext("proof", "Message:"), message["id"])
    doc.field(pgettext("proof", "Conversation:"), message["conversation_id"])
    doc.field(pgettext("proof", "Organisation:"), org)
    sender = proof["sender"]
    doc.field(pgettext("proof", "Sender:"),
              f"{sender['name']} <{sender['email']}>" if sender["name"] else sender["email"])
    doc.field(pgettext("proof", "Subject:"),
              message["subject"] if message["subject_known"] else unknown)
    doc.field(pgettext("proof", "Sent (UTC):"), _when(message["sent_at"]))
    if message["expires_at"]:
        doc.field(pgettext("proof", "End date (UTC):"), _when(message["expires_at"]))
    if message["revoked_at"]:
        doc.field(pgettext("proof", "Content destroyed (UTC):"), _when(message["revoked_at"]))
    doc.ln(3)
    doc.heading(pgettext("proof", "Attachments"), 12)
    if not proof["attachments"]:
        doc.paragraph(pgettext("proof", "None."))
    for a in proof["attachments"]:
        name = a["name"] if a["known"] else pgettext(
            "proof", "(name unknown: destroyed with the content)")
        doc.paragraph(f"{name} — {_size(a['size'])}")
        doc.field("SHA-256:", a["sha256"] if a["known"] else unknown, size=8)
        doc.ln(1)
    doc.ln(2)
    doc.heading(pgettext("proof", "Recipients"), 12)
    header = [pgettext("proof", "When (UTC)"), pgettext("proof", "Event"),
              pgettext("proof", "Detail"), pgettext("proof", "Audit entry")]
    for r in proof["recipients"]:
        doc.heading(f"{r['name']} <{r['email']}>" if r["name"] else r["email"], 11)
        doc.field(pgettext("proof", "Verification:"), str(Recipient.Method(r["method"]).label))
        doc.field(pgettext("proof", "Kind:"), str(Recipient.Kind(r["kind"]).label))
        if not r["events"]:
            doc.paragraph(pgettext("proof", "Nothing happened yet: the notification is waiting "
                                            "to be sent."))
            continue
        doc.rows(header, [[_when(e["at"]), e["text"], e["detail"],
                           f"#{e['audit']['sequence']}" if e["audit"]
                           else pgettext("proof", "not linked")]
                          for e in r["events"]], [3, 3, 4, 2])
        for e in r["events"]:
            if e["audit"]:
                doc.paragraph(f"#{e['audit']['sequence']} {e['audit']['hash']}", size=7)
    issued = proof["issued"]
    doc.ln(2)
    doc.heading(pgettext("proof", "How to check this proof"), 12)
    doc.paragraph(pgettext(
        "proof", "Each event names its entry in the audit log: its sequence number (#) and "
        "hash. On the server, `zegel audit verify --anchor HASH` checks the whole hash chain "
        "and that an entry with this hash is in it. An event marked 'not linked' was recorded "
        "before Zegel linked events to the audit log."))
    doc.field(pgettext("proof", "Made (UTC):"), _when(issued["at"]))
    doc.field(pgettext("proof", "Made by:"), issued["by"])
    doc.field(pgettext("proof", "Audit entry of this proof:"), f"#{issued['audit']['sequence']}")
    doc.paragraph(issued["audit"]["hash"], size=7)
    doc.field(pgettext("proof", "SHA-256 of the facts:"), issued["facts_sha256"], size=8)
    return doc.output_bytes()
