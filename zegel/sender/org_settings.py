"""The organisation admin's settings page in the sender app: what recipients see of the
organisation (name, contact details, colour, texts) and its senders' limits (end dates,
verification methods).

The page edits only the admin's own organisation (there is no id in its address); every change
goes through ``zegel.orgs.actions.update_organisation``, which checks, writes and audits it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zegel.files.uploads import accepts_small_file, upload_refused
from zegel.notify.outbox import sender_address
from zegel.orgs import logo as logos
from zegel.orgs import roles
from zegel.orgs.access import staff_user
from zegel.orgs.actions import (
    MAX_DEFAULT_EXPIRY_DAYS,
    MAX_IDLE_MINUTES,
    MAX_REMEMBER_DAYS,
    MAX_RETENTION_DAYS,
    MIN_IDLE_MINUTES,
    Refused,
    remove_logo,
    set_logo,
    update_organisation,
)
from zegel.orgs.models import Organisation, User

# The text inputs of the page: form field = update_organisation's argument.
_TEXTS = ("name", "contact_email", "contact_phone", "info_url", "brand_colour",
          "explanation_nl", "explanation_en", "button_text")
_DAYS = ("default_expiry_days", "max_expiry_days")
_MINUTES = "portal_idle_minutes"
_MB = "max_attachment_mb"
_REMEMBER = "remember_browser_days"
_RETENTION = "retention_days"


def may_change_settings(user: User) -> bool:
    """Whether the user may change their organisation's settings: its admins only."""
    return roles.allows(user, roles.Permission.MANAGE_SETTINGS)


def _values(org: Organisation) -> dict[str, Any]:
    return {"name": org.name, "contact_email": org.contact_email,
            "contact_phone": org.contact_phone, "info_url": org.info_url,
            "brand_colour": org.brand_colour, "explanation_nl": org.explanation,
            "explanation_en": org.explanation_en, "button_text": org.notification_button_text,
            "default_expiry_days": str(org.default_expiry_days),
            "max_expiry_days": str(org.max_expiry_days), "default_method": org.default_method,
            "email_code_allowed": org.email_code_allowed,
            "portal_idle_minutes": str(org.portal_idle_minutes),
            "max_attachment_mb": str(org.max_attachment_mb),
            "remember_browser_days": str(org.remember_browser_days),
            "notification_sender": org.notification_sender,
            "retention_days": str(org.retention_days),
            "languages": org.recipient_languages.split(","),
            "default_language": org.default_language}


def _from_post(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the form holds, as typed (to show again) and as update_organisation takes it."""
    typed: dict[str, Any] = {name: request.POST.get(name, "")
                             for name in (*_TEXTS, *_DAYS, _MINUTES, _MB, _REMEMBER, _RETENTION)}
    typed["default_method"] = request.POST.get("default_method", "")
    typed["email_code_allowed"] = request.POST.get("email_code_allowed") == "on"
    typed["notification_sender"] = request.POST.get("notification_sender", "")
    given: dict[str, Any] = {name: typed[name] for name in _TEXTS}
    given["default_method"] = typed["default_method"]
    given["email_code_allowed"] = typed["email_code_allowed"]
    given["notification_sender"] = typed["notification_sender"]
    for name in _DAYS:
        text = typed[name].strip()
        if not text.isdigit() or len(text) > 4:
            raise Refused(_("Enter a number of days from 0 to %(max)d.")
                          % {"max": MAX_DEFAULT_EXPIRY_DAYS}, field=name)
        given[name] = int(text)
    minutes = typed[_MINUTES].strip()
    if not minutes.isdigit() or len(minutes) > 4:
        raise Refused(_("Enter a number of minutes: 0 (the installation's) or %(min)d to "
                        "%(max)d.") % {"min": MIN_IDLE_MINUTES, "max": MAX_IDLE_MINUTES},
                      field=_MINUTES)
    given[_MINUTES] = int(minutes)
    mb = typed[_MB].strip()
    if not mb.isdigit() or len(mb) > 7:
        raise Refused(_("Enter a number of megabytes: 0 (the installation's) to %(max)d.")
                      % {"max": _installation_mb()}, field=_MB)
    given[_MB] = int(mb)
    # Left out (a form from before these settings): unchanged.
    if "default_language" in request.POST:
        typed["languages"] = request.POST.getlist("languages")
        typed["default_language"] = request.POST.get("default_language", "")
        given["languages"] = typed["languages"]
        given["default_language"] = typed["default_language"]
    if _REMEMBER in request.POST:
        remember = typed[_REMEMBER].strip()
        if not remember.isdigit() or len(remember) > 3:
            raise Refused(_("Enter a number of days: 0 (off) or 1 to %(max)d.")
                          % {"max": MAX_REMEMBER_DAYS}, field=_REMEMBER)
        given[_REMEMBER] = int(remember)
    if _RETENTION in request.POST:  # a form from before the setting existed leaves it be
        retention = typed[_RETENTION].strip()
        if not retention.isdigit() or len(retention) > 5:
            raise Refused(_("Enter a number of days: 0 (off) to %(max)d.")
                          % {"max": MAX_RETENTION_DAYS}, field=_RETENTION)
        given[_RETENTION] = int(retention)
    return typed, given


def _installation_mb() -> int:
    return int(settings.MAX_UPLOAD_SIZE // (1024 * 1024))


def _page(request: HttpRequest, org: Organisation, values: dict[str, Any],
          error: Refused | None = None) -> HttpResponse:
    return render(request, "settings/organisation.html", {
        "tab": "settings", "org": org, "v": values,
        "methods": [("sms", _("SMS code")), ("access_code", _("Access code")),
                    ("email", _("E-mail code"))],
        "error": error.message if error else "", "error_field": error.field if error else "",
        "max_days": MAX_DEFAULT_EXPIRY_DAYS, "max_retention_days": MAX_RETENTION_DAYS,
        "from_address": sender_address(org),
        "installation_idle": settings.PORTAL_IDLE_SECONDS // 60,
        "installation_mb": _installation_mb(),
        "max_remember_days": MAX_REMEMBER_DAYS,
        "shipped_languages": [(code, get_language_info(code)["name_local"])
                              for code, _name in settings.LANGUAGES],
        "logo_max_mb": logos.MAX_BYTES // (1024 * 1024),
        "logo_width": logos.MAX_WIDTH, "logo_height": logos.MAX_HEIGHT,
    }, status=400 if error else 200)


def _refused(request: HttpRequest) -> HttpResponse:
    return render(request, "error.html", {
        "title": _("Not allowed"),
        "message": _("Only an administrator of your organisation can change its settings.")},
        status=403)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def organisation_settings(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not may_change_settings(user):
        return _refused(request)
    org = user.organisation
    if request.method == "GET":
        return _page(request, org, _values(org))
    typed: dict[str, Any] = _values(org)
    try:
        typed, given = _from_post(request)
        update_organisation(org.domain, actor=user, **given)
    except Refused as exc:
        return _page(request, org, typed, exc)
    messages.success(request, _("The organisation's settings were saved."))
    return redirect("sender:organisation_settings")


def _admin_may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    """The organisation a logo upload is for; None (the file is not read) for anyone who may
    not change it."""
    if not request.user.is_authenticated:
        return None
    user = staff_user(request)
    return user.organisation_id if may_change_settings(user) else None


@login_required
@never_cache
@require_POST
@accepts_small_file(_admin_may_upload, logos.MAX_BYTES)
def organisation_logo(request: HttpRequest) -> HttpResponse:
    """Upload a new logo, or remove it (the form's "remove" button)."""
    user = staff_user(request)
    if not may_change_settings(user):
        return _refused(request)
    org = user.organisation
    try:
        if request.POST.get("remove") == "1":
            remove_logo(org.domain, actor=user)
            messages.success(request, _("The logo was removed."))
        else:
            if upload_refused(request) or getattr(request, "upload_too_many_files", False):
                raise Refused(logos.too_large_message(), field="logo")
            upload = request.FILES.get("logo")
            if upload is None:
                raise Refused(_("Choose a logo file (PNG or JPEG)."), field="logo")
            set_logo(org.domain, upload.read(), actor=user)
            messages.success(request, _("The new logo was saved."))
    except Refused as exc:
        return _page(request, org, _values(org), exc)
    return redirect("sender:organisation_settings")
