"""The sender web app: log in, compose, inbox, sent, conversation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zegel.directory.models import Contact
from zegel.dlp import allowlist, scans
from zegel.dlp import service as dlp
from zegel.dlp.findings import NOT_SCANNED, REPORT_THRESHOLD
from zegel.files.downloads import download_head_response, download_response
from zegel.files.uploads import (
    EncryptedUpload,
    accepts_uploads,
    upload_refused,
    upload_too_large_response,
)
from zegel.messaging import access, actions, content, drafts, status
from zegel.messaging.drafts import with_directory
from zegel.messaging.models import Attachment, Conversation, Message, Recipient
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user
from zegel.orgs.backends import login_throttled
from zegel.orgs.models import Organisation
from zegel.orgs.twofactor import policy
from zegel.sender import lists, second_step

MAX_ROWS = 50


class LoginView(auth_views.LoginView):
    template_name = "sender/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The page asks the person to wait without saying which limit was reached.
        return {**super().get_context_data(**kwargs),
                "throttled": login_throttled(self.request),
                "wait_minutes": -(-settings.LOGIN_FAILURE_WINDOW // 60)}

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if policy.has_second_factor(user):
            # Not logged in yet: only the second step (zegel.sender.security) is open to it.
            return second_step.begin_second_step(self.request, user, self.get_success_url())
        return super().form_valid(form)


def _own_conversation(request: HttpRequest, conversation_id: str) -> Conversation:
    """The conversation if this user may see it; 404 otherwise (also for other orgs')."""
    return access.conversation_for_user(staff_user(request), conversation_id)


def _rows_from_post(request: HttpRequest) -> list[actions.RecipientSpec]:
    try:
        count = min(int(request.POST.get("rows", "1")), MAX_ROWS)
    except ValueError:
        count = 1
    rows = []
    for i in range(max(count, 1)):
        def field(name: str, i: int = i) -> str:
            return request.POST.get(f"r-{i}-{name}", "")
        spec = actions.RecipientSpec(
            email=field("email").strip(), name=field("name"), kind=field("kind") or "to",
            method=field("method"), phone=field("phone"), access_code=field("access_code"),
            access_code_hint=field("hint"),
        )
        rows.append(spec)
    return rows


def _take_attachments(request: HttpRequest, *, field: str = "attachments") -> list[Attachment]:
    """Uploads of this request become draft attachments at once, so a form that is refused and
    shown again keeps them: nothing the sender already uploaded is lost."""
    user = staff_user(request)
    kept = access.draft_attachments(request.POST.getlist("attachment_ids"), user=user,
                                    missing_ok=True)
    new = [actions.store_upload(f, organisation=user.organisation, user=user)
           for f in request.FILES.getlist(field) if isinstance(f, EncryptedUpload)]
    return kept + new


def _staff_may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    return staff_user(request).organisation_id if request.user.is_authenticated else None


def _dlp_confirmed(request: HttpRequest) -> bool:
    return request.POST.get("dlp_confirm") == "1"


def _dlp_context(exc: actions.ActionError) -> dict[str, Any]:
    """What a refused form shows of the data-leak rules: their messages and, for a warning,
    the confirmation box (so confirming works without JavaScript too)."""
    if not isinstance(exc, dlp.DlpRefused):
        return {}
    return {"dlp_rules": exc.rules, "dlp_confirm_needed": exc.needs_confirmation}


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_POST
def compose_check(request: HttpRequest) -> JsonResponse:
    """The compose page's live data-leak hints for the form as typed so far. Files count with
    the findings kept when they were uploaded (compose_attach): no file is read again here."""
    user = staff_user(request)
    rows = with_directory(user.organisation, [r for r in _rows_from_post(request) if r.email])
    for row in rows:
        row.method = row.method or ("sms" if row.phone.strip() else "")
    subject = request.POST.get("subject", "")[:actions.MAX_SUBJECT]
    body = request.POST.get("body", "")[:actions.MAX_BODY]
    drafts = access.draft_attachments(request.POST.getlist("attachment_ids")[:MAX_ROWS],
                                      user=user, missing_ok=True)
    result = dlp.check_draft(sender=user, subject=subject, body=body, recipients=rows,
                             attachments=drafts,
                             attachment_findings=scans.attachment_findings(drafts))
    answer = result.as_json()
    texts = {"subject": subject, "body": body}
    for shown, located in zip(answer["findings"], result.findings, strict=True):
        # What "This is not a BSN" sends back: a signed token, never the value.
        if located.where in texts and allowlist.markable(located.finding):
            shown["id"] = allowlist.finding_token(user.organisation, texts[located.where],
                                                  located.finding)
            shown["not_label"] = dlp.not_label(located.finding.kind)
    # Hints below the report threshold (a health word in a newsletter) are not "found".
    shown_findings = [f for f in answer["findings"]
                      if f["confidence"] >= REPORT_THRESHOLD or f["kind"] == NOT_SCANNED]
    answer["findings"] = shown_findings
    found = list(dict.fromkeys(f["text"] for f in shown_findings))
    answer["summary"] = _("Found: %(items)s.") % {"items": "; ".join(found)} if found else ""
    answer["hints"] = result.rule_messages()
    return JsonResponse(answer)


def _json_error(exc: actions.ActionError) -> JsonResponse:
    return JsonResponse({"error": exc.message, "field": exc.field}, status=exc.status)


@accepts_uploads(_staff_may_upload)
@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_POST
def compose_attach(request: HttpRequest) -> HttpResponseBase:
    """Files chosen on the compose page, uploaded at once: each becomes a draft attachment and
    is scanned once, here, so the live hints cover it without reading it again."""
    if upload_refused(request):
        return upload_too_large_response(request)
    uploads = [f for f in request.FILES.getlist("attachments") if isinstance(f, EncryptedUpload)]
    if not uploads:
        return _json_error(actions.ActionError(_("Choose a file to attach."),
                                               field="attachments"))
    user = staff_user(request)
    stored = []
    for upload in uploads:
        attachment = actions.store_upload(upload, organisation=user.organisation, user=user)
        scans.scan_upload(attachment)
        stored.append({"id": str(attachment.pk), "name": content.attachment_name(attachment),
                       "size": attachment.size})
    return JsonResponse({"attachments": stored})


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_POST
def compose_not_sensitive(request: HttpRequest) -> JsonResponse:
    """ "This is not a BSN": the finding's value goes on the organisation's allow list."""
    try:
        entry = allowlist.mark_not_sensitive(staff_user(request), request.POST.get("finding", ""),
                                             request=request)
    except actions.ActionError as exc:
        return _json_error(exc)
    return JsonResponse({"kind": entry.kind,
                         "message": _("Noted: this value is no longer reported as %(what)s.")
                         % {"what": dlp.kind_label(entry.kind)}})


# How long recipients can open a message; afterwards its content is destroyed. The
# organisation's own default (Organisation.default_expiry_days) is added when it is not one
# of these, and preselected.
EXPIRY_DAYS = (7, 30, 90, 365)


def _expiry_label(days: int) -> str:
    labels = {7: _("1 week"), 30: _("30 days"), 90: _("3 months"), 365: _("1 year")}
    return labels.get(days) or ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def expiry_choices(organisation: Organisation) -> list[tuple[str, str]]:
    """The "Available for" choices, the organisation's default marked as such."""
    default = organisation.default_expiry_days
    longest = organisation.max_expiry_days
    # With a maximum (Organisation.max_expiry_days) neither "no end date" nor a longer choice
    # is offered; the maximum itself is.
    offered = {d for d in {*EXPIRY_DAYS, default, longest} - {0} if not longest or d <= longest}
    choices = [] if longest else [("", _("No end date"))]
    choices += [(str(days), _expiry_label(days)) for days in sorted(offered)]
    chosen = str(default) if default else ""
    return [(value, _("%(choice)s (default)") % {"choice": label} if value == chosen else label)
            for value, label in choices]


def default_expiry_choice(organisation: Organisation) -> str:
    days = organisation.default_expiry_days
    return str(days) if days else ""


def _expiry_from(value: str, choices: list[tuple[str, str]]) -> datetime | None:
    if value not in {v for v, _label in choices}:
        raise actions.ActionError(_("Choose how long the message stays available."),
                                  field="expires_in")
    if not value:
        return None
    return timezone.now() + timedelta(days=int(value))


def _expiry_on(value: str) -> datetime | None:
    """A date typed on the conversation page: available until the end of that day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise actions.ActionError(_("Enter a date such as 2027-01-31."),
                                  field="expires_on") from None
    end = datetime.combine(day, time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())




# The inputs of a recipient row, by the name of the field an ActionError names.
_ROW_INPUT = {"email": "email", "method": "method", "phone": "phone",
              "access_code": "access_code", "access_code_hint": "hint"}
# Where a form-wide error points to on the compose page.
_FIELD_ANCHOR = {"recipients": "r-0-email", "expires_at": "expires_in", "dlp": "dlp-hints"}


def _anchor(field: str) -> str:
    index, _sep, name = field.partition(".")
    if name and index.isdigit():
        return f"r-{index}-{_ROW_INPUT.get(name, name)}"
    return _FIELD_ANCHOR.get(field, field or "subject")


def _form_errors(exc: actions.ActionError,
                 rows: list[actions.RecipientSpec]) -> list[actions.FieldError]:
    """Every error to show, with the field it is about. A data-leak refusal says what to do
    (its rules are listed once, below, with the hints); one error is one entry."""
    if isinstance(exc, actions.ActionErrors):
        return exc.errors
    if isinstance(exc, dlp.DlpRefused):
        if exc.reason == "blocked":
            return [actions.FieldError("dlp", _(
                "This message cannot be sent: the rules below stop it. Remove what they name, "
                "or ask your administrator."))]
        if exc.reason == "method":
            allowed = set(exc.required_methods)
            names = ", ".join(str(dict(Recipient.Method.choices).get(m, m))
                              for m in exc.required_methods)
            wrong = [i for i, r in enumerate(rows) if (r.method or "sms") not in allowed]
            return [actions.FieldError(
                f"{i}.method", _("%(who)s must verify with: %(methods)s. Change the "
                                 "verification of %(who)s.")
                % {"who": drafts.recipient_label(i, rows[i]), "methods": names})
                for i in wrong] or [actions.FieldError("dlp", exc.message)]
        if exc.reason == "unconfirmed":
            return [actions.FieldError("dlp_confirm", _(
                "Read the warning below. To send anyway, tick the box to confirm."))]
    return [actions.FieldError(exc.field, exc.message)]


def _row_views(rows: list[actions.RecipientSpec],
               errors: list[actions.FieldError]) -> list[dict[str, Any]]:
    """Each recipient row with its own errors by input ("phone": "Enter a mobile…")."""
    views: list[dict[str, Any]] = [
        {"i": i, "spec": spec, "errors": {}, "label": drafts.recipient_label(i, spec)}
        for i, spec in enumerate(rows)]
    for error in errors:
        anchor = _anchor(error.field)
        for view in views:
            prefix = f"r-{view['i']}-"
            if anchor.startswith(prefix):
                view["errors"].setdefault(anchor[len(prefix):], error.message)
    return views


def method_choices(organisation: Organisation) -> list[tuple[str, str]]:
    """The verification methods a sender may choose: without the e-mail code where the
    organisation does not allow it."""
    return [(value, str(label)) for value, label in Recipient.Method.choices
            if value != Recipient.Method.EMAIL or organisation.email_code_allowed]


def _default_method(organisation: Organisation) -> str:
    allowed = {value for value, _label in method_choices(organisation)}
    return organisation.default_method if organisation.default_method in allowed \
        else Recipient.Method.SMS


def _compose_page(request: HttpRequest, *, rows: list[actions.RecipientSpec],
                  expires_in: str, exc: actions.ActionError | None = None,
                  **extra: Any) -> HttpResponse:
    organisation = staff_user(request).organisation
    errors = _form_errors(exc, rows) if exc is not None else []
    # One empty row more than was typed: without JavaScript (which adds rows on request and
    # drops this one) it is how a further recipient is added. An empty row is ignored.
    method = _default_method(organisation)
    typed = rows or [actions.RecipientSpec(email="", method=method)]
    row_views = _row_views([*typed, actions.RecipientSpec(email="", method=method)], errors)
    row_views[-1]["spare"] = True
    context: dict[str, Any] = {
        "tab": "compose", "methods": method_choices(organisation),
        "kinds": Recipient.Kind.choices,
        "expiry_choices": expiry_choices(organisation), "expires_in": expires_in,
        "rows": row_views,
        "directory_in_use": Contact.objects.filter(organisation=organisation).exists(),
        "errors": [{"href": "#" + _anchor(e.field), "message": e.message} for e in errors],
        # The inputs outside the recipient rows that have an error, with its message.
        "field_errors": {_anchor(e.field): e.message for e in reversed(errors)
                         if not _anchor(e.field).startswith("r-")},
        **extra,
    }
    if isinstance(exc, dlp.DlpRefused):
        context.update({"dlp_notes": exc.notes, "dlp_confirm_needed": exc.needs_confirmation})
    return render(request, "sender/compose.html", context, status=400 if errors else 200)


def _recipient_list(recipients: list[Recipient]) -> str:
    return ", ".join(r.label for r in recipients)


@accepts_uploads(_staff_may_upload)
@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponseBase:
    user = staff_user(request)
    if request.method == "GET":
        return _compose_page(request, rows=[], expires_in=default_expiry_choice(user.organisation))
    if upload_refused(request):
        return upload_too_large_response(request)
    rows = [r for r in _rows_from_post(request)
            if r.email or r.phone or r.name or r.access_code]
    attachments = _take_attachments(request)
    subject = request.POST.get("subject", "")
    body = request.POST.get("body", "")
    expires_in = request.POST.get("expires_in", "")
    try:
        expires_at = _expiry_from(expires_in, expiry_choices(user.organisation))
        message = actions.send_message(sender=user, subject=subject, body=body,
                                       recipients=rows, attachments=attachments,
                                       request=request, dlp_confirmed=_dlp_confirmed(request),
                                       expires_at=expires_at)
    except actions.ActionError as exc:
        # Everything typed comes back, the access codes too: they are the sender's own
        # secret, typed a moment ago, and the page is never cached (docs/security.md, "Web").
        return _compose_page(request, rows=rows, expires_in=expires_in, exc=exc,
                             subject=subject, body=body,
                             pending=[(a, content.attachment_name(a)) for a in attachments])
    conversation = message.conversation
    flash.success(request, _("Sent securely to %(recipients)s. Each recipient gets an e-mail "
                             "with a link; their status is shown below.")
                  % {"recipients": _recipient_list(conversation.new_recipients or [])})
    return redirect("sender:conversation", conversation_id=str(conversation.pk))


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_POST
def compose_detach(request: HttpRequest, attachment_id: str) -> JsonResponse:
    """A file uploaded on the compose page taken out again before sending: the draft is
    deleted at once. Only the user's own unsent upload; anything else is a 404."""
    try:
        actions.remove_draft(attachment_id, user=staff_user(request))
    except actions.ActionError as exc:
        return _json_error(exc)
    return JsonResponse({"removed": attachment_id})


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_GET
def conversation_status(request: HttpRequest, conversation_id: str) -> JsonResponse:
    """Each recipient's status, for the conversation page to follow without a reload."""
    rows = status.recipient_statuses(_own_conversation(request, conversation_id))
    return JsonResponse({"recipients": [r.as_json() for r in rows],
                         "waiting": any(r.waiting for r in rows)})


def _audience_from(chosen: list[str]) -> list[str] | None:
    """The answer form's audience: "all" (or no choice, when the form offered none) is
    everyone who can open the conversation; otherwise recipient ids, comma-separated in one
    value or as several values."""
    if not chosen or chosen == ["all"]:
        return None
    return [part for value in chosen for part in value.split(",") if part.strip()]


def _short(recipient: Recipient) -> str:
    return recipient.name or recipient.email


def _audience_choices(able: list[Recipient], thread: list[Message]
                      ) -> tuple[list[tuple[str, str]], str]:
    """The answer form's choices (value, label) among `able`, the recipients who can receive
    it, and the one chosen at first: only the recipients whose replies the answer follows,
    when the latest message is a reply; otherwise everyone. No choice for one or none."""
    if len(able) < 2:
        return [], "all"
    last_staff = max((i for i, m in enumerate(thread) if m.author_user_id is not None),
                     default=-1)
    replied = list(dict.fromkeys(m.author_recipient_id for m in thread[last_staff + 1:]
                                 if m.author_recipient_id is not None))
    repliers = [r for r in able if r.pk in replied]
    choices = []
    if len(repliers) > 1 and len(repliers) < len(able):
        choices.append((",".join(str(r.pk) for r in repliers),
                        _("Only %(names)s") % {"names": ", ".join(_short(r) for r in repliers)}))
    choices += [(str(r.pk), _("Only %(name)s") % {"name": r.label}) for r in able]
    choices.append(("all", _("Everyone: %(names)s")
                    % {"names": ", ".join(_short(r) for r in able)}))
    latest_is_reply = bool(thread) and thread[-1].author_recipient_id is not None
    default = ("all" if not latest_is_reply or not repliers or len(repliers) == len(able)
               else ",".join(str(r.pk) for r in repliers))
    return choices, default


@accepts_uploads(_staff_may_upload)
@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponseBase:
    convo = _own_conversation(request, conversation_id)
    context: dict[str, Any] = {}
    if request.method == "POST":
        if upload_refused(request):
            return upload_too_large_response(request)
        attachments = _take_attachments(request)
        body = request.POST.get("body", "")
        chosen = request.POST.getlist("audience")
        context["audience_value"] = ",".join(chosen)
        try:
            answer = actions.answer_conversation(
                sender=staff_user(request), conversation=convo, body=body,
                attachments=attachments, audience=_audience_from(chosen), request=request,
                dlp_confirmed=_dlp_confirmed(request))
        except actions.ActionError as exc:
            context.update({"error": exc.message, "error_field": exc.field, "body": body,
                            "pending": [(a, content.attachment_name(a)) for a in attachments],
                            **_dlp_context(exc)})
        else:
            flash.success(request, _("Your answer was sent securely to %(recipients)s.")
                          % {"recipients": _recipient_list(status.notified_recipients(answer))})
            return redirect("sender:conversation", conversation_id=str(convo.pk))
    actions.mark_seen_by_sender(sender=staff_user(request), conversation=convo)
    # A revoked conversation's keys are destroyed: there is nothing left to show but the status.
    thread = [] if convo.revoked_at else [
        content.open_message(m) for m in convo.messages.select_related(
            "key", "author_user", "author_recipient").prefetch_related("attachments__key",
                                                                        "audience")]
    notes = scans.reply_notes(m.message for m in thread)
    able = content.answerable(convo)
    choices, default = _audience_choices(able, [m.message for m in thread])
    context.setdefault("audience_value", default)
    context.update({
        "audience_choices": choices, "answerable": able,
        "conversation": convo, "thread": thread,
        # Each message with what the scan found in it if it is a guest's reply ("a BSN in the
        # message"), kept when the reply arrived.
        "entries": [(m, notes.get(m.message.pk, [])) for m in thread],
        # A revoked conversation's subject went with its key: name it by recipients and date.
        "subject": thread[0].subject if thread else lists.revoked_title(
            convo, list(convo.recipients.all())),
        "status_rows": status.recipient_statuses(convo), "tab": "sent",
        "help_entries": content.help_requests(convo),
        "methods": method_choices(convo.organisation),
        # The sender's own messages, each with its proof of delivery (zegel.sender.proofs).
        "proof_messages": list(convo.messages.filter(author_user__isnull=False)
                               .only("id", "created_at", "conversation_id")),
    })
    return render(request, "sender/conversation.html", context,
                  status=400 if "error" in context else 200)


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, conversation_id: str, attachment_id: str) -> HttpResponseBase:
    convo = _own_conversation(request, conversation_id)
    attachment = access.attachment_for_user(staff_user(request), convo, attachment_id)
    if convo.revoked_at is not None:
        raise Http404
    if request.method == "HEAD":
        return download_head_response(attachment.size)
    # Opened (and the first chunk checked) before the download is recorded or a byte is sent.
    meta, chunks = content.open_attachment(attachment)
    actions.record_download(attachment, user=staff_user(request), request=request)
    return download_response(meta.name, chunks, meta.size, request=request)


def home(request: HttpRequest) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect("sender:login")
    # An auditor does not send: their start page is their account.
    return redirect("sender:inbox" if roles.allows(request.user, roles.Permission.SEND)
                    else "staff:account")


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def revoke_recipient(request: HttpRequest, conversation_id: str,
                     recipient_id: int) -> HttpResponseBase:
    convo = _own_conversation(request, conversation_id)
    recipient = access.recipient_for_user(staff_user(request), convo, recipient_id)
    actions.revoke_recipient(sender=staff_user(request), recipient=recipient, request=request)
    flash.success(request, _("Access for %(email)s was revoked.") % {"email": recipient.email})
    return redirect("sender:conversation", conversation_id=str(convo.pk))


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def change_expiry(request: HttpRequest, conversation_id: str) -> HttpResponseBase:
    convo = _own_conversation(request, conversation_id)
    try:
        actions.set_expiry(sender=staff_user(request), conversation=convo,
                           expires_at=_expiry_on(request.POST.get("expires_on", "")),
                           request=request)
    except actions.ActionError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, _("The end date was changed."))
    return redirect("sender:conversation", conversation_id=str(convo.pk))


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def resend(request: HttpRequest, conversation_id: str, recipient_id: int) -> HttpResponseBase:
    convo = _own_conversation(request, conversation_id)
    recipient = access.recipient_for_user(staff_user(request), convo, recipient_id)
    try:
        actions.resend_notification(sender=staff_user(request), recipient=recipient,
                                    request=request)
    except actions.ActionError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, _("A new notification is on its way to %(email)s.")
                      % {"email": recipient.email})
    return redirect("sender:conversation", conversation_id=str(convo.pk))
