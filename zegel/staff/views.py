"""Staff accounts in the sender app.

- The admin's user pages (users.manage): list, invite, change role, suspend, reactivate,
  reset two-factor login, delete. Every change is an action of zegel.orgs.actions, which
  checks the role again and keeps to the admin's own organisation (another organisation's
  user is a 404).
- The user's own account: when and from where they last logged in, their live sessions with
  "log out" per session and everywhere, and changing their password.
- The audit log, read-only, for admins and auditors.
- The pages behind the e-mailed links: accepting an invitation, "forgot password" and the
  reset. A GET shows a form and changes nothing (mail scanners open links too).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.audit.models import AuditEvent
from zegel.orgs import actions, passwords, reauth, roles
from zegel.orgs.access import role_required, staff_user
from zegel.orgs.backends import claim_attempt, client_key
from zegel.orgs.models import AccountLink, FailedLogin, StaffSession, User
from zegel.orgs.reauth import recent_auth_required
from zegel.orgs.roles import Role
from zegel.sender.second_step import wait_text
from zegel.staff import audit_export, audit_search, mail

MANAGE = roles.Permission.MANAGE_USERS


def _refused_page(request: HttpRequest, exc: actions.Refused) -> HttpResponse:
    title = {403: _("Not allowed"), 404: _("Not found")}.get(exc.status, _("Not done"))
    return render(request, "error.html", {"title": title, "message": exc.message},
                  status=exc.status)


def _status(user: User) -> str:
    if user.anonymised_at is not None:
        return _("Deleted")
    if not user.is_active:
        return _("Suspended")
    if not user.has_usable_password():
        return _("Invited")
    return _("Active")


# --- The admin's user pages


@login_required
@never_cache
@role_required(MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    admin = staff_user(request)
    users = (User.objects.filter(organisation_id=admin.organisation_id,
                                 anonymised_at__isnull=True).order_by("email"))
    rows = [{"user": u, "status": _status(u)} for u in users]
    return render(request, "staff/users.html", {"rows": rows, "tab": "users"})


def _invite_context(post: Any = None, error: str = "", field: str = "") -> dict[str, Any]:
    post = post or {}
    return {"tab": "users", "roles": Role.choices, "error": error, "error_field": field,
            "email": post.get("email", ""), "name": post.get("name", ""),
            "role": post.get("role", Role.MEMBER)}


@login_required
@never_cache
@role_required(MANAGE)
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "staff/invite.html", _invite_context())
    try:
        user = actions.invite_user(staff_user(request), email=request.POST.get("email", ""),
                                   name=request.POST.get("name", ""),
                                   role=request.POST.get("role", ""),
                                   deliver=mail.deliver_invitation, request=request)
    except actions.Refused as exc:
        if exc.status == 403:
            return _refused_page(request, exc)
        field = "id_role" if "role" in exc.message.lower() else "id_email"
        return render(request, "staff/invite.html",
                      _invite_context(request.POST, exc.message, field), status=400)
    flash.success(request, _("An invitation is on its way to %(email)s. The link works for "
                             "7 days.") % {"email": user.email})
    return redirect("staff:users")


def _org_user_for_page(request: HttpRequest, user_id: int) -> User:
    found = User.objects.filter(organisation_id=staff_user(request).organisation_id,
                                pk=user_id, anonymised_at__isnull=True).first()
    if found is None:
        raise Http404
    return found


@login_required
@never_cache
@role_required(MANAGE)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _org_user_for_page(request, user_id)
    return render(request, "staff/user.html", {
        "tab": "users", "member": user, "status": _status(user), "roles": Role.choices,
        "is_self": user.pk == staff_user(request).pk,
        "invited": user.is_active and not user.has_usable_password(),
    })


def _user_action(request: HttpRequest, user_id: int, done: str, run: Any) -> HttpResponseBase:
    try:
        outcome = run(staff_user(request), user_id)
    except actions.Refused as exc:
        if exc.status in (403, 404):
            return _refused_page(request, exc)
        flash.error(request, exc.message)
        return redirect("staff:user", user_id=user_id)
    flash.success(request, done if not callable(done) else done(outcome))
    return redirect("staff:user", user_id=user_id)


@login_required
@role_required(MANAGE)
@require_POST
def change_role(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _user_action(request, user_id, _("The role was changed."),
                        lambda admin, pk: actions.change_role(
                            admin, pk, request.POST.get("role", ""), request=request))


@login_required
@role_required(MANAGE)
@require_POST
def suspend(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _user_action(request, user_id, _("The account was suspended: its sessions and API "
                                            "tokens stopped working."),
                        lambda admin, pk: actions.suspend_user(admin, pk, request=request))


@login_required
@role_required(MANAGE)
@require_POST
def reactivate(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _user_action(request, user_id, _("The account can log in again. Its old API "
                                            "tokens stay revoked."),
                        lambda admin, pk: actions.reactivate_suspended_user(
                            admin, pk, request=request))


@login_required
@role_required(MANAGE)
@require_POST
def resend_invitation(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _user_action(request, user_id, _("A new invitation is on its way; the old link no "
                                            "longer works."),
                        lambda admin, pk: actions.resend_invitation(
                            admin, pk, deliver=mail.deliver_invitation, request=request))


@login_required
@role_required(MANAGE)
@require_POST
@recent_auth_required("staff:user", back_kwargs=("user_id",))
def reset_two_factor(request: HttpRequest, user_id: int) -> HttpResponseBase:
    if request.POST.get("confirm") != "yes":
        flash.error(request, _("Tick the box to confirm that the user's two-factor login may "
                               "be reset."))
        return redirect("staff:user", user_id=user_id)
    return _user_action(request, user_id, _("Two-factor login was reset: the user logs in with "
                                            "the password alone until they set up a new "
                                            "second factor."),
                        lambda admin, pk: actions.reset_two_factor(admin, pk, request=request))


@login_required
@role_required(MANAGE)
@require_POST
def delete(request: HttpRequest, user_id: int) -> HttpResponseBase:
    if request.POST.get("confirm") != "yes":
        flash.error(request, _("Tick the box to confirm that the account may be deleted."))
        return redirect("staff:user", user_id=user_id)
    try:
        outcome = actions.delete_user(staff_user(request), user_id, request=request)
    except actions.Refused as exc:
        if exc.status in (403, 404):
            return _refused_page(request, exc)
        flash.error(request, exc.message)
        return redirect("staff:user", user_id=user_id)
    flash.success(request, _("The account was deleted.") if outcome == "deleted" else _(
        "The account was deleted. It sent messages, so it stays in their history as a former "
        "staff member, without name or e-mail address."))
    return redirect("staff:users")


# --- The user's own account


@login_required
@never_cache
def account(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    sessions = actions.live_sessions(user)
    return render(request, "staff/account.html", {
        "tab": "account", "me": user, "sessions": sessions,
        "current_key": request.session.session_key,
    })


@login_required
@require_POST
def end_session(request: HttpRequest, session_id: int) -> HttpResponseBase:
    user = staff_user(request)
    this_one = StaffSession.objects.filter(user=user, pk=session_id,
                                           session_key=request.session.session_key).exists()
    try:
        actions.end_own_session(user, session_id, request=request)
    except actions.Refused as exc:
        return _refused_page(request, exc)
    if this_one:
        logout(request)
        return redirect("sender:login")
    flash.success(request, _("That session was logged out."))
    return redirect("staff:account")


@login_required
@require_POST
def end_all_sessions(request: HttpRequest) -> HttpResponseBase:
    actions.end_all_own_sessions(staff_user(request), request=request)
    logout(request)
    return redirect("sender:login")


def _password_help(user: User | None) -> dict[str, Any]:
    return {"min_length": passwords.min_length(user)}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse | HttpResponseBase:
    user = staff_user(request)
    context: dict[str, Any] = {"tab": "account", **_password_help(user)}
    if request.method == "POST":
        new = request.POST.get("new_password", "")
        if new != request.POST.get("new_password_again", ""):
            context.update(error=_("The two new passwords are not the same."),
                           error_field="id_new_password")
        elif (claim := claim_attempt(user.email, client_key(request))) is None:
            # A wrong current password counts as a failed log-in: a session left open is no
            # way to guess the password without limit.
            context.update(error=wait_text(), error_field="id_current_password")
        else:
            try:
                changed = actions.change_own_password(
                    user, current=request.POST.get("current_password", "")[:1000], new=new,
                    request=request)
            except actions.Refused as exc:
                if exc.field != "current_password":
                    FailedLogin.objects.filter(pk=claim).delete()
                field = ("id_current_password" if exc.field == "current_password"
                         else "id_new_password")
                context.update(error=exc.message, error_field=field)
            else:
                FailedLogin.objects.filter(pk=claim).delete()
                reauth.mark(request)
                old_key = request.session.session_key
                update_session_auth_hash(request, changed)
                actions.session_rekeyed(old_key, request)
                flash.success(request, _("Your password was changed. Your other sessions "
                                         "were logged out."))
                return redirect("staff:account")
    return render(request, "staff/change_password.html", context,
                  status=400 if "error" in context else 200)


# --- The pages behind the e-mailed links (no log-in)


def _link_page(request: HttpRequest, token: str, purpose: str) -> HttpResponse:
    link = actions.account_link(token, purpose)
    if link is None and request.method == "GET":
        return render(request, "staff/link_invalid.html", {"purpose": purpose}, status=404)
    user = link.user if link else None
    context: dict[str, Any] = {"purpose": purpose, "email": user.email if user else "",
                               **_password_help(user)}
    if request.method == "POST":
        password = request.POST.get("new_password", "")
        if password != request.POST.get("new_password_again", ""):
            context.update(error=_("The two passwords are not the same."))
        else:
            try:
                actions.set_password_with_link(token, purpose, password, request=request)
            except actions.Refused as exc:
                if exc.status == 404:
                    return render(request, "staff/link_invalid.html", {"purpose": purpose},
                                  status=404)
                context.update(error=exc.message)
            else:
                flash.success(request, _("Your password is set. You can log in now."))
                return redirect("sender:login")
    return render(request, "staff/set_password.html", context,
                  status=400 if "error" in context else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(request, token, AccountLink.Purpose.INVITE)


@never_cache
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(request, token, AccountLink.Purpose.RESET)


@never_cache
@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "staff/forgot.html", {})
    email = request.POST.get("email", "").strip()
    if not email or "@" not in email or len(email) > 254:
        return render(request, "staff/forgot.html",
                      {"error": _("Enter your e-mail address, such as name@example.nl."),
                       "email": email[:254]}, status=400)
    try:
        actions.request_password_reset(email, deliver=mail.deliver_reset, request=request)
    except actions.Refused as exc:
        # Too many requests from this client: the same for every address typed.
        return render(request, "staff/forgot.html", {"error": exc.message, "email": email},
                      status=exc.status)
    # The same answer whether or not the address has an account.
    return render(request, "staff/forgot_sent.html", {"email": email,
                                                      "now": timezone.now()})


# --- The audit log, read-only (admins and auditors)

AUDIT_PAGE = 100


@login_required
@never_cache
@role_required(roles.Permission.READ_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organisation's audit events, newest first, AUDIT_PAGE at a time ("older" pages by
    id, so a page costs the same queries however deep it is), filtered by who, action, period,
    object and address (zegel.staff.audit_search). Events hold identifiers and outcomes, never
    message content."""
    flt = audit_search.parse(request.GET)
    before = request.GET.get("before", "")
    if before and (not before.isdigit() or len(before) > 19):
        return render(request, "error.html", {
            "title": _("Not found"), "message": _("That page of the audit log does not "
                                                  "exist.")}, status=400)
    page: list[AuditEvent] = []
    older = None
    if not flt.errors:
        events = audit_search.events(staff_user(request).organisation_id, flt)
        if before:
            events = events.filter(pk__lt=int(before))
        page = list(events.order_by("-pk")[:AUDIT_PAGE + 1])
        older = page[AUDIT_PAGE - 1].pk if len(page) > AUDIT_PAGE else None
    return render(request, "staff/audit.html", {
        "tab": "audit", "events": page[:AUDIT_PAGE], "filter": flt, "older": older,
        "query": flt.querystring(), "actions": audit_search.known_actions(),
        "actor_types": audit_search.actor_choices(), "check": audit_export.last_check()},
        status=400 if flt.errors else 200)
