"""What kind of file an attachment is, in words ("PDF document"), from its sealed metadata."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from zegel.messaging.content import AttachmentMeta

register = template.Library()

_BY_EXTENSION = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "rtf": "application/rtf",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "zip": "application/zip",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "heic": "image/heic", "webp": "image/webp", "tif": "image/tiff", "tiff": "image/tiff",
    "eml": "message/rfc822", "msg": "application/vnd.ms-outlook",
}


def kind_of(content_type: str, name: str = "") -> str:
    """A short description of a file's type for people, not for machines."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("", "application/octet-stream", "binary/octet-stream"):
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = _BY_EXTENSION.get(extension, "")
    if kind == "application/pdf":
        return _("PDF document")
    if kind in ("application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"):
        return _("Word document")
    if kind in ("application/rtf", "application/vnd.oasis.opendocument.text"):
        return _("Text document")
    if kind in ("application/vnd.ms-excel", "text/csv",
                "application/vnd.oasis.opendocument.spreadsheet",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
        return _("Spreadsheet")
    if kind in ("application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"):
        return _("Presentation")
    if kind.startswith("image/"):
        return _("Image (%(format)s)") % {"format": kind.removeprefix("image/").upper()}
    if kind in ("application/zip", "application/x-zip-compressed"):
        return _("ZIP archive")
    if kind in ("message/rfc822", "application/vnd.ms-outlook"):
        return _("E-mail message")
    if kind.startswith("text/"):
        return _("Text file")
    return _("File")


@register.filter
def file_kind(meta: AttachmentMeta) -> str:
    return kind_of(meta.content_type, meta.name)
