"""The guest portal: a recipient opens their link, proves who they are, reads and replies."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zegel.dlp import scans
from zegel.files.downloads import download_head_response, download_response
from zegel.files.uploads import (
    EncryptedUpload,
    accepts_uploads,
    upload_refused,
    upload_too_large_response,
)
from zegel.keystore.keys import ShreddedError
from zegel.messaging import access, actions, content
from zegel.messaging.models import Attachment, Recipient
from zegel.messaging.validation import mask_email, mask_phone

SESSION_KEY = "portal"


def _not_found(request: HttpRequest) -> HttpResponse:
    # One answer for unknown, malformed, revoked and locked-out links alike.
    return render(request, "portal/not_found.html", status=404)


def _verified(request: HttpRequest, recipient: Recipient) -> bool:
    state: dict[str, Any] | None = request.session.get(SESSION_KEY)
    if not state or state.get("r") != recipient.pk or state.get("c") != str(
            recipient.conversation_id):
        return False
    now = time.time()
    if now - float(state.get("t", 0)) > settings.PORTAL_IDLE_SECONDS:
        request.session.pop(SESSION_KEY, None)
        return False
    state["t"] = now
    request.session[SESSION_KEY] = state
    return True


def _ensure_session(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _context(recipient: Recipient, **extra: Any) -> dict[str, Any]:
    conversation = recipient.conversation
    return {
        "recipient": recipient,
        "org": conversation.organisation,
        "sender_name": conversation.created_by.display_name,
        "masked_phone": mask_phone(recipient.phone) if recipient.phone else "",
        "masked_email": mask_email(recipient.email),
        "cooldown": settings.CODE_RESEND_COOLDOWN_SECONDS,
        **extra,
    }


@never_cache
@require_GET
def landing(request: HttpRequest, token: str) -> HttpResponse:
    """Shows who sent what and what to do. Changes nothing and sends nothing: mail scanners
    open links too."""
    recipient = content.resolve_link(token)
    if recipient is None:
        return _not_found(request)
    if recipient.locked_at:
        return _locked(request, recipient)
    if _verified(request, recipient):
        return _conversation(request, token, recipient)
    code_sent = request.session.get("portal_code_for") == recipient.pk
    return render(request, "portal/verify.html",
                  _context(recipient, token=token, code_sent=code_sent))


def _locked(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    return render(request, "portal/locked.html", _context(recipient), status=403)


def _conversation(request: HttpRequest, token: str, recipient: Recipient, *,
                  status: int = 200, **extra: Any) -> HttpResponse:
    messages = list(content.visible_messages(recipient))
    try:
        # Decrypted first: a message that fails its integrity check was not opened.
        opened = [content.open_message(m) for m in messages]
        for entry in opened:
            entry.shown_to = content.shown_to(entry.message, recipient)
        actions.record_opened(recipient, messages, request=request)
    except actions.LockedOut:
        return _locked(request, recipient)
    except (actions.NotFound, ShreddedError):
        # Revoked or expired while this page was on its way: the keys may be gone already.
        return _not_found(request)
    return render(request, "portal/conversation.html",
                  _context(recipient, token=token, thread=opened,
                           subject=opened[0].subject if opened else "", **extra),
                  status=status)


@never_cache
@require_POST
def send_code(request: HttpRequest, token: str) -> HttpResponseBase:
    recipient = content.resolve_link(token)
    if recipient is None:
        return _not_found(request)
    if recipient.method == Recipient.Method.ACCESS_CODE:
        return redirect("portal:landing", token=token)
    try:
        result = actions.request_code(recipient, _ensure_session(request), request=request)
    except actions.NotFound:
        return _not_found(request)
    if result.locked:
        return redirect("portal:landing", token=token)
    request.session["portal_code_for"] = recipient.pk
    if result.sent:
        if recipient.method == Recipient.Method.SMS:
            flash.success(request, _("We sent a code by SMS to %(phone)s.")
                          % {"phone": mask_phone(recipient.phone)})
        else:
            flash.success(request, _("We sent a code by e-mail to %(email)s.")
                          % {"email": mask_email(recipient.email)})
    elif result.limited:
        flash.info(request, _("You have asked for a lot of codes. For your safety we cannot "
                              "send a new code right now. Please try again later, or use the "
                              "last code you received."))
    else:
        flash.info(request, _("A code was sent a moment ago. You can ask for a new code in "
                              "%(seconds)d seconds.") % {"seconds": result.wait_seconds})
    return redirect("portal:landing", token=token)


@never_cache
@require_POST
def verify(request: HttpRequest, token: str) -> HttpResponseBase:
    recipient = content.resolve_link(token)
    if recipient is None:
        return _not_found(request)
    code = request.POST.get("code", "")
    try:
        if recipient.method == Recipient.Method.ACCESS_CODE:
            result = actions.verify_access_code(recipient, code, request=request)
        else:
            result = actions.verify_code(recipient, code, _ensure_session(request),
                                         request=request)
    except actions.NotFound:
        return _not_found(request)
    if not result:
        recipient.refresh_from_db()
        if recipient.locked_at:
            return _locked(request, recipient)
        if result.wait_seconds:
            error = _wait_text(result.wait_seconds)
        elif recipient.method == Recipient.Method.ACCESS_CODE:
            error = _("This access code is not right. Check it and try again.")
        else:
            error = _("This code is not right or no longer valid. Check it, or ask for a "
                      "new code.")
        return render(request, "portal/verify.html",
                      _context(recipient, token=token, error=error,
                               code_sent=request.session.get("portal_code_for") == recipient.pk),
                      status=400)
    # A new session id after verifying: a session fixed before cannot ride along.
    request.session.cycle_key()
    request.session.pop("portal_code_for", None)
    request.session[SESSION_KEY] = {"r": recipient.pk, "c": str(recipient.conversation_id),
                                    "t": time.time()}
    return redirect("portal:landing", token=token)


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return ngettext(
            "The code was entered wrongly a few times. For your safety, please wait "
            "%(count)d second before you try again.",
            "The code was entered wrongly a few times. For your safety, please wait "
            "%(count)d seconds before you try again.", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "The code was entered wrongly a few times. For your safety, please wait "
        "%(count)d minute before you try again.",
        "The code was entered wrongly a few times. For your safety, please wait "
        "%(count)d minutes before you try again.", minutes) % {"count": minutes}


@never_cache
@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str, attachment_id: str) -> HttpResponseBase:
    recipient = content.resolve_link(token)
    if recipient is None or not _verified(request, recipient) or recipient.locked_at:
        return _not_found(request)
    visible = content.visible_messages(recipient).values_list("pk", flat=True)
    pk = _uuid_or_none(attachment_id)
    attachment = (Attachment.objects.select_related("key", "message__conversation")
                  .filter(pk=pk, message_id__in=list(visible)).first() if pk else None)
    if attachment is None:
        return _not_found(request)
    if request.method == "HEAD":
        return download_head_response(attachment.size)
    try:
        # Opened (and the first chunk checked) before the download is recorded or a byte is sent.
        meta, chunks = content.open_attachment(attachment)
        actions.record_download(attachment, recipient=recipient, request=request)
    except (actions.ActionError, ShreddedError):
        return _not_found(request)
    return download_response(meta.name, chunks, meta.size, request=request)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _guest_may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    recipient = content.resolve_link(str(view_kwargs.get("token", "")))
    if recipient is None or recipient.locked_at or not _verified(request, recipient):
        return None
    return recipient.conversation.organisation_id


@accepts_uploads(_guest_may_upload)
@never_cache
@require_POST
def reply(request: HttpRequest, token: str) -> HttpResponseBase:
    recipient = content.resolve_link(token)
    if recipient is None or not _verified(request, recipient):
        return _not_found(request)
    if upload_refused(request):
        return upload_too_large_response(request)
    org = recipient.conversation.organisation
    body = request.POST.get("body", "")
    kept = access.draft_attachments(request.POST.getlist("attachment_ids"),
                                    recipient=recipient, missing_ok=True)
    attachments = kept + [
        actions.store_upload(f, organisation=org, recipient=recipient)
        for f in request.FILES.getlist("attachments") if isinstance(f, EncryptedUpload)
    ]
    try:
        message = actions.reply_as_recipient(recipient, body, attachments, request=request)
    except actions.LockedOut:
        return _locked(request, recipient)
    except actions.ReplyRefused as exc:
        # Over a limit: the files are removed already; the text is kept for later.
        return _conversation(request, token, recipient, error=exc.message, body=body,
                             status=exc.status)
    except actions.ActionError as exc:
        if isinstance(exc, actions.NotFound) and not exc.field:
            return _not_found(request)  # revoked or expired meanwhile
        pending = [(a, content.attachment_name(a)) for a in attachments]
        return _conversation(request, token, recipient, error=exc.message, body=body,
                             pending=pending, status=exc.status)
    # Scanned on arrival, for the staff who read it and the audit log; never refused for it.
    scans.scan_guest_reply(message, body, recipient, request=request)
    flash.success(request, _("Your reply was sent securely."))
    return redirect("portal:landing", token=token)


@never_cache
@require_POST
def end_session(request: HttpRequest, token: str) -> HttpResponseBase:
    request.session.flush()
    return render(request, "portal/ended.html", status=200)
