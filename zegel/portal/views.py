"""The guest portal: a recipient opens their link, proves who they are, reads and replies."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
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
from zegel.messaging.models import Attachment, Conversation, Recipient, RecipientLink
from zegel.messaging.validation import mask_email, mask_phone
from zegel.portal.languages import language_choices, use_portal_language
from zegel.portal.owncopy.eml import eml_filename, message_eml
from zegel.portal.owncopy.pdf import conversation_pdf, pdf_filename

SESSION_KEY = "portal"
# This browser's held reply: {"r": recipient, "l": link, "s": the hold's secret}.
HOLD_KEY = "portal_hold"


def _not_found(request: HttpRequest) -> HttpResponse:
    # Only for links that never existed (or were replaced by a new notification): the pages
    # below that name the organisation need the whole, valid token.
    return render(request, "portal/not_found.html", status=404)


def _state(recipient: Recipient) -> str:
    """What became of the message for this recipient: "open", "withdrawn" (the sender revoked
    it, for this recipient, for all recipients or for everyone), "expired" (its end date
    passed) or "removed" (the organisation's retention period destroyed it). Conversations
    shredded before the reason was kept were expired if their end date came first."""
    conversation = recipient.conversation
    expires = conversation.expires_at
    now = timezone.now()
    if conversation.revoked_at is not None:
        if conversation.shredded_reason == Conversation.Shredded.RETENTION:
            return "removed"
        if conversation.closed_reason == Conversation.Closed.EXPIRED:
            return "expired"
        if (not conversation.shredded_reason and expires is not None
                and expires <= conversation.revoked_at):
            return "expired"
        return "withdrawn"
    if conversation.closed_reason == Conversation.Closed.EXPIRED:
        return "expired"
    if conversation.closed_at is not None:
        return "withdrawn"
    if expires is not None and expires <= now:
        return "expired"
    if recipient.revoked_at is not None:
        return "withdrawn"
    return "open"


def _gone(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """The page for a valid link whose message can no longer be opened (410 Gone)."""
    state = _state(recipient)
    template = "portal/withdrawn.html" if state == "withdrawn" else "portal/expired.html"
    # A message removed by the retention period names no date: it may never have had one.
    expires_at = None if state == "removed" else recipient.conversation.expires_at
    return render(request, template, _context(recipient, expires_at=expires_at), status=410)


def _open_link(request: HttpRequest, token: str) -> tuple[RecipientLink | None,
                                                          HttpResponse | None]:
    """The link, if its message can still be opened; otherwise the page to answer with."""
    link = content.find_link(token)
    if link is None:
        return None, _not_found(request)
    use_portal_language(request, link.recipient.conversation.organisation)
    if _state(link.recipient) != "open":
        return None, _gone(request, link.recipient)
    return link, None


def _verified(request: HttpRequest, recipient: Recipient) -> bool:
    state: dict[str, Any] | None = request.session.get(SESSION_KEY)
    if not _mine(state, recipient) or state is None or state.get("ended"):
        return False
    now = time.time()
    if now - float(state.get("t", 0)) > recipient.conversation.organisation.portal_idle_seconds:
        # Kept as "ended": the page then says the session ended (not "who are you?"), and a
        # reply posted now is held until this browser verifies again.
        request.session[SESSION_KEY] = {"r": recipient.pk, "c": str(recipient.conversation_id),
                                        "v": recipient.auth_version, "ended": True}
        return False
    state["t"] = now
    request.session[SESSION_KEY] = state
    return True


def _mine(state: dict[str, Any] | None, recipient: Recipient) -> bool:
    """The session is this recipient's, verified under the way of verifying it has now: once
    the sender changed it (Recipient.auth_version), the browser must verify again."""
    return (bool(state) and state is not None and state.get("r") == recipient.pk
            and state.get("c") == str(recipient.conversation_id)
            and state.get("v", 0) == recipient.auth_version)


def _session_ended(request: HttpRequest, recipient: Recipient) -> bool:
    """This browser was verified as this recipient, and that session ran out."""
    state: dict[str, Any] | None = request.session.get(SESSION_KEY)
    return _mine(state, recipient) and bool(state and state.get("ended"))


def _hold_of(request: HttpRequest, recipient: Recipient, link: RecipientLink) -> str:
    """The secret of this browser's held reply for this recipient and link, or ""."""
    hold = request.session.get(HOLD_KEY)
    if (isinstance(hold, dict) and hold.get("r") == recipient.pk
            and hold.get("l") == link.pk and isinstance(hold.get("s"), str)):
        return str(hold["s"])
    return ""


def _ensure_session(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _context(recipient: Recipient, **extra: Any) -> dict[str, Any]:
    conversation = recipient.conversation
    return {
        "recipient": recipient,
        "org": conversation.organisation,
        "offered_languages": language_choices(conversation.organisation),
        "sender_name": conversation.created_by.display_name,
        "sender_email": conversation.created_by.email,
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
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    if recipient.locked_at:
        return _locked(request, recipient)
    if _verified(request, recipient):
        return _conversation(request, token, recipient)
    # A remembered browser opens a new visit without a code, not a session that ran out here:
    # the idle timeout protects an unattended screen, so that one needs the code again.
    if not _session_ended(request, recipient):
        version = actions.open_remembered(recipient, _remember_secret(request), request=request)
        if version is not None:
            _start_session(request, recipient, version)
            return _conversation(request, token, recipient)
    return _verify_page(request, token, link)


def _verify_page(request: HttpRequest, token: str, link: RecipientLink, *, status: int = 200,
                 **extra: Any) -> HttpResponse:
    recipient = link.recipient
    code_sent = request.session.get("portal_code_for") == recipient.pk
    return render(request, "portal/verify.html",
                  _context(recipient, token=token, code_sent=code_sent,
                           session_ended=_session_ended(request, recipient),
                           held=bool(_hold_of(request, recipient, link)),
                           held_minutes=max(1, settings.PORTAL_HELD_REPLY_SECONDS // 60),
                           remember_days=recipient.conversation.organisation
                           .remember_browser_days,
                           help_max=actions.MAX_HELP_NOTE,
                           **extra),
                  status=status)


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
        return _gone_now(request, recipient)
    idle = recipient.conversation.organisation.portal_idle_seconds
    return render(request, "portal/conversation.html",
                  _context(recipient, token=token, thread=opened,
                           remembered_until=actions.remembered_until(
                               recipient, _remember_secret(request)),
                           subject=opened[0].subject if opened else "",
                           expires_at=recipient.conversation.expires_at,
                           idle_seconds=idle,
                           warn_seconds=min(settings.PORTAL_WARN_SECONDS, idle // 2),
                           **extra),
                  status=status)


def _gone_now(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """Access ended while a request was on its way: the page for what happened."""
    current = Recipient.objects.select_related(
        "conversation__organisation", "conversation__created_by").filter(pk=recipient.pk).first()
    if current is None or _state(current) == "open":
        return _not_found(request)
    return _gone(request, current)


@never_cache
@require_POST
def send_code(request: HttpRequest, token: str) -> HttpResponseBase:
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    if recipient.method == Recipient.Method.ACCESS_CODE:
        return redirect("portal:landing", token=token)
    try:
        result = actions.request_code(recipient, _ensure_session(request), request=request)
    except actions.NotFound:
        return _gone_now(request, recipient)
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
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    code = request.POST.get("code", "")
    try:
        if recipient.method == Recipient.Method.ACCESS_CODE:
            result = actions.verify_access_code(recipient, code, request=request)
        else:
            result = actions.verify_code(recipient, code, _ensure_session(request),
                                         request=request)
    except actions.NotFound:
        return _gone_now(request, recipient)
    if not result:
        recipient.refresh_from_db()
        if recipient.locked_at:
            return _locked(request, recipient)
        return _verify_page(request, token, link, error=_code_error(recipient, result),
                            status=400)
    _start_session(request, recipient, result.version)
    remembered = None
    if request.POST.get("remember") == "1":
        remembered = actions.remember_browser(recipient, _remember_secret(request),
                                              request=request)
    secret = _hold_of(request, recipient, link)
    if secret:
        request.session.pop(HOLD_KEY, None)
        released = actions.release_held_reply(recipient, link, secret, request=request)
        if released.failed:
            flash.error(request, _("The reply you wrote before could not be kept safely, so it "
                                   "was not sent. Please write it again."))
        elif not released.found:
            flash.info(request, _("The reply you wrote before was kept for %(minutes)d minutes "
                                  "only and was not sent. Please write it again.")
                       % {"minutes": max(1, settings.PORTAL_HELD_REPLY_SECONDS // 60)})
        else:
            return _set_remember_cookie(
                request, _send_reply(request, token, recipient, released.body,
                                     list(released.attachments),
                                     sent_text=_("You are signed in again. The reply you "
                                                 "wrote before was sent securely.")),
                remembered)
    return _set_remember_cookie(request, redirect("portal:landing", token=token), remembered)


def _start_session(request: HttpRequest, recipient: Recipient, version: int) -> None:
    """This browser is verified as this recipient from now on, under the recipient's
    auth_version read when the check passed: a change of method after it ends the session."""
    # A new session id after verifying: a session fixed before cannot ride along.
    request.session.cycle_key()
    request.session.pop("portal_code_for", None)
    request.session[SESSION_KEY] = {"r": recipient.pk, "c": str(recipient.conversation_id),
                                    "v": version, "t": time.time()}


def _remember_secret(request: HttpRequest) -> str:
    return request.COOKIES.get(settings.REMEMBER_COOKIE_NAME, "")


def _set_remember_cookie(request: HttpRequest, response: HttpResponseBase,
                         remembered: actions.Remembered | None) -> HttpResponseBase:
    if remembered is not None:
        response.set_cookie(settings.REMEMBER_COOKIE_NAME, remembered.secret,
                            expires=remembered.expires_at, path="/m/",
                            secure=settings.SECURE or request.is_secure(), httponly=True,
                            samesite="Lax")
    return response


def _code_error(recipient: Recipient, result: actions.Verification) -> str:
    """What went wrong with a code, and what to do next."""
    if result.wait_seconds:
        return _wait_text(result.wait_seconds)
    conversation = recipient.conversation
    names = {"name": conversation.created_by.display_name, "org": conversation.organisation.name}
    if recipient.method == Recipient.Method.ACCESS_CODE:
        if result.tries_left is not None:
            return ngettext(
                "This access code is not right. Check it and try again. You can try "
                "%(count)d more time; after that the message is blocked. If you do not have "
                "the code, ask %(name)s of %(org)s.",
                "This access code is not right. Check it and try again. You can try "
                "%(count)d more times; after that the message is blocked. If you do not have "
                "the code, ask %(name)s of %(org)s.",
                result.tries_left) % {"count": result.tries_left, **names}
        return _("This access code is not right. Check it and try again.")
    if result.reason == "no_code":
        return _("This code is no longer valid: a code works for 10 minutes, and only the "
                 "newest one works. Ask for a new code below.")
    if result.code_dead:
        return _("This code is not right, and after several wrong tries it no longer works. "
                 "Ask for a new code below.")
    if result.tries_left is not None:
        return ngettext(
            "This code is not right. Check the code and try again: you can try %(count)d "
            "more time. Or ask for a new code below.",
            "This code is not right. Check the code and try again: you can try %(count)d "
            "more times. Or ask for a new code below.",
            result.tries_left) % {"count": result.tries_left}
    return _("This code is not right or no longer valid. Check it, or ask for a new code.")


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
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    if recipient.locked_at:
        return _locked(request, recipient)
    if not _verified(request, recipient):
        # The session ran out (or never was): a click goes to the page that says so; a HEAD
        # (a scanner, a download manager) finds nothing.
        if request.method == "HEAD":
            return _not_found(request)
        return redirect("portal:landing", token=token)
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


def _copy_for(request: HttpRequest, token: str) -> tuple[Recipient | None,
                                                           HttpResponseBase | None]:
    """The recipient an own copy is for, or the answer a download gets: the same refusals,
    in the same order, as download() (only GET comes here)."""
    link, gone = _open_link(request, token)
    if link is None:
        return None, gone or _not_found(request)
    recipient = link.recipient
    if recipient.locked_at:
        return None, _locked(request, recipient)
    if not _verified(request, recipient):
        return None, redirect("portal:landing", token=token)
    return recipient, None


@never_cache
@require_GET
def copy_pdf(request: HttpRequest, token: str) -> HttpResponseBase:
    """The conversation as a PDF: every message this recipient may see (NTA 7516 6.1.18)."""
    recipient, refused = _copy_for(request, token)
    if recipient is None:
        return refused or _not_found(request)
    messages = list(content.visible_messages(recipient))
    if not messages:
        return _not_found(request)
    try:
        # Made whole before the download is recorded or a byte is sent.
        data = conversation_pdf(recipient, [content.open_message(m) for m in messages])
        actions.record_own_copy(recipient, messages, form="pdf", request=request)
    except actions.LockedOut:
        return _locked(request, recipient)
    except (actions.NotFound, ShreddedError):
        return _gone_now(request, recipient)
    return download_response(pdf_filename(recipient), iter([data]), len(data), request=request)


@never_cache
@require_GET
def copy_eml(request: HttpRequest, token: str, message_id: str) -> HttpResponseBase:
    """One message as an .eml with its files inside (up to OWN_COPY_EML_MAX_SIZE), streamed."""
    recipient, refused = _copy_for(request, token)
    if recipient is None:
        return refused or _not_found(request)
    pk = _uuid_or_none(message_id)
    visible = list(content.visible_messages(recipient)) if pk else []
    position = next((i for i, m in enumerate(visible) if m.pk == pk), None)
    if position is None:
        return _not_found(request)
    message = visible[position]
    try:
        # Every file in it opened (and its first chunk checked) before the download is
        # recorded or a byte is sent, as for a download of the file itself.
        saved = message_eml(recipient, content.open_message(message), visible[:position])
        actions.record_own_copy(recipient, [message], form="eml", attachments=saved.embedded,
                                request=request)
    except actions.LockedOut:
        return _locked(request, recipient)
    except (actions.NotFound, ShreddedError):
        return _gone_now(request, recipient)
    return download_response(eml_filename(message), saved.chunks, saved.size, request=request)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _guest_may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    """Verified guests upload; so does a browser whose verified session just ran out, for the
    reply that is then held (the files become its drafts, removed with it)."""
    recipient = content.resolve_link(str(view_kwargs.get("token", "")))
    if recipient is None or recipient.locked_at:
        return None
    if not (_verified(request, recipient) or _session_ended(request, recipient)):
        return None
    return recipient.conversation.organisation_id


@accepts_uploads(_guest_may_upload)
@never_cache
@require_POST
def reply(request: HttpRequest, token: str) -> HttpResponseBase:
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    if upload_refused(request):
        return upload_too_large_response(request)
    if recipient.locked_at:
        return _locked(request, recipient)
    body = request.POST.get("body", "")
    verified = _verified(request, recipient)
    if not verified and not _session_ended(request, recipient):
        # This browser never verified as this recipient (or its whole session is gone): the
        # reply cannot be kept for it. The text goes back on the page, so it is not lost.
        return _verify_page(request, token, link, lost_body=body, status=403)
    org = recipient.conversation.organisation
    kept = access.draft_attachments(request.POST.getlist("attachment_ids"),
                                    recipient=recipient, missing_ok=True)
    attachments = kept + [
        actions.store_upload(f, organisation=org, recipient=recipient)
        for f in request.FILES.getlist("attachments") if isinstance(f, EncryptedUpload)
    ]
    if not verified:
        return _hold(request, token, link, body, attachments)
    return _send_reply(request, token, recipient, body, attachments)


def _hold(request: HttpRequest, token: str, link: RecipientLink, body: str,
          attachments: list[Attachment]) -> HttpResponseBase:
    """The session ended before this reply came: keep it, sealed, and ask for a new code."""
    recipient = link.recipient
    if body.strip() or attachments:
        try:
            _held, secret = actions.hold_reply(recipient, link, body, attachments,
                                               replaces=_hold_of(request, recipient, link),
                                               request=request)
        except actions.NotFound:
            return _gone_now(request, recipient)
        request.session[HOLD_KEY] = {"r": recipient.pk, "l": link.pk, "s": secret}
    return redirect("portal:landing", token=token)


def _send_reply(request: HttpRequest, token: str, recipient: Recipient, body: str,
                attachments: list[Attachment], *, sent_text: str = "") -> HttpResponseBase:
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
            return _gone_now(request, recipient)  # revoked or expired meanwhile
        pending = [(a, content.attachment_name(a)) for a in attachments]
        return _conversation(request, token, recipient, error=exc.message, body=body,
                             pending=pending, status=exc.status)
    # Scanned on arrival, for the staff who read it and the audit log; never refused for it.
    scans.scan_guest_reply(message, body, recipient, request=request)
    flash.success(request, sent_text or _("Your reply was sent securely."))
    return redirect("portal:landing", token=token)


@never_cache
@require_POST
def stay(request: HttpRequest, token: str) -> HttpResponseBase:
    """"Stay signed in": the page's script extends the idle session before it ends."""
    link = content.find_link(token)
    if link is None or _state(link.recipient) != "open" or link.recipient.locked_at:
        return JsonResponse({"signed_in": False}, status=404)
    if not _verified(request, link.recipient):
        return JsonResponse({"signed_in": False}, status=401)
    return JsonResponse({"signed_in": True,
                         "seconds": link.recipient.conversation.organisation.portal_idle_seconds})


@never_cache
@require_POST
def end_session(request: HttpRequest, token: str) -> HttpResponseBase:
    # A remembered browser would open the link again without a code: the page says so and
    # offers to forget it.
    link = content.find_link(token)
    until = (actions.remembered_until(link.recipient, _remember_secret(request))
             if link is not None and _state(link.recipient) == "open" else None)
    request.session.flush()
    page: dict[str, Any] = {"token": token, "remembered_until": until}
    if link is not None:
        org = link.recipient.conversation.organisation
        use_portal_language(request, org)
        page["offered_languages"] = language_choices(org)
    return render(request, "portal/ended.html", page, status=200)


@never_cache
@require_POST
def ask_for_help(request: HttpRequest, token: str) -> HttpResponseBase:
    """"I don't have my access code" / "I did not get the SMS": the sender is told, within
    the caps; the note is kept for the sender only (actions.request_help)."""
    link, gone = _open_link(request, token)
    if link is None:
        return gone or _not_found(request)
    recipient = link.recipient
    if recipient.locked_at:
        return _locked(request, recipient)
    if _verified(request, recipient):
        return redirect("portal:landing", token=token)
    note = request.POST.get("note", "")
    try:
        answer = actions.request_help(recipient, note, request=request)
    except actions.NotFound:
        return _gone_now(request, recipient)
    except actions.ActionError as exc:
        return _verify_page(request, token, link, help_error=exc.message, help_note=note,
                            status=400)
    if answer.locked:
        return _locked(request, recipient)
    names = {"name": recipient.conversation.created_by.display_name,
             "org": recipient.conversation.organisation.name}
    if answer.limited:
        return _verify_page(request, token, link, status=429, help_limited=_(
            "You already let %(name)s of %(org)s know a short while ago, so we did not send "
            "it again. Please wait until they contact you, or contact %(org)s yourself as "
            "shown below.") % names)
    flash.success(request, _("We let %(name)s of %(org)s know that you cannot open the "
                             "message. They will contact you.") % names)
    return redirect("portal:landing", token=token)


@never_cache
@require_POST
def forget(request: HttpRequest, token: str) -> HttpResponseBase:
    """"Forget this browser": its rows and its cookie go; this session stays as it is."""
    link = content.find_link(token)
    if link is None:
        return _not_found(request)
    use_portal_language(request, link.recipient.conversation.organisation)
    actions.forget_browser(_remember_secret(request), recipient=link.recipient,
                           request=request)
    flash.success(request, _("This browser is forgotten. Next time you open a message, we "
                             "ask for a code again."))
    response = redirect("portal:landing", token=token)
    response.delete_cookie(settings.REMEMBER_COOKIE_NAME, path="/m/", samesite="Lax")
    return response
