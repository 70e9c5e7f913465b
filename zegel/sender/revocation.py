"""Revoking from the conversation page: for recipients or for everyone, now or at a moment the
sender picks ("on 15 January 09:00", in the installation's time zone, or "after 14 days"), and
cancelling a scheduled revoke (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zegel.messaging import access, actions
from zegel.messaging.models import Conversation
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user

MAX_AFTER_DAYS = 3650


def scheduled_moment(when: str, on_date: str, on_time: str, after_days: str) -> datetime | None:
    """The moment the form asks for: None for "now". Typed dates and times are in the
    installation's time zone (ZEGEL_TIME_ZONE, Europe/Amsterdam by default)."""
    if when in ("", "now"):
        return None
    if when == "after":
        text = after_days.strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_AFTER_DAYS:
            raise actions.ActionError(_("Enter a number of days from 1 to %(max)d.")
                                      % {"max": MAX_AFTER_DAYS}, field="after_days")
        return timezone.now() + timedelta(days=int(text))
    if when == "on":
        try:
            day = date.fromisoformat(on_date.strip())
        except ValueError:
            raise actions.ActionError(_("Enter a date such as 2027-01-15."),
                                      field="on_date") from None
        try:
            moment = time.fromisoformat(on_time.strip() or "09:00")
        except ValueError:
            raise actions.ActionError(_("Enter a time such as 09:00."), field="on_time") from None
        return timezone.make_aware(datetime.combine(day, moment.replace(tzinfo=None)),
                                   timezone.get_current_timezone())
    raise actions.ActionError(_("Choose when: now, on a date, or after a number of days."),
                              field="when")


def _when_text(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "j F Y, H:i")


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def revoke(request: HttpRequest, conversation_id: str) -> HttpResponseBase:
    """Revoke for recipients or for everyone, now or later. For everyone the form asks for a
    confirmation: the content is destroyed and that cannot be undone. A post without a scope
    is the older form's "revoke for everyone"."""
    user = staff_user(request)
    convo = access.conversation_for_user(user, conversation_id)
    back = redirect("sender:conversation", conversation_id=str(convo.pk))
    scope = request.POST.get("scope") or Conversation.RevokeScope.EVERYONE
    if scope not in Conversation.RevokeScope.values:
        flash.error(request, _("Choose whether to revoke for recipients or for everyone."))
        return back
    if scope == Conversation.RevokeScope.EVERYONE and request.POST.get("confirm") != "yes":
        flash.error(request, _("Tick the box to confirm that the content may be destroyed."))
        return back
    try:
        moment = scheduled_moment(request.POST.get("when", ""), request.POST.get("on_date", ""),
                                  request.POST.get("on_time", ""),
                                  request.POST.get("after_days", ""))
        if moment is not None:
            actions.schedule_revocation(sender=user, conversation=convo, scope=scope, at=moment,
                                        request=request)
        elif scope == Conversation.RevokeScope.EVERYONE:
            actions.revoke_conversation(sender=user, conversation=convo, request=request)
        else:
            actions.revoke_for_recipients(sender=user, conversation=convo, request=request)
    except actions.ActionError as exc:
        flash.error(request, exc.message)
        return back
    if moment is not None:
        flash.success(request, (_("The message will be revoked for everyone on %(when)s.")
                                if scope == Conversation.RevokeScope.EVERYONE else
                                _("The message will be revoked for recipients on %(when)s."))
                      % {"when": _when_text(moment)})
    elif scope == Conversation.RevokeScope.EVERYONE:
        flash.success(request, _("The message was revoked. Its content was destroyed and the "
                                 "links no longer work."))
    else:
        flash.success(request, _("The message was revoked for recipients. Their links no "
                                 "longer work; you can still read the conversation."))
    return back


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def cancel_schedule(request: HttpRequest, conversation_id: str) -> HttpResponseBase:
    user = staff_user(request)
    convo = access.conversation_for_user(user, conversation_id)
    if actions.cancel_revocation(sender=user, conversation=convo, request=request):
        flash.success(request, _("The scheduled revoke was cancelled."))
    else:
        flash.error(request, _("No revoke was scheduled."))
    return redirect("sender:conversation", conversation_id=str(convo.pk))
