"""The second step of staff log-in, after the password: a code from the authenticator app, a
recovery code, or a passkey.

A person who typed the right password of a user with a second factor is *not* logged in: the
session holds only a pending marker (`PENDING`), which no other page and no API call reads.
Django's login() runs only once the second factor is right, so every @login_required page and
the API (bearer tokens only) treat a half-way session as anonymous.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.audit.log import record, staff_actor
from zegel.orgs import twofactor
from zegel.orgs.backends import claim_attempt, client_key
from zegel.orgs.models import FailedLogin, Passkey, TotpDevice, User
from zegel.orgs.twofactor import passkeys, recovery, totp

PENDING = "zegel_2fa_pending"
# How long the second step may take after the password.
PENDING_SECONDS = 300
BACKEND = "zegel.orgs.backends.EmailBackend"


def begin_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """The password was right and the user has a second factor: remember that, and no more."""
    request.session.cycle_key()
    request.session[PENDING] = {"user": user.pk, "hash": user.get_session_auth_hash(),
                                "at": time.time(), "next": next_url}
    record("user.login_password_accepted", organisation=user.organisation,
           **staff_actor(user), object_type="user", object_id=user.pk, request=request)
    return redirect("sender:login_verify")


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password this session passed, if that was recently and nothing about
    the user changed since (password, active)."""
    stored = request.session.get(PENDING)
    if (not isinstance(stored, dict) or not isinstance(stored.get("at"), int | float)
            or not isinstance(stored.get("user"), int)):
        return None
    if time.time() - stored["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = (User.objects.select_related("organisation")
            .filter(pk=stored["user"], is_active=True).first())
    if user is None or user.get_session_auth_hash() != stored.get("hash"):
        request.session.pop(PENDING, None)
        return None
    return user


def _next_url(request: HttpRequest) -> str:
    stored = request.session.get(PENDING) or {}
    target = str(stored.get("next") or "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _finish(request: HttpRequest, user: User, method: str) -> str:
    target = _next_url(request)
    request.session.pop(PENDING, None)
    record("user.second_factor_used", organisation=user.organisation, **staff_actor(user),
           object_type="user", object_id=user.pk, request=request, data={"method": method})
    login(request, user, backend=BACKEND)
    return target


def _failed(request: HttpRequest, user: User, method: str, *, throttled: bool = False) -> None:
    record("user.second_factor_failed", organisation=user.organisation,
           actor_type="anonymous", actor_label=user.email, object_type="user",
           object_id=user.pk, request=request,
           data={"method": method, **({"throttled": True} if throttled else {})})


def _claim(request: HttpRequest, user: User) -> int | None:
    # Wrong codes count with wrong passwords against the same per-account, per-client and
    # installation-wide limits (zegel.orgs.backends).
    return claim_attempt(user.email, client_key(request))


def wait_text() -> str:
    # The same words as the password step's (sender/login.html).
    minutes = -(-settings.LOGIN_FAILURE_WINDOW // 60)
    return ngettext(
        "There have been too many attempts to log in. For your safety, logging in is paused "
        "for a while. Please try again in %(minutes)s minute.",
        "There have been too many attempts to log in. For your safety, logging in is paused "
        "for a while. Please try again in at most %(minutes)s minutes.",
        minutes) % {"minutes": minutes}


@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponseBase:
    """The second step: a code from the authenticator app, a recovery code, or a passkey."""
    user = pending_user(request)
    if user is None:
        flash.info(request, _("Please log in again."))
        return redirect("sender:login")
    has_totp = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
    has_passkey = Passkey.objects.filter(user=user).exists()
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()[:64]
        compact = "".join(code.split())
        method = ("totp" if compact.isdigit() and len(compact) == totp.TOTP_DIGITS
                  else "recovery_code")
        if not compact:
            error = _("Enter the code from your authenticator app, or a recovery code.")
        else:
            claim = _claim(request, user)
            if claim is None:
                _failed(request, user, method, throttled=True)
                error = wait_text()
            elif (totp.verify_totp(user, compact) if method == "totp"
                  else recovery.use_recovery_code(user, compact)):
                FailedLogin.objects.filter(pk=claim).delete()
                target = _finish(request, user, method)
                if method == "recovery_code":
                    flash.warning(request, _(
                        "You used a recovery code. %(left)s are left; make new ones on the "
                        "Security page when you run low.") % {
                        "left": recovery.recovery_codes_left(user)})
                return redirect(target)
            else:
                _failed(request, user, method)
                error = _("That code is not right, or it was used already.")
    return render(request, "sender/login_verify.html", {
        "error": error, "has_totp": has_totp, "has_passkey": has_passkey,
    }, status=400 if error else 200)


def json_refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@require_POST
def login_passkey_options(request: HttpRequest) -> JsonResponse:
    user = pending_user(request)
    if user is None:
        return json_refusal(_("Please log in again."), 401)
    try:
        options = passkeys.authentication_options(request, user)
    except twofactor.TwoFactorError as exc:
        return json_refusal(exc.message)
    return JsonResponse({"options": options})


@never_cache
@require_POST
def login_passkey(request: HttpRequest) -> JsonResponse:
    user = pending_user(request)
    if user is None:
        return json_refusal(_("Please log in again."), 401)
    claim = _claim(request, user)
    if claim is None:
        _failed(request, user, "passkey", throttled=True)
        return json_refusal(wait_text(), 429)
    try:
        credential = passkeys.parse_json(request.body).get("credential")
        passkeys.verify_passkey(request, user, credential)
    except twofactor.TwoFactorError as exc:
        _failed(request, user, "passkey")
        return json_refusal(exc.message)
    FailedLogin.objects.filter(pk=claim).delete()
    return JsonResponse({"redirect": _finish(request, user, "passkey")})
