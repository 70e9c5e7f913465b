"""The "confirm it is you" page: the logged-in user types their password again, or uses one of
their passkeys, before a sensitive change to their account (zegel.orgs.reauth).

A wrong password here counts as a failed log-in, against the same limits (zegel.orgs.backends):
a session someone else got hold of is no way to guess the password without limit.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.orgs import reauth, twofactor
from zegel.orgs.access import staff_user
from zegel.orgs.backends import claim_attempt, client_key
from zegel.orgs.models import FailedLogin, Passkey, User
from zegel.orgs.twofactor import audit_user, passkeys
from zegel.sender.second_step import json_refusal, wait_text

MAX_PASSWORD = 1000


def _next(request: HttpRequest) -> str:
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if (target.startswith("/") and not target.startswith("//")
            and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure())):
        return target
    return reverse("sender:security")


def _confirmed(request: HttpRequest, user: User, method: str) -> None:
    reauth.mark(request)
    audit_user("user.reauthenticated", user, request, method=method)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponseBase:
    user = staff_user(request)
    error = ""
    if request.method == "POST":
        password = request.POST.get("password", "")[:MAX_PASSWORD]
        if not password:
            error = _("Enter your password.")
        else:
            claim = claim_attempt(user.email, client_key(request))
            if claim is None:
                audit_user("user.reauth_failed", user, request, method="password",
                           throttled=True)
                error = wait_text()
            elif user.check_password(password):
                FailedLogin.objects.filter(pk=claim).delete()
                _confirmed(request, user, "password")
                return redirect(_next(request))
            else:
                audit_user("user.reauth_failed", user, request, method="password")
                error = _("That password is not right.")
    return render(request, "staff/confirm.html", {
        "tab": "security", "error": error, "next": _next(request),
        "has_passkey": Passkey.objects.filter(user=user).exists(),
        "minutes": reauth.RECENT_SECONDS // 60,
    }, status=400 if error else 200)


@login_required
@never_cache
@require_POST
def confirm_passkey_options(request: HttpRequest) -> JsonResponse:
    try:
        options = passkeys.authentication_options(request, staff_user(request))
    except twofactor.TwoFactorError as exc:
        return json_refusal(exc.message)
    return JsonResponse({"options": options})


@login_required
@never_cache
@require_POST
def confirm_passkey(request: HttpRequest) -> JsonResponse:
    user = staff_user(request)
    claim = claim_attempt(user.email, client_key(request))
    if claim is None:
        audit_user("user.reauth_failed", user, request, method="passkey", throttled=True)
        return json_refusal(wait_text(), 429)
    try:
        body = passkeys.parse_json(request.body)
        passkeys.verify_passkey(request, user, body.get("credential"))
    except twofactor.TwoFactorError as exc:
        audit_user("user.reauth_failed", user, request, method="passkey")
        return json_refusal(exc.message)
    FailedLogin.objects.filter(pk=claim).delete()
    _confirmed(request, user, "passkey")
    # The page put its "next" in this address's query string (_next checks it).
    return JsonResponse({"redirect": _next(request)})
