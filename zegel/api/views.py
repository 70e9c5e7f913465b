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
from django.utils.translation import gettext as _
from ninja import File, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from pydantic import Field

from zegel.api import tracking
from zegel.api.auth import BearerToken, RateLimited, TokenApi, api_user, may_upload
from zegel.api.contacts import router as contacts_router
from zegel.api.dlp_admin import router as dlp_admin_router
from zegel.api.docs import LocalSwagger
from zegel.api.inputs import Input
from zegel.api.lifecycle import LifecycleOut, RevokeIn, lifecycle_out
from zegel.api.lifecycle import revoke as revoke_in_scope
from zegel.api.lifecycle import router as lifecycle_router
from zegel.api.organisation import router as organisation_router
from zegel.api.problems import NotJson, UtcDateTime, field_error_text, not_json_detail, problems
from zegel.api.recipients import RecipientOut, recipient_out
from zegel.api.recipients import router as recipients_router
from zegel.audit.log import record
from zegel.core.problems import problem_response
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

DESCRIPTION = (
    "Secure messages and files. Every call needs `Authorization: Bearer <token>` (`zegel token "
    "create`). Errors are problem objects (RFC 9457, `application/problem+json`), in English "
    "unless `Accept-Language` asks for Dutch (`nl`). Times are in UTC. The guide: docs/api.md."
)
api = TokenApi(title="Zegel API", version="1", description=DESCRIPTION, auth=BearerToken(),
               urls_namespace="api", openapi_url="/openapi.json", docs_url="/docs",
               docs=LocalSwagger())
api.add_router("/dlp", dlp_admin_router)
api.add_router("/messages", recipients_router)
tracking.register(api)
api.add_router("", contacts_router)
api.add_router("/organisation", organisation_router)
api.add_router("/messages", lifecycle_router)


def problem(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return problem_response(request, status, detail, **extra)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(request, 401, _("Send a valid API token as 'Authorization: Bearer <token>'."))


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if getattr(request, "upload_too_large", False):
        return problem(request, 413, upload_refusal_detail(request))
    # A file parameter that is missing because the body is not a form at all.
    if (any(e.get("loc", [None])[0] == "file" for e in exc.errors)
            and request.content_type != "multipart/form-data"):
        return problem(request, 415, _("Send the file as multipart/form-data in the field "
                                       "'file'."))
    errors = [{"loc": [str(p) for p in e.get("loc", [])], "msg": field_error_text(e)}
              for e in exc.errors]
    return problem(request, 422, _("The request body is not valid."), errors=errors)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(request, 413, _("The request body is larger than %(size)d bytes; send "
                                   "files to /attachments.")
                   % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = problem(request, 429, str(exc))
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja turns any failure of the body parser into a 400; JsonParser says which it was.
    if isinstance(exc.__cause__, NotJson):
        return problem(request, exc.__cause__.status, not_json_detail(exc.__cause__.status))
    return problem(request, exc.status_code, str(exc))


@api.exception_handler(actions.ActionError)
def on_action_error(request: HttpRequest, exc: actions.ActionError) -> HttpResponse:
    extra: dict[str, Any] = {"rules": exc.rules} if isinstance(exc, dlp.DlpRefused) else {}
    if isinstance(exc, actions.ActionErrors):
        # Every problem at once; `detail` and `field` stay the first, as for a single one.
        extra["errors"] = [{"loc": _error_loc(e.field), "msg": e.message} for e in exc.errors]
    return problem(request, exc.status, exc.message, field=exc.field, **extra)


def _error_loc(field: str) -> list[str]:
    """ "0.phone" → ["recipients", "0", "phone"]: where in the request body, as for a 422."""
    parts = field.split(".")
    return ["recipients", *parts] if parts[0].isdigit() else parts


class AttachmentOut(Schema):
    id: uuid.UUID = Field(description="The attachment's id, for 'attachments' of a message.")
    name: str = Field(description="The file name as uploaded, cleaned of path and control "
                                  "characters.")
    size: int = Field(description="The file's size in bytes.")
    sha256: str = Field(description="SHA-256 of the file's content, in hex.")
    content_type: str = Field(description="The file's media type, from its name and content.")


accepts_uploads_at("/api/v1/attachments", may_upload)


@api.post("/attachments", response={201: AttachmentOut, **problems(400, 413, 422)})
def upload_attachment(request: HttpRequest, file: File[UploadedFile]) -> Status:
    if upload_refused(request):
        raise HttpError(413, upload_refusal_detail(request))
    if not isinstance(file, EncryptedUpload):
        raise HttpError(400, _("Send the file as multipart/form-data in the field 'file'."))
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
    email: str = Field(max_length=254, description="The recipient's e-mail address.")
    name: str = Field(default="", max_length=200,
                      description="The recipient's name, for the greeting; may be empty.")
    kind: Literal["to", "cc", "bcc"] = Field(
        default="to", description="to and cc recipients are shown to the message's other to "
        "and cc recipients in the portal; a bcc recipient is never shown to anyone else.")
    verification: Literal["sms", "access_code", "email"] | None = Field(
        default=None, description="How the recipient proves who they are: a code by SMS "
        "(needs phone), an access code agreed beforehand (needs access_code) or a code by "
        "e-mail. Left out: sms when a phone is given; with only an email, the method of "
        "the organisation's directory contact for that address (docs/directory.md). Given "
        "without its phone or access_code, the contact's is used. A recipient still without "
        "what its method needs (no method, no phone, no access code, or the e-mail code where "
        "the organisation does not allow it) is held: see held_reason in the answer.")
    phone: str = Field(default="", max_length=40, description="Mobile number for SMS codes; "
                       "Dutch 06 numbers are accepted and stored as E.164.")
    access_code: str = Field(default="", max_length=128, description="The code agreed with "
                             "the recipient, at least 6 characters; never shown again.")
    access_code_hint: str = Field(default="", max_length=200, description="A hint shown to "
                                  "the recipient about which code to use.")


class MessageIn(Input):
    subject: str = Field(max_length=300, description="The subject, shown to the recipients "
                         "after they proved who they are (never in the notification).")
    body: str = Field(default="", max_length=1_000_000, description="The message text.")
    recipients: list[RecipientIn] = Field(max_length=100, description="At least one.")
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=50, description=(
        "Ids from POST /attachments, each uploaded by this user and not sent before."))
    # The sender read the data-leak warnings of POST /check and sends anyway.
    confirm_warnings: bool = Field(default=False, description="Send despite the data-leak "
                                   "warnings POST /check gave (audited); a block still stops.")
    # Until when recipients can open it; afterwards the content is destroyed. Left out: the
    # organisation's default end date; null: no end date.
    expires_at: datetime | None = Field(default=None, description=(
        "ISO 8601. Until when recipients can open the message; afterwards its content is "
        "destroyed. A time without a zone is read in the server's time zone. Left out: the "
        "organisation's default end date (default_expiry_days); null: no end date."))


class MessageOut(Schema):
    id: uuid.UUID = Field(description="The message's id.")
    conversation_id: uuid.UUID = Field(description="The conversation the message belongs to.")
    created_at: UtcDateTime = Field(description="When it was sent, in UTC.")
    expires_at: UtcDateTime | None = Field(description="Until when recipients can open it, in "
                                                       "UTC; null: no end date.")
    revoked_at: UtcDateTime | None = Field(description="When the conversation's content was "
                                                       "destroyed (revoked for everyone, or "
                                                       "by the retention period), in UTC; "
                                                       "null while it is not.")
    lifecycle: LifecycleOut = Field(description="Revoked for recipients, destroyed, or a "
                                                "revoke scheduled (docs/lifecycle.md).")
    recipients: list[RecipientOut] = Field(description="Everyone in the conversation.")
    audience: list[int] = Field(
        description="The ids of the recipients this message is addressed to: only they were "
        "notified of it and can read it. Empty for a recipient's reply, which only its "
        "author and the sender read.")
    author_recipient_id: int | None = Field(
        description="The recipient who wrote this message (a reply); null for the sender's.")
    attachments: list[AttachmentOut] = Field(description="The message's files; empty once "
                                                         "the content was destroyed.")


class AnswerIn(Input):
    body: str = Field(default="", max_length=1_000_000, description="The answer's text.")
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=50,
                                         description="Ids of files uploaded with "
                                         "POST /api/v1/attachments, not yet sent.")
    audience: list[int] | None = Field(
        default=None, max_length=100,
        description="The ids of the recipients the answer is for (see 'recipients' of the "
        "message). Leave it out for every recipient who can still open the conversation.")
    confirm_warnings: bool = Field(default=False, description="Send although data-leak "
                                   "rules warned (they are recorded with the answer).")


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


def _message_out(message: Message, *, attachments: list[dict[str, Any]] | None = None,
                 audience: list[int] | None = None) -> dict[str, Any]:
    """The API's view of a message; `attachments` and `audience` when the caller knows them
    already (a send without files has none, and goes to everyone), instead of reading them
    back."""
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
        by_recipient[e.recipient_id].append({"kind": e.kind, "at": e.at,
                                             "detail": e.detail})
    for recipient in conversation_recipients:
        recipients.append(recipient_out(recipient, by_recipient[recipient.pk]))
    return {"id": message.pk, "conversation_id": message.conversation_id,
            "expires_at": conversation.expires_at, "revoked_at": conversation.revoked_at,
            "lifecycle": lifecycle_out(conversation),
            "created_at": message.created_at, "recipients": recipients,
            "audience": (sorted(message.audience.values_list("pk", flat=True))
                         if audience is None else audience),
            "author_recipient_id": message.author_recipient_id,
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


@api.post("/messages", response={201: MessageOut, **problems(400, 404, 409, 413, 422)})
def create_message(request: HttpRequest, payload: MessageIn) -> Status:
    user = api_user(request)
    specs, attachments = _draft(user, payload)
    message = actions.send_message(sender=user, subject=payload.subject, body=payload.body,
                                   recipients=specs, attachments=attachments, request=request,
                                   via="api", dlp_confirmed=payload.confirm_warnings,
                                   expires_at=_expires_at(user, payload),
                                   hold_incomplete=True)
    new = message.conversation.new_recipients or []
    return Status(201, _message_out(message, attachments=None if attachments else [],
                                    audience=[r.pk for r in new]))


@api.post("/messages/{message_id}/answer",
          response={201: MessageOut, **problems(400, 404, 409, 413, 422)})
def answer_message(request: HttpRequest, message_id: str, payload: AnswerIn) -> Status:
    """The sender's answer in the conversation of this message, to the recipients in
    'audience' (or everyone who can still open it): only they are notified and can read it."""
    user = api_user(request)
    conversation = access.message_for_user(user, message_id).conversation
    attachments = access.draft_attachments(payload.attachments, user=user)
    message = actions.answer_conversation(sender=user, conversation=conversation,
                                          body=payload.body, attachments=attachments,
                                          audience=payload.audience, request=request,
                                          via="api", dlp_confirmed=payload.confirm_warnings)
    return Status(201, _message_out(message))


class ReasonOut(Schema):
    code: str = Field(description="term, person, audience, label, column or checksum")
    value: str = Field(description="The sender's own words that gave the reason.")
    text: str = Field(description="The reason in the request's language.")


class FindingOut(Schema):
    kind: str = Field(description="What was found: a detector such as bsn or iban, "
                                  "'org:<name>' for an organisation pattern, or not_scanned.")
    where: Literal["subject", "body", "attachment"] = Field(description="Where it was found.")
    index: int | None = Field(description="The attachment's position in 'attachments'.")
    name: str = Field(description="The attachment's file name; empty for subject and body.")
    start: int = Field(description="Offset of the finding's first character in its text.")
    end: int = Field(description="Offset just past the finding's last character.")
    confidence: float = Field(description="From 0 to 1: how sure the finding is.")
    detail: str = Field(description="Why; at most a masked form of the value, never the value.")
    reasons: list[ReasonOut] = Field(
        default=[], description="Why, in parts: the term, the person or audience it is "
        "about, the label or column that names the value.")


class RecipientFindingOut(Schema):
    kind: str = Field(description="What is off about a recipient, such as a look-alike "
                                  "domain or a first-time address.")
    address: str = Field(description="The recipient's address it is about.")
    confidence: float = Field(description="From 0 to 1: how sure the finding is.")
    detail: str = Field(description="Why, in the request's language.")


class RuleResultOut(Schema):
    name: str = Field(description="The rule's name.")
    action: Literal["audit", "suggest", "warn", "require", "block"] = Field(
        description="What the rule does: see RuleIn.action.")
    message: str = Field(description="In the request's language (Accept-Language).")
    message_nl: str = Field(description="The rule's message in Dutch.")
    message_en: str = Field(description="The rule's message in English.")
    required_methods: list[str] = Field(description="For 'require': the verification "
                                                    "methods every recipient must use.")


class CheckOut(Schema):
    findings: list[FindingOut] = Field(description="What the detectors found in the content.")
    recipient_findings: list[RecipientFindingOut] = Field(
        description="What is off about the recipients.")
    rules: list[RuleResultOut] = Field(description="The organisation's rules that apply.")
    blocked: bool = Field(description="True when a rule blocks sending this message.")
    needs_confirmation: bool = Field(
        description="Send with confirm_warnings=true to go ahead despite a warning.")
    required_methods: list[str] = Field(
        description="Every recipient must use one of these verification methods.")


@api.post("/check", response={200: CheckOut, **problems(400, 404, 409, 413, 422)})
def check_message(request: HttpRequest, payload: MessageIn) -> Any:
    """What the data-leak rules say about this message, without sending it."""
    user = api_user(request)
    specs, attachments = _draft(user, payload)
    specs = drafts.with_directory(user.organisation, specs)
    for spec in specs:
        spec.method = spec.method or ("sms" if spec.phone.strip() else "")
    result = dlp.check_draft(sender=user, subject=payload.subject, body=payload.body,
                             recipients=specs, attachments=attachments)
    return result.as_json()


@api.get("/messages/{message_id}", response={200: MessageOut, **problems(404, 409)})
def get_message(request: HttpRequest, message_id: str) -> Any:
    return _message_out(access.message_for_user(api_user(request), message_id))


class ThreadMessageOut(Schema):
    id: uuid.UUID = Field(description="The message's id.")
    created_at: UtcDateTime = Field(description="When it was sent, in UTC.")
    author_recipient_id: int | None = Field(
        description="The recipient who wrote this message (a reply); null for the sender's.")
    audience: list[int] = Field(
        description="The ids of the recipients this message is addressed to: only they were "
        "notified of it and can read it. Empty for a reply, which only its author and the "
        "sender read.")
    attachments: list[AttachmentOut] = Field(description="The message's files; empty once "
                                                         "the content was destroyed.")


class ConversationOut(Schema):
    id: uuid.UUID = Field(description="The conversation's id.")
    created_at: UtcDateTime = Field(description="When it was started, in UTC.")
    expires_at: UtcDateTime | None = Field(description="Until when recipients can open it, in "
                                                       "UTC; null: no end date.")
    revoked_at: UtcDateTime | None = Field(description="When its content was destroyed, in "
                                                       "UTC; null while it is not.")
    lifecycle: LifecycleOut = Field(description="Revoked for recipients, destroyed, or a "
                                                "revoke scheduled (docs/lifecycle.md).")
    recipients: list[RecipientOut] = Field(description="Everyone in the conversation, with "
                                                       "their status.")
    messages: list[ThreadMessageOut] = Field(description="Oldest first.")


@api.get("/conversations/{conversation_id}", response={200: ConversationOut, **problems(404)})
def get_conversation(request: HttpRequest, conversation_id: str) -> Any:
    """A conversation's recipients with their status, and each message with whom it is
    addressed to. No subject or body: the API does not hand out content."""
    conversation = access.conversation_for_user(api_user(request), conversation_id)
    recipients = list(conversation.recipients.all())
    events: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in recipients}
    for e in RecipientEvent.objects.filter(recipient__in=recipients).order_by("at", "id"):
        events[e.recipient_id].append({"kind": e.kind, "at": e.at,
                                       "detail": e.detail})
    messages = conversation.messages.prefetch_related("audience")
    return {
        "id": conversation.pk, "created_at": conversation.created_at,
        "expires_at": conversation.expires_at, "revoked_at": conversation.revoked_at,
        "lifecycle": lifecycle_out(conversation),
        "recipients": [recipient_out(r, events[r.pk]) for r in recipients],
        "messages": [{"id": m.pk, "created_at": m.created_at,
                      "author_recipient_id": m.author_recipient_id,
                      "audience": sorted(r.pk for r in m.audience.all()),
                      "attachments": _attachments_out(m)} for m in messages],
    }


@api.post("/messages/{message_id}/revoke",
          response={200: MessageOut, **problems(400, 404, 409)})
def revoke_message(request: HttpRequest, message_id: str,
                   payload: RevokeIn | None = None) -> Any:
    """Revoke the message's whole conversation. Without a body: for everyone, now, with its
    content destroyed. `scope` "recipients" ends every recipient's access and keeps the
    content; `at` or `after_days` schedules the revoke instead (see `lifecycle`)."""
    user = api_user(request)
    message = access.message_for_user(user, message_id)
    revoke_in_scope(user, message.conversation, payload, request)
    return _message_out(access.message_for_user(user, message_id))
