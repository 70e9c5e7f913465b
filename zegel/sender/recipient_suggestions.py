"""The compose page's type-ahead: the directory's contacts and the recipients this sender used
before that match what was typed (docs/directory.md, "Picking contacts while composing").

An answer names people and how they verify, never how to reach them: a mobile number only
masked to its last two digits, an access code only as "one is on file". The details
themselves are added by the server when the message is sent (drafts.with_directory), so the
page never carries them.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from zegel.directory import lookup
from zegel.directory.models import Contact, Method
from zegel.messaging.used_before import UsedBefore, recipients_used_before
from zegel.messaging.validation import mask_phone
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user
from zegel.orgs.models import Organisation, User

WINDOW_SECONDS = 60


def _throttled(user: User) -> int:
    """Seconds to wait when this user asked for more suggestions than
    RECIPIENT_LOOKUP_RATE_LIMIT in the current minute, else 0. Counted in Django's cache: a
    fixed window per user, so typing fast is fine and reading out the directory is slow."""
    limit = settings.RECIPIENT_LOOKUP_RATE_LIMIT
    if limit <= 0:
        return 0
    now = time.time()
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    key = f"zegel:recipient-suggestions:{user.pk}:{start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # the count expired between add and incr: this is the first one
        cache.set(key, 1, timeout=WINDOW_SECONDS + 1)
        used = 1
    return max(1, int(start + WINDOW_SECONDS - now + 0.999)) if used > limit else 0


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message, "field": "q"}, status=status)


def _contact_entry(organisation: Organisation, contact: Contact,
                   used: UsedBefore | None) -> dict[str, Any]:
    last = used.method if used else ""
    return {
        "email": contact.email, "name": contact.name, "label": contact.label,
        "in_directory": True, "used_before": used is not None,
        "method": lookup.suggested_method(organisation, contact, last_used=last),
        "methods": lookup.allowed_methods(organisation, contact),
        "last_method": last,
        "phone": mask_phone(contact.phone) if contact.phone else "",
        "has_access_code": contact.has_access_code,
    }


def _used_entry(organisation: Organisation, used: UsedBefore) -> dict[str, Any]:
    """An address used before that is not in the directory: its method of last time (where
    policy still allows it); the number or code is the sender's to type again."""
    allowed = [m for m in Method.values
               if m != Method.EMAIL or organisation.email_code_allowed]
    return {
        "email": used.email, "name": used.name,
        "label": f"{used.name} <{used.email}>" if used.name else used.email,
        "in_directory": False, "used_before": True,
        "method": used.method if used.method in allowed else "",
        "methods": allowed, "last_method": used.method,
        "phone": "", "has_access_code": False,
    }


def suggestions(user: User, query: str) -> list[dict[str, Any]]:
    """Directory contacts first (by name), then the addresses used before that are not in
    it (newest first); one entry per address, at most lookup.SUGGESTIONS. Three queries."""
    organisation = user.organisation
    contacts = lookup.search_contacts(organisation, query)
    used = recipients_used_before(user, query, limit=lookup.SUGGESTIONS)
    used_by_address = {u.email: u for u in used}
    known = {c.email for c in contacts}
    # An address used before may be a contact whose name the query did not match.
    more = lookup.contacts_by_email(organisation, (u.email for u in used
                                                   if u.email not in known))
    entries = [_contact_entry(organisation, c, used_by_address.get(c.email)) for c in contacts]
    for item in used:
        if item.email in known:
            continue
        contact = more.get(item.email)
        entries.append(_contact_entry(organisation, contact, item) if contact
                       else _used_entry(organisation, item))
        known.add(item.email)
    return entries[:lookup.SUGGESTIONS]


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_GET
def recipient_suggestions(request: HttpRequest) -> JsonResponse:
    """GET ?q=…: the suggestions as JSON, {"results": [...]}."""
    query = request.GET.get("q", "")
    if "\x00" in query or len(query) > lookup.MAX_QUERY:
        return _error(_("Type at most %(n)d characters of a name or e-mail address.")
                      % {"n": lookup.MAX_QUERY}, 400)
    if not query.strip():
        return _error(_("Type part of a name or e-mail address."), 400)
    user = staff_user(request)
    wait = _throttled(user)
    if wait:
        response = _error(ngettext("Too many searches. Wait %(seconds)d second, or type the "
                                   "address in full.",
                                   "Too many searches. Wait %(seconds)d seconds, or type the "
                                   "address in full.", wait) % {"seconds": wait}, 429)
        response["Retry-After"] = str(wait)
        return response
    return JsonResponse({"results": suggestions(user, query)})
