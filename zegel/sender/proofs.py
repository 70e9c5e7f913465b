"""The proof of delivery of a sent message, downloaded from its conversation page."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from zegel.audit.log import staff_actor
from zegel.messaging import access, proof
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user


def proof_response(document: dict[str, Any], fmt: str) -> HttpResponse:
    """The proof as a download: JSON or PDF, named after the message."""
    name = f"proof-of-delivery-{document['message']['id']}.{fmt}"
    if fmt == "pdf":
        response = HttpResponse(proof.render_pdf(document), content_type="application/pdf")
    else:
        response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_GET
def message_proof(request: HttpRequest, conversation_id: str, message_id: str) -> HttpResponse:
    user = staff_user(request)
    conversation = access.conversation_for_user(user, conversation_id)
    fmt = request.GET.get("format", "pdf")
    if fmt not in proof.FORMATS:
        return HttpResponse(_("Ask for format=pdf or format=json."), status=400,
                            content_type="text/plain; charset=utf-8")
    document = proof.issue(user, message_id, fmt=fmt, actor=staff_actor(user),
                           conversation_id=conversation.pk, request=request)
    return proof_response(document, fmt)
