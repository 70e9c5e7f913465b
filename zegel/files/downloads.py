"""Serving decrypted files: streamed, always as a download, never rendered inline."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header


def _download_headers(response: HttpResponseBase, size: int, disposition: str) -> None:
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"


def download_response(name: str, chunks: Iterator[bytes], size: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    _download_headers(response, size, content_disposition_header(True, name) or "attachment")
    return response


def download_head_response(size: int) -> HttpResponse:
    """The answer to HEAD: the headers of the download from what is stored in the clear (the
    size), without opening a key. Link checkers and mail scanners send HEAD: it is not a
    download and is not recorded as one."""
    response = HttpResponse(content_type="application/octet-stream")
    _download_headers(response, size, "attachment")
    return response
