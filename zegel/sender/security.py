"""Two-factor log-in: the second step after the password, and the user's Security page.

A person who typed the right password of a user with a second factor is *not* logged in: the
session holds only a pending marker (`PENDING`), which no other page and no API call reads.
Django's login() runs only once the second factor is right, so every @login_required page and
the API (bearer tokens only) treat a half-way session as anonymous.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
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
from zegel.orgs.access import staff_user
from zegel.orgs.backends import claim_attempt, client_key
from zegel.orgs.models import FailedLogin, Passkey, TotpDevice, User

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


def _wait_text() -> str:
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
        method = "totp" if compact.isdigit() else "recovery_code"
        if not compact:
            error = _("Enter the code from your authenticator app, or a recovery code.")
        else:
            claim = _claim(request, user)
            if claim is None:
                _failed(request, user, method, throttled=True)
                error = _wait_text()
            elif (twofactor.verify_totp(user, compact) if method == "totp"
                  else twofactor.use_recovery_code(user, compact)):
                FailedLogin.objects.filter(pk=claim).delete()
                target = _finish(request, user, method)
                if method == "recovery_code":
                    flash.warning(request, _(
                        "You used a recovery code. %(left)s are left; make new ones on the "
                        "Security page when you run low.") % {
                        "left": twofactor.recovery_codes_left(user)})
                return redirect(target)
            else:
                _failed(request, user, method)
                error = _("That code is not right, or it was used already.")
    return render(request, "sender/login_verify.html", {
        "error": error, "has_totp": has_totp, "has_passkey": has_passkey,
    }, status=400 if error else 200)


def _json_refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@require_POST
def login_passkey_options(request: HttpRequest) -> JsonResponse:
    user = pending_user(request)
    if user is None:
        return _json_refusal(_("Please log in again."), 401)
    try:
        options = twofactor.authentication_options(request, user)
    except twofactor.TwoFactorError as exc:
        return _json_refusal(exc.message)
    return JsonResponse({"options": options})


@never_cache
@require_POST
def login_passkey(request: HttpRequest) -> JsonResponse:
    user = pending_user(request)
    if user is None:
        return _json_refusal(_("Please log in again."), 401)
    claim = _claim(request, user)
    if claim is None:
        _failed(request, user, "passkey", throttled=True)
        return _json_refusal(_wait_text(), 429)
    try:
        credential = twofactor.parse_json(request.body).get("credential")
        twofactor.verify_passkey(request, user, credential)
    except twofactor.TwoFactorError as exc:
        _failed(request, user, "passkey")
        return _json_refusal(exc.message)
    FailedLogin.objects.filter(pk=claim).delete()
    return JsonResponse({"redirect": _finish(request, user, "passkey")})


# -- the Security page ----------------------------------------------------------------------


def _security_context(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "tab": "security",
        "totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first(),
        "passkeys": list(Passkey.objects.filter(user=user).order_by("created_at", "pk")),
        "codes_left": twofactor.recovery_codes_left(user),
        "has_factor": twofactor.has_second_factor(user),
        "must_enrol": twofactor.must_enrol(user),
        "deadline": twofactor.enrol_deadline(user),
        "name_max": twofactor.PASSKEY_NAME_MAX,
        **extra,
    }


@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "sender/security.html", _security_context(staff_user(request)))


def _refused(request: HttpRequest, exc: twofactor.TwoFactorError) -> HttpResponse:
    return render(request, "sender/security.html",
                  _security_context(staff_user(request), error=exc.message), status=400)


@login_required
@never_cache
@require_POST
def totp_start(request: HttpRequest) -> HttpResponseBase:
    try:
        twofactor.start_totp(staff_user(request), request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return redirect("sender:security_totp")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def totp_confirm(request: HttpRequest) -> HttpResponseBase:
    user = staff_user(request)
    device = twofactor.pending_totp(user)
    if device is None:
        return redirect("sender:security")
    error = ""
    if request.method == "POST":
        try:
            codes = twofactor.confirm_totp(user, request.POST.get("code", "")[:64], request)
        except twofactor.TwoFactorError as exc:
            error = exc.message
        else:
            flash.success(request, _("Your authenticator app is set up."))
            if codes:
                return _show_codes(request, codes)
            return redirect("sender:security")
    try:
        key = twofactor.manual_key(device)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return render(request, "sender/security_totp.html",
                  {"tab": "security", "manual_key": key, "error": error},
                  status=400 if error else 200)


@login_required
@never_cache
def totp_qr(request: HttpRequest) -> HttpResponse:
    device = twofactor.pending_totp(staff_user(request))
    if device is None:
        return HttpResponse(status=404)
    response = HttpResponse(twofactor.qr_svg(device), content_type="image/svg+xml")
    # The image holds the secret: never stored by a cache, and no script in it runs anyway.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'none'"
    return response


@login_required
@never_cache
@require_POST
def totp_remove(request: HttpRequest) -> HttpResponseBase:
    if twofactor.remove_totp(staff_user(request), request):
        flash.success(request, _("The authenticator app is removed."))
    return redirect("sender:security")


def _show_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(request, "sender/security_codes.html", {"tab": "security", "codes": codes})


@login_required
@never_cache
@require_POST
def recovery_new(request: HttpRequest) -> HttpResponseBase:
    try:
        codes = twofactor.new_recovery_codes(staff_user(request), request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return _show_codes(request, codes)


@login_required
@never_cache
@require_POST
def passkey_options(request: HttpRequest) -> JsonResponse:
    try:
        options = twofactor.registration_options(request, staff_user(request))
    except twofactor.TwoFactorError as exc:
        return _json_refusal(exc.message)
    return JsonResponse({"options": options})


@login_required
@never_cache
@require_POST
def passkey_add(request: HttpRequest) -> JsonResponse:
    user = staff_user(request)
    try:
        body = twofactor.parse_json(request.body)
        twofactor.register_passkey(request, user, str(body.get("name", ""))[:200],
                                   body.get("credential"))
    except twofactor.TwoFactorError as exc:
        return _json_refusal(exc.message)
    flash.success(request, _("The passkey is added."))
    return JsonResponse({"redirect": reverse("sender:security")})


@login_required
@never_cache
@require_POST
def passkey_rename(request: HttpRequest, passkey_id: int) -> HttpResponseBase:
    try:
        twofactor.rename_passkey(staff_user(request), passkey_id,
                                 request.POST.get("name", "")[:200], request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    flash.success(request, _("The passkey is renamed."))
    return redirect("sender:security")


@login_required
@never_cache
@require_POST
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponseBase:
    try:
        twofactor.remove_passkey(staff_user(request), passkey_id, request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    flash.success(request, _("The passkey is removed."))
    return redirect("sender:security")
