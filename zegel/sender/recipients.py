"""The conversation page's form for one recipient: add what a held recipient is missing (which
releases it) or change how a recipient verifies (zegel.messaging.actions.verification)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zegel.messaging import access, actions
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user


@login_required
@role_required(roles.Permission.SEND)
@require_POST
def change_verification(request: HttpRequest, conversation_id: str,
                        recipient_id: int) -> HttpResponseBase:
    user = staff_user(request)
    conversation = access.conversation_for_user(user, conversation_id)
    recipient = access.recipient_for_user(user, conversation, recipient_id)
    try:
        result = actions.change_verification(
            sender=user, recipient=recipient, method=request.POST.get("method", ""),
            phone=request.POST.get("phone", ""),
            access_code=request.POST.get("access_code", ""),
            access_code_hint=request.POST.get("hint", ""), request=request)
    except actions.ActionErrors as exc:
        for error in exc.errors:
            flash.error(request, error.message)
    except actions.ActionError as exc:
        flash.error(request, exc.message)
    else:
        if result.released:
            flash.success(request, _("Sent securely to %(email)s: they get an e-mail with a "
                                     "link.") % {"email": recipient.email})
        elif result.changed:
            flash.success(request, _("%(email)s now verifies the new way. Earlier codes and "
                                     "links no longer work; a new notification is on its way.")
                          % {"email": recipient.email})
        else:
            flash.info(request, _("Nothing changed: %(email)s already verifies this way.")
                       % {"email": recipient.email})
    url = reverse("sender:conversation", kwargs={"conversation_id": str(conversation.pk)})
    return redirect(f"{url}#recipient-{recipient.pk}")
