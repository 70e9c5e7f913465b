"""Following sent messages over the API: the token user's messages with each recipient's
status, paged, and each message's proof of delivery (zegel.messaging.proof, docs/proof.md).

Registered on the API's own router (register()), not a router of its own: GET /messages shares
its path with POST /messages, and two routers would each claim the path for their method only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from pydantic import Field

from zegel.api.auth import api_user
from zegel.api.problems import UtcDateTime, problems
from zegel.messaging import access, proof
from zegel.messaging.errors import ActionError
from zegel.messaging.models import Message, Recipient, RecipientEvent

PAGE_SIZE = 50
_MAX_PARAM = 64


def _bad(field: str, detail: str, status: int = 400) -> ActionError:
    """A query parameter that cannot be read: a problem naming it in `field`."""
    return ActionError(detail, field=field, status=status)


class ListParams(Schema):
    page: str = Field(default="1", description="Which page, from 1; each holds up to 50 "
                      "messages, newest first.")
    since: str = Field(default="", description="ISO 8601 time: only messages sent at or "
                       "after it. Read in UTC when it has no zone (2027-03-01T09:00:00Z).")


class RecipientStatusOut(Schema):
    id: int = Field(description="The recipient's id within Zegel.")
    email: str = Field(description="The recipient's e-mail address.")
    name: str = Field(description="The recipient's name; may be empty.")
    kind: str = Field(description="to, cc or bcc.")
    verification: str = Field(description="sms, access_code or email.")
    status: str = Field(description="The kind of the newest event of this message (or of no "
                                    "message, as a lock or revoke); queued before any.")
    status_at: UtcDateTime | None = Field(description="When that event happened, in UTC; "
                                                      "null while queued.")


class MessageSummaryOut(Schema):
    id: uuid.UUID = Field(description="The message's id.")
    conversation_id: uuid.UUID = Field(description="The conversation the message belongs to.")
    created_at: UtcDateTime = Field(description="When it was sent, in UTC.")
    expires_at: UtcDateTime | None = Field(description="Until when recipients can open it, in "
                                                       "UTC; null: no end date.")
    revoked_at: UtcDateTime | None = Field(description="When the conversation was revoked, in "
                                                       "UTC; null while it is not.")
    recipients: list[RecipientStatusOut] = Field(
        description="The recipients the message is addressed to, each with their status.")


class MessagePageOut(Schema):
    page: int = Field(description="This page's number, from 1.")
    pages: int = Field(description="How many pages there are (at least 1).")
    total: int = Field(description="How many messages match, on all pages together.")
    page_size: int = Field(description="The most messages one page holds.")
    messages: list[MessageSummaryOut] = Field(description="Newest first.")


def _page(raw: str) -> int:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise _bad("page", _("The page number must be a whole number, 1 or more."))
    return int(raw)


def _since(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        if len(raw) > _MAX_PARAM or not raw.isascii():
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad("since", _("'since' must be a time in ISO 8601, such as "
                              "2027-03-01T09:00:00Z.")) from None
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment


def message_page(user: Any, *, page: int, since: datetime | None) -> dict[str, Any]:
    """One page of the user's own sent messages: the same five queries for 1 row or 50 (the
    count, the page, its recipients, their events, and nothing per row)."""
    messages = Message.objects.filter(conversation__in=access.visible_conversations(user),
                                      author_user_id=user.pk)
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    total = messages.count()
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        raise _bad("page", _("There is no page %(page)s: there are %(pages)s.")
                   % {"page": page, "pages": pages}, status=404)
    start = (page - 1) * PAGE_SIZE
    rows = list(messages.select_related("conversation").defer("subject_ct", "body_ct")
                .prefetch_related(Prefetch("audience", queryset=Recipient.objects.order_by("id")))
                .order_by("-created_at", "-id")[start:start + PAGE_SIZE])
    recipient_ids = {r.pk for m in rows for r in m.audience.all()}
    latest: dict[tuple[Any, int], RecipientEvent] = {}
    by_recipient: dict[int, list[RecipientEvent]] = {}
    for event in (RecipientEvent.objects
                  .filter(Q(message__isnull=True) | Q(message__in=[m.pk for m in rows]),
                          recipient_id__in=recipient_ids)
                  .only("recipient_id", "message_id", "kind", "at").order_by("at", "id")):
        by_recipient.setdefault(event.recipient_id, []).append(event)
    for m in rows:
        for r in m.audience.all():
            for event in by_recipient.get(r.pk, []):
                if event.message_id in (None, m.pk):
                    latest[(m.pk, r.pk)] = event
    out = []
    for m in rows:
        recipients = []
        for r in m.audience.all():
            newest = latest.get((m.pk, r.pk))
            recipients.append({"id": r.pk, "email": r.email, "name": r.name, "kind": r.kind,
                               "verification": r.method,
                               "status": newest.kind if newest else "queued",
                               "status_at": newest.at if newest else None})
        out.append({"id": m.pk, "conversation_id": m.conversation_id,
                    "created_at": m.created_at, "expires_at": m.conversation.expires_at,
                    "revoked_at": m.conversation.revoked_at, "recipients": recipients})
    return {"page": page, "pages": pages, "total": total, "page_size": PAGE_SIZE,
            "messages": out}


class AuditPositionOut(Schema):
    sequence: int = Field(description="The entry's number in the audit log, the order "
                                      "`zegel audit verify` walks the chain in.")
    hash: str = Field(description="The entry's hash (HMAC-SHA256, hex): `zegel audit verify "
                                  "--anchor HASH` checks it is in the chain.")
    prev_hash: str = Field(description="The hash of the entry before it in the chain.")
    action: str = Field(description="What the entry records, such as message.viewed.")
    at: str = Field(description="When the entry was written, ISO 8601 in UTC.")


class ProofEventOut(Schema):
    kind: str = Field(description="notified, bounced, failed, verified, opened, downloaded, "
                                  "replied, locked or revoked.")
    text: str = Field(description="The kind in words, in the request's language.")
    at: str = Field(description="When it happened, ISO 8601 in UTC.")
    message_id: str | None = Field(description="The message it is about: this one, the "
                                   "recipient's reply (replied), or null (verified, locked, "
                                   "revoked concern the recipient's access as a whole).")
    detail: str = Field(description="More about it, such as the mail server's answer; often "
                                    "empty; never content.")
    audit: AuditPositionOut | None = Field(
        description="The audit entry that records it; null for an event recorded before "
                    "events were linked to the audit log.")


class ProofRecipientOut(Schema):
    id: int = Field(description="The recipient's id within Zegel.")
    name: str = Field(description="The recipient's name; may be empty.")
    email: str = Field(description="The recipient's e-mail address.")
    method: str = Field(description="How they prove who they are: sms, access_code or email.")
    kind: str = Field(description="to, cc or bcc.")
    events: list[ProofEventOut] = Field(description="Everything that happened to them for "
                                                    "this message, oldest first.")


class ProofAttachmentOut(Schema):
    id: str = Field(description="The attachment's id.")
    size: int = Field(description="The file's size in bytes.")
    known: bool = Field(description="False once the content was destroyed: name, type and "
                                    "SHA-256 were sealed with it and are unknown.")
    name: str | None = Field(description="The file name as sent; null when unknown.")
    sha256: str | None = Field(description="SHA-256 of the file as uploaded, hex; null when "
                                           "unknown.")
    content_type: str | None = Field(description="The file's media type; null when unknown.")


class ProofMessageOut(Schema):
    id: str = Field(description="The message's id.")
    conversation_id: str = Field(description="The conversation's id.")
    sent_at: str = Field(description="When it was sent, ISO 8601 in UTC.")
    subject: str | None = Field(description="The subject; null once the content was "
                                            "destroyed.")
    subject_known: bool = Field(description="False once the content was destroyed.")
    expires_at: str | None = Field(description="The end date, ISO 8601 in UTC; null: none.")
    revoked_at: str | None = Field(description="When the content was destroyed (revoked or "
                                               "expired), ISO 8601 in UTC; null: not.")


class ProofOrganisationOut(Schema):
    id: int = Field(description="The organisation's id within Zegel.")
    name: str = Field(description="The organisation's name.")


class ProofSenderOut(Schema):
    id: int = Field(description="The sender's user id within Zegel.")
    email: str = Field(description="The sender's e-mail address.")
    name: str = Field(description="The sender's name.")


class ProofIssuedOut(Schema):
    at: str = Field(description="When this proof was made, ISO 8601 in UTC.")
    by: str = Field(description="The e-mail address of the user who made it.")
    audit: AuditPositionOut = Field(description="The audit entry recording that it was made.")
    facts_sha256: str = Field(description="SHA-256 of every other part of the proof as "
                                          "canonical JSON; the proof's audit entry holds it.")


class ProofOut(Schema):
    format: str = Field(description="zegel-proof-of-delivery/1")
    message: ProofMessageOut = Field(description="The message (never its body).")
    organisation: ProofOrganisationOut = Field(description="The sending organisation.")
    sender: ProofSenderOut = Field(description="Who sent the message.")
    recipients: list[ProofRecipientOut] = Field(description="Whom it is addressed to.")
    attachments: list[ProofAttachmentOut] = Field(description="The message's files.")
    issued: ProofIssuedOut = Field(description="This proof itself.")


class ProofParams(Schema):
    format: str = Field(default="json", description="json (this schema) or pdf (the same "
                        "facts as a PDF document).")


def list_messages(request: HttpRequest, params: Query[ListParams]) -> Any:
    """The token user's sent messages, newest first, with each recipient's status."""
    return message_page(api_user(request), page=_page(params.page),
                        since=_since(params.since))


def message_proof(request: HttpRequest, message_id: str, params: Query[ProofParams]) -> Any:
    """The proof of delivery of a message this token's user sent (audited as proof.created).
    No body: identifiers, addresses, the subject, files with their SHA-256, and each event
    with its audit entry."""
    user = api_user(request)
    if params.format not in proof.FORMATS:
        raise _bad("format", _("Ask for format=pdf or format=json."))
    document = proof.issue(user, message_id, fmt=params.format, request=request,
                           actor={"actor_type": "api", "actor_id": user.pk,
                                  "actor_label": user.email})
    if params.format == "pdf":
        response = HttpResponse(proof.render_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = (f'attachment; filename="proof-of-delivery-'
                                           f'{document["message"]["id"]}.pdf"')
        return response
    return document


def register(api: NinjaAPI) -> None:
    """Add these operations to the API's own router (see the module's note)."""
    api.get("/messages", response={200: MessagePageOut, **problems(400, 404)},
            summary="List sent messages")(list_messages)
    api.get("/messages/{message_id}/proof",
            response={200: ProofOut, **problems(400, 404, 409)},
            summary="Proof of delivery",
            openapi_extra={"responses": {200: {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ProofOut"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}},
            )(message_proof)
