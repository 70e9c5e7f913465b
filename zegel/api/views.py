"""The REST API (django-ninja). OpenAPI at /api/v1/openapi.json; errors as problem objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from pydantic import Field

from zegel.api.auth import BearerToken, RateLimited, TokenApi, api_user, may_upload
from zegel.api.dlp_admin import router as dlp_admin_router
from zegel.api.inputs import Input
from zegel.api.problems import PROBLEM_TYPE, problems
from zegel.audit.log import record
from zegel.dlp import service as dlp
from zegel.files.uploads import (
    EncryptedUpload,
    accepts_uploads_at,
    upload_refusal_detail,
    upload_refused,
)
from zegel.keystore.keys import ShreddedError
from zegel.messaging import access, actions, content, drafts
from zegel.messaging.models import Attachment, Message, RecipientEvent
from zegel.orgs.models import User

api = TokenApi(title="Zegel API", version="1", auth=BearerToken(), urls_namespace="api",
             openapi_url="/openapi.json", docs_url="/docs")
api.add_router("/dlp", dlp_admin_router)


def problem(request: HttpRequest, status: int, title: str, detail: str,
            **extra: Any) -> HttpResponse:
    response = api.create_response(request, {"type": "about:blank", "title": title,
                                              "status": status, "detail": detail, **extra},
                                   status=status)
    response["Content-Type"] = PROBLEM_TYPE
    return response


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(request, 401, "Unauthorized",
                   "Send a valid API token as 'Authorization: Bearer <token>'.")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if getattr(request, "upload_too_large", False):
        return problem(request, 413, "Upload too large", upload_refusal_detail(request))
    errors = [{"loc": [str(p) for p in e.get("loc", [])], "msg": e.get("msg", "")}
              for e in exc.errors]
    return problem(request, 422, "Invalid request", "The request body is not valid.",
                   errors=errors)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(request, 413, "Request too large", "The request body is larger than "
                   f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send files to /attachments.")


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = problem(request, 429, "Too many requests", str(exc))
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(request, exc.status_code, "Error", str(exc))


@api.exception_handler(actions.ActionError)
def on_action_error(request: HttpRequest, exc: actions.ActionError) -> HttpResponse:
    extra: dict[str, Any] = {"rules": exc.rules} if isinstance(exc, dlp.DlpRefused) else {}
    if isinstance(exc, actions.ActionErrors):
        # Every problem at once; `detail` and `field` stay the first, as for a single one.
        extra["errors"] = [{"loc": _error_loc(e.field), "msg": e.message} for e in exc.errors]
    return problem(request, exc.status, "Refused", exc.message, field=exc.field, **extra)


def _error_loc(field: str) -> list[str]:
    """ "0.phone" → ["recipients", "0", "phone"]: where in the request body, as for a 422."""
    parts = field.split(".")
    return ["recipients", *parts] if parts[0].isdigit() else parts


class AttachmentOut(Schema):
    id: uuid.UUID
    name: str
    size: int
    sha256: str
    content_type: str


accepts_uploads_at("/api/v1/attachments", may_upload)


@api.post("/attachments", response={201: AttachmentOut, **problems(400, 413, 422)})
def upload_attachment(request: HttpRequest, file: File[UploadedFile]) -> Status:
    if upload_refused(request):
        raise HttpError(413, upload_refusal_detail(request))
    if not isinstance(file, EncryptedUpload):
        raise HttpError(400, "Send the file as multipart/form-data in the field 'file'.")
    user = api_user(request)
    attachment = actions.store_upload(file, organisation=user.organisation, user=user)
    record("attachment.uploaded", organisation=user.organisation, actor_type="api",
           actor_id=user.pk, actor_label=user.email, object_type="attachment",
           object_id=attachment.pk, request=request, data={"size": attachment.size})
    # Read back from the sealed metadata: no clear column holds the hash or the type.
    meta = content.attachment_meta(attachment)
    return Status(201, {"id": attachment.pk, "name": meta.name, "size": meta.size,
                        "sha256": meta.sha256, "content_type": meta.content_type})


class RecipientIn(Input):
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    kind: Literal["to", "cc"] = "to"
    verification: Literal["sms", "access_code", "email"] | None = None
    phone: str = Field(default="", max_length=40)
    access_code: str = Field(default="", max_length=128)
    access_code_hint: str = Field(default="", max_length=200)


class MessageIn(Input):
    subject: str = Field(max_length=300)
    body: str = Field(default="", max_length=1_000_000)
    recipients: list[RecipientIn] = Field(max_length=100)
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    # The sender read the data-leak warnings of POST /check and sends anyway.
    confirm_warnings: bool = False
    # Until when recipients can open it; afterwards the content is destroyed. Left out: the
    # organisation's default end date; null: no end date.
    expires_at: datetime | None = None


class EventOut(Schema):
    kind: str
    at: str
    detail: str


class RecipientOut(Schema):
    id: int
    email: str
    name: str
    kind: str
    verification: str
    status: str
    events: list[EventOut]


class MessageOut(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    recipients: list[RecipientOut]
    attachments: list[AttachmentOut]


def _attachments_out(message: Message) -> list[dict[str, Any]]:
    """Name, size, SHA-256 and type of each file, from its sealed metadata: for the sender
    only, and nothing once the content was destroyed."""
    if message.conversation.revoked_at is not None:
        return []
    out = []
    for attachment in message.attachments.select_related("key"):
        try:
            meta = content.attachment_meta(attachment)
        except ShreddedError:
            return []
        out.append({"id": attachment.pk, "name": meta.name, "size": meta.size,
                    "sha256": meta.sha256, "content_type": meta.content_type})
    return out


def _aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is read in the server's zone (TIME_ZONE)."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _expires_at(user: User, payload: MessageIn) -> datetime | None:
    """The end date asked for; left out of the request, the organisation's default."""
    if "expires_at" not in payload.model_fields_set:
        return drafts.default_expiry(user.organisation)
    return _aware(payload.expires_at)


def _message_out(message: Message, *, attachments: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """The API's view of a message; `attachments` when the caller knows them already (a send
    without files has none), instead of reading them back."""
    recipients = []
    conversation = message.conversation
    # A conversation this request just created carries its recipients (send_message).
    conversation_recipients = (list(conversation.recipients.all())
                               if conversation.new_recipients is None
                               else list(conversation.new_recipients))
    # Every recipient's events in one query: those of this message and those of no message
    # (a lock-out, a revoke), in order.
    by_recipient: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in conversation_recipients}
    for e in (RecipientEvent.objects
              .filter(Q(message__isnull=True) | Q(message=message),
                      recipient__in=conversation_recipients)
              .order_by("at", "id")):
        by_recipient[e.recipient_id].append({"kind": e.kind, "at": e.at.isoformat(),
                                             "detail": e.detail})
    for recipient in conversation_recipients:
        event_list = by_recipient[recipient.pk]
        recipients.append({
            "id": recipient.pk, "email": recipient.email, "name": recipient.name,
            "kind": recipient.kind, "verification": recipient.method,
            "status": event_list[-1]["kind"] if event_list else "queued",
            "events": event_list,
        })
    return {"id": message.pk, "conversation_id": message.conversation_id,
            "expires_at": conversation.expires_at.isoformat() if conversation.expires_at else None,
            "revoked_at": conversation.revoked_at.isoformat() if conversation.revoked_at else None,
            "created_at": message.created_at.isoformat(), "recipients": recipients,
            "attachments": _attachments_out(message) if attachments is None else attachments}


def _draft(user: User, payload: MessageIn) -> tuple[list[actions.RecipientSpec],
                                                    list[Attachment]]:
    # An attachment already sent, or whose key is destroyed, is refused before anything
    # decrypts it (access.draft_attachments): /check never reads a sent file again.
    attachments = access.draft_attachments(payload.attachments, user=user)
    specs = [actions.RecipientSpec(email=r.email, name=r.name, kind=r.kind,
                                   method=r.verification or "", phone=r.phone,
                                   access_code=r.access_code,
                                   access_code_hint=r.access_code_hint)
             for r in payload.recipients]
    return specs, attachments


@api.post("/messages", response={201: MessageOut, **problems(400, 404, 413, 422)})
def create_message(request: HttpRequest, payload: MessageIn) -> Status:
    user = api_user(request)
    specs, attachments = _draft(user, payload)
    message = actions.send_message(sender=user, subject=payload.subject, body=payload.body,
                                   recipients=specs, attachments=attachments, request=request,
                                   via="api", dlp_confirmed=payload.confirm_warnings,
                                   expires_at=_expires_at(user, payload))
    return Status(201, _message_out(message, attachments=None if attachments else []))


class ReasonOut(Schema):
    code: str = Field(description="term, person, audience, label, column or checksum")
    value: str = Field(description="The sender's own words that gave the reason.")
    text: str = Field(description="The reason in the request's language.")


class FindingOut(Schema):
    kind: str
    where: Literal["subject", "body", "attachment"]
    index: int | None = Field(description="The attachment's position in 'attachments'.")
    name: str = Field(description="The attachment's file name; empty for subject and body.")
    start: int
    end: int
    confidence: float
    detail: str = Field(description="Why; at most a masked form of the value, never the value.")
    reasons: list[ReasonOut] = Field(
        default=[], description="Why, in parts: the term, the person or audience it is "
        "about, the label or column that names the value.")


class RecipientFindingOut(Schema):
    kind: str
    address: str
    confidence: float
    detail: str


class RuleResultOut(Schema):
    name: str
    action: Literal["audit", "suggest", "warn", "require", "block"]
    message: str = Field(description="In the request's language (Accept-Language).")
    message_nl: str
    message_en: str
    required_methods: list[str]


class CheckOut(Schema):
    findings: list[FindingOut]
    recipient_findings: list[RecipientFindingOut]
    rules: list[RuleResultOut]
    blocked: bool
    needs_confirmation: bool = Field(
        description="Send with confirm_warnings=true to go ahead despite a warning.")
    required_methods: list[str] = Field(
        description="Every recipient must use one of these verification methods.")


@api.post("/check", response={200: CheckOut, **problems(400, 404, 413, 422)})
def check_message(request: HttpRequest, payload: MessageIn) -> Any:
    """What the data-leak rules say about this message, without sending it."""
    user = api_user(request)
    specs, attachments = _draft(user, payload)
    for spec in specs:
        spec.method = spec.method or ("sms" if spec.phone.strip() else "")
    result = dlp.check_draft(sender=user, subject=payload.subject, body=payload.body,
                             recipients=specs, attachments=attachments)
    return result.as_json()


@api.get("/messages/{message_id}", response={200: MessageOut, **problems(404)})
def get_message(request: HttpRequest, message_id: str) -> Any:
    return _message_out(access.message_for_user(api_user(request), message_id))


@api.post("/messages/{message_id}/revoke", response={200: MessageOut, **problems(404, 409)})
def revoke_message(request: HttpRequest, message_id: str) -> Any:
    """Revoke the message's whole conversation for everyone and destroy its content."""
    user = api_user(request)
    message = access.message_for_user(user, message_id)
    actions.revoke_conversation(sender=user, conversation=message.conversation, request=request)
    return _message_out(access.message_for_user(user, message_id))
