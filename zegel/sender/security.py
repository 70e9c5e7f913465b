"""The user's Security page: set up or remove the authenticator app, make recovery codes,
add, rename and remove passkeys (zegel.orgs.twofactor does the work and the audit)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.orgs import twofactor
from zegel.orgs.access import staff_user
from zegel.orgs.models import Passkey, TotpDevice, User
from zegel.orgs.reauth import is_recent, recent_auth_required
from zegel.orgs.twofactor import passkeys, policy, recovery, totp
from zegel.sender.second_step import json_refusal


def _security_context(request: HttpRequest, user: User, **extra: Any) -> dict[str, Any]:
    return {
        "tab": "security",
        "totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first(),
        "passkeys": list(Passkey.objects.filter(user=user).order_by("created_at", "pk")),
        "codes_left": recovery.recovery_codes_left(user),
        "has_factor": policy.has_second_factor(user),
        "must_enrol": policy.must_enrol(user),
        "deadline": policy.enrol_deadline(user),
        "name_max": passkeys.PASSKEY_NAME_MAX,
        "recent": is_recent(request),
        **extra,
    }


@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "sender/security.html", _security_context(request, staff_user(request)))


def _refused(request: HttpRequest, exc: twofactor.TwoFactorError) -> HttpResponse:
    return render(request, "sender/security.html",
                  _security_context(request, staff_user(request), error=exc.message), status=400)


@login_required
@never_cache
@require_POST
@recent_auth_required("sender:security")
def totp_start(request: HttpRequest) -> HttpResponseBase:
    try:
        totp.start_totp(staff_user(request), request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return redirect("sender:security_totp")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def totp_confirm(request: HttpRequest) -> HttpResponseBase:
    user = staff_user(request)
    device = totp.pending_totp(user)
    if device is None:
        return redirect("sender:security")
    error = ""
    if request.method == "POST":
        try:
            codes = totp.confirm_totp(user, request.POST.get("code", "")[:64], request)
        except twofactor.TwoFactorError as exc:
            error = exc.message
        else:
            flash.success(request, _("Your authenticator app is set up."))
            if codes:
                return _show_codes(request, codes)
            return redirect("sender:security")
    try:
        key = totp.manual_key(device)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return render(request, "sender/security_totp.html",
                  {"tab": "security", "manual_key": key, "error": error},
                  status=400 if error else 200)


@login_required
@never_cache
def totp_qr(request: HttpRequest) -> HttpResponse:
    device = totp.pending_totp(staff_user(request))
    if device is None:
        return HttpResponse(status=404)
    response = HttpResponse(totp.qr_svg(device), content_type="image/svg+xml")
    # The image holds the secret: never stored by a cache, and no script in it runs anyway.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'none'"
    return response


@login_required
@never_cache
@require_POST
@recent_auth_required("sender:security")
def totp_remove(request: HttpRequest) -> HttpResponseBase:
    if totp.remove_totp(staff_user(request), request):
        flash.success(request, _("The authenticator app is removed."))
    return redirect("sender:security")


def _show_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(request, "sender/security_codes.html", {"tab": "security", "codes": codes})


@login_required
@never_cache
@require_POST
@recent_auth_required("sender:security")
def recovery_new(request: HttpRequest) -> HttpResponseBase:
    try:
        codes = recovery.new_recovery_codes(staff_user(request), request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    return _show_codes(request, codes)


@login_required
@never_cache
@require_POST
@recent_auth_required("sender:security", json=True)
def passkey_options(request: HttpRequest) -> JsonResponse:
    try:
        options = passkeys.registration_options(request, staff_user(request))
    except twofactor.TwoFactorError as exc:
        return json_refusal(exc.message)
    return JsonResponse({"options": options})


@login_required
@never_cache
@require_POST
def passkey_add(request: HttpRequest) -> JsonResponse:
    user = staff_user(request)
    try:
        body = passkeys.parse_json(request.body)
        passkeys.register_passkey(request, user, str(body.get("name", ""))[:200],
                                   body.get("credential"))
    except twofactor.TwoFactorError as exc:
        return json_refusal(exc.message)
    flash.success(request, _("The passkey is added."))
    return JsonResponse({"redirect": reverse("sender:security")})


@login_required
@never_cache
@require_POST
def passkey_rename(request: HttpRequest, passkey_id: int) -> HttpResponseBase:
    try:
        passkeys.rename_passkey(staff_user(request), passkey_id,
                                 request.POST.get("name", "")[:200], request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    flash.success(request, _("The passkey is renamed."))
    return redirect("sender:security")


@login_required
@never_cache
@require_POST
@recent_auth_required("sender:security")
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponseBase:
    try:
        passkeys.remove_passkey(staff_user(request), passkey_id, request)
    except twofactor.TwoFactorError as exc:
        return _refused(request, exc)
    flash.success(request, _("The passkey is removed."))
    return redirect("sender:security")
