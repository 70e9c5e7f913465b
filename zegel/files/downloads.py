"""Serving decrypted files: streamed, always as a download, never rendered inline."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

from zegel.keystore.integrity import report_integrity_failure
from zegel.keystore.keys import ContentIntegrityError


def _reporting(chunks: Iterator[bytes], request: HttpRequest) -> Iterator[bytes]:
    try:
        yield from chunks
    except ContentIntegrityError as exc:
        # Headers are gone already: audit it, then let the error break the connection off.
        # The client got fewer bytes than Content-Length said, so no browser or HTTP library
        # takes the cut-off file for a complete one.
        report_integrity_failure(exc, request)
        raise


def _download_headers(response: HttpResponseBase, size: int, disposition: str) -> None:
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"


def download_response(name: str, chunks: Iterator[bytes], size: int, *,
                      request: HttpRequest) -> StreamingHttpResponse:
    """`size` must be the authenticated size (the sealed metadata's), never a clear column:
    a smaller size would make a truncated file look complete."""
    response = StreamingHttpResponse(_reporting(chunks, request),
                                     content_type="application/octet-stream")
    _download_headers(response, size, content_disposition_header(True, name) or "attachment")
    return response


def download_head_response(size: int) -> HttpResponse:
    """The answer to HEAD: the headers of the download from what is stored in the clear (the
    size), without opening a key. Link checkers and mail scanners send HEAD: it is not a
    download and is not recorded as one. No body follows, so the clear size cannot make a cut
    file look complete."""
    response = HttpResponse(content_type="application/octet-stream")
    _download_headers(response, size, "attachment")
    return response
