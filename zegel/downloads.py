"""Serving decrypted attachments: streamed, always as a download, never rendered inline."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from zegel.messaging.actions import attachment_name, iter_attachment
from zegel.messaging.models import Attachment


def attachment_response(attachment: Attachment) -> StreamingHttpResponse:
    name = attachment_name(attachment)
    response = StreamingHttpResponse(iter_attachment(attachment),
                                     content_type="application/octet-stream")
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
