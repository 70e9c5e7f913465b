"""Encrypted uploads: files are encrypted while the request streams in, and only views that
are allowed to take files (see accepts_uploads) get them."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse

from zegel.core.problems import is_api, problem_response
from zegel.crypto.keyring import new_dek
from zegel.crypto.stream import Encryptor
from zegel.files.blobs import BlobWriter, blob_store, new_blob_id
from zegel.files.names import clean_filename, guess_content_type
from zegel.keystore.binding import Owner, Role, binding
from zegel.orgs.models import Organisation


def file_context(organisation_id: int, attachment_id: uuid.UUID) -> bytes:
    """The context a file's content is encrypted with: known while it streams in, before any
    message exists; the key's wrap adds conversation and message once a message claims it."""
    return binding(Role.FILE, Owner(kind="attachment", organisation=organisation_id,
                                    attachment=attachment_id))


class EncryptedUpload(UploadedFile):
    """An upload that was encrypted while it streamed in; only ciphertext touched the disk.

    It was encrypted for one organisation and one attachment id (see file_context); the
    attachment made from it must use both.
    """

    def __init__(self, name: str, content_type: str, size: int, sha256: str, blob_id: str,
                 dek: bytes, *, organisation_id: int, attachment_id: uuid.UUID) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.sha256 = sha256
        self.blob_id = blob_id
        self.dek = dek
        self.organisation_id = organisation_id
        self.attachment_id = attachment_id
        self.claimed = False

    def open(self, *args: Any, **kwargs: Any) -> EncryptedUpload:
        raise OSError("encrypted uploads are read through the attachment, not the upload")

    def close(self) -> None:
        # Nothing is open: the ciphertext was written and closed by the handler. Django closes
        # every parsed file when a request's body breaks off, and must not fail here.
        return None


class UploadTooLarge(StopUpload):
    pass


class TooManyFiles(StopUpload):
    pass


def upload_limit(organisation_id: int) -> int:
    """The largest file the organisation takes, in bytes: its own limit where it set one
    (at most the installation's ZEGEL_MAX_UPLOAD_SIZE)."""
    org = Organisation.objects.filter(pk=organisation_id).only("max_attachment_mb").first()
    return org.upload_limit if org is not None else settings.MAX_UPLOAD_SIZE


class EncryptingUploadHandler(FileUploadHandler):
    # Larger pieces mean fewer trips through Python per megabyte; memory stays at one piece.
    chunk_size = 1024 * 1024

    def __init__(self, request: HttpRequest, organisation_id: int) -> None:
        super().__init__(request)
        self.organisation_id = organisation_id
        # The organisation's own limit where it set a lower one (Organisation.upload_limit).
        self.limit = upload_limit(organisation_id)
        request.upload_limit = self.limit  # type: ignore[attr-defined]
        self.writer: BlobWriter | None = None
        self.encryptor: Encryptor | None = None
        self.digest: Any = None
        self.total = 0
        self.size = 0
        self.files = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        if self.files > settings.MAX_UPLOAD_FILES:
            # Refused here rather than by Django's TooManyFilesSent, which answers a bare 400
            # page and, for the API, arrives past the problem handlers. Stop reading at once.
            self.request.upload_too_large = True  # type: ignore[union-attr]
            self.request.upload_too_many_files = True  # type: ignore[union-attr]
            raise TooManyFiles(connection_reset=True)
        self.blob_id = new_blob_id()
        self.attachment_id = uuid.uuid4()
        self.dek = new_dek()
        self.encryptor = Encryptor(self.dek, bytes.fromhex(self.blob_id),
                                   context=file_context(self.organisation_id, self.attachment_id))
        self.writer = blob_store().writer(self.blob_id)
        self.writer.write(self.encryptor.header)
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.writer is None or self.encryptor is None:
            raise StopUpload(connection_reset=True)
        self.size += len(raw_data)
        self.total += len(raw_data)
        if self.size > self.limit:
            self.writer.abort()
            self.writer = None
            self.request.upload_too_large = True  # type: ignore[union-attr]
            # Stop reading: draining gigabytes only to refuse them wastes the server.
            raise UploadTooLarge(connection_reset=True)
        self.digest.update(raw_data)
        # Straight from the encryptor's buffer to the file, without a copy in between.
        self.encryptor.update_to(raw_data, self.writer.write)
        return None

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        if self.writer is None or self.encryptor is None:
            return None
        self.writer.write(self.encryptor.finalize())
        self.writer.commit()
        name = clean_filename(self.file_name or "")
        upload = EncryptedUpload(name, guess_content_type(name), self.size,
                                 self.digest.hexdigest(), self.blob_id, self.dek,
                                 organisation_id=self.organisation_id,
                                 attachment_id=self.attachment_id)
        self.request.encrypted_uploads.append(upload)  # type: ignore[union-attr]
        self.writer = None
        return upload

    def upload_interrupted(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


# Answers the organisation the uploader belongs to (files are encrypted for it), or None.
UploadCheck = Callable[[HttpRequest, dict[str, Any]], int | None]
ViewT = TypeVar("ViewT", bound=Callable[..., Any])


# Paths whose views cannot carry the mark (an API framework's dispatcher): path -> check.
_PATH_CHECKS: dict[str, UploadCheck] = {}


def accepts_uploads_at(path: str, check: UploadCheck) -> None:
    """Like accepts_uploads, for a view known by its path (the REST API's upload endpoint)."""
    _PATH_CHECKS[path] = check


def accepts_uploads(check: UploadCheck) -> Callable[[ViewT], ViewT]:
    """Mark a view that takes files, with the check that must pass before a byte is stored.

    Every other request, and every request that fails the check (not logged in, an unknown
    link, an unverified guest), has its file parts refused unread: nobody can make the server
    encrypt and store data without being allowed to send it.
    """

    def mark(view: ViewT) -> ViewT:
        view.zegel_upload_check = check  # type: ignore[attr-defined]
        return view

    return mark


def accepts_small_file(check: UploadCheck, limit: int) -> Callable[[ViewT], ViewT]:
    """Mark a view that takes one small file into memory, unencrypted (an organisation's
    public logo): at most `limit` bytes, read only when `check` passes. A file over the limit
    stops the upload at once and sets request.upload_too_large, like the encrypted uploads."""

    def mark(view: ViewT) -> ViewT:
        view.zegel_upload_check = check  # type: ignore[attr-defined]
        view.zegel_small_file_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


class SmallFileUploadHandler(FileUploadHandler):
    """Keeps one file of at most `limit` bytes in memory; stops the request's upload at the
    first byte past it, or at a second file."""

    buffer: io.BytesIO

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        # A body far past the limit: its file part is not read at all (the form's fields
        # before it, the CSRF token among them, still are).
        length = request.META.get("CONTENT_LENGTH") or "0"
        self.too_large = length.isdigit() and int(length) > limit + 64 * 1024
        self.buffer = io.BytesIO()
        self.files = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        if self.too_large:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=True)
        if self.files > 1:
            self.request.upload_too_many_files = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.buffer.tell() + len(raw_data) > self.limit:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=True)
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(self.buffer, self.field_name, self.file_name or "",
                                    self.content_type or "", self.buffer.getbuffer().nbytes,
                                    self.charset)


class RefusingUploadHandler(FileUploadHandler):
    """Stops at the first file part of a request that may not upload."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.request.upload_not_allowed = True  # type: ignore[union-attr]
        raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None


class EncryptingUploadMiddleware:
    """Decides per request whether files are taken (see accepts_uploads), puts the encrypting
    handler in front of the ones that are and, after the response, deletes the blob of every
    upload that no view claimed (a refused form, a CSRF failure) and any half-written one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.encrypted_uploads = []  # type: ignore[attr-defined]
        request.upload_too_large = False  # type: ignore[attr-defined]
        request.upload_too_many_files = False  # type: ignore[attr-defined]
        request.upload_not_allowed = False  # type: ignore[attr-defined]
        handler: EncryptingUploadHandler | None = None
        if request.method == "POST":
            length = request.META.get("CONTENT_LENGTH") or "0"
            # The multipart framing adds a little; a body far beyond the limit is refused unread.
            if length.isdigit() and int(length) > settings.MAX_UPLOAD_SIZE + 1024 * 1024:
                return upload_too_large_response(request)
            request.upload_handlers = [RefusingUploadHandler(request)]
        try:
            return self.get_response(request)
        finally:
            handler = getattr(request, "_zegel_upload_handler", None)
            if handler is not None:
                # A body that broke off mid-file never reaches file_complete: drop the part.
                handler.upload_interrupted()
            for upload in request.encrypted_uploads:  # type: ignore[attr-defined]
                if not upload.claimed:
                    blob_store().delete(upload.blob_id)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any],
                     view_args: tuple[Any, ...], view_kwargs: dict[str, Any]) -> None:
        # Runs before the CSRF middleware reads the body, and after authentication is known.
        if request.method != "POST":
            return
        check: UploadCheck | None = (getattr(view_func, "zegel_upload_check", None)
                                     or _PATH_CHECKS.get(request.path_info))
        organisation_id = check(request, view_kwargs) if check is not None else None
        small_limit: int | None = getattr(view_func, "zegel_small_file_limit", None)
        if organisation_id is not None and small_limit is not None:
            request.upload_handlers = [SmallFileUploadHandler(request, small_limit)]
        elif organisation_id is not None:
            handler = EncryptingUploadHandler(request, organisation_id)
            request._zegel_upload_handler = handler  # type: ignore[attr-defined]
            request.upload_handlers = [handler]


def upload_refused(request: HttpRequest) -> bool:
    """True when the upload of this request went over a limit: a file over the size limit, or
    more files than MAX_UPLOAD_FILES. Reading FILES first makes sure the body was parsed (the
    handler sets the flag while parsing)."""
    _ = request.FILES
    return bool(getattr(request, "upload_too_large", False))


def upload_refusal_detail(request: HttpRequest) -> str:
    """Why the upload was refused, for the API's problem answers."""
    from django.utils.translation import gettext as _

    if getattr(request, "upload_too_many_files", False):
        return _("Send at most %(count)d files in one request.") % {
            "count": settings.MAX_UPLOAD_FILES}
    return _("The upload is larger than the limit of %(size)d bytes.") % {
        "size": getattr(request, "upload_limit", settings.MAX_UPLOAD_SIZE)}


def upload_too_large_response(request: HttpRequest) -> HttpResponse:
    """413 for an upload over a limit (size or number of files); nothing of it was kept."""
    from django.template.loader import render_to_string
    from django.utils.translation import gettext as _

    if is_api(request):
        return problem_response(request, 413, upload_refusal_detail(request))
    if getattr(request, "upload_too_many_files", False):
        context = {"title": _("Too many files"),
                   "message": _("You can add at most %(count)d files at once. Nothing was "
                                "sent.") % {"count": settings.MAX_UPLOAD_FILES}}
    else:
        context = {"title": _("The file is too large"),
                   "message": _("Files can be at most %(size)s. Nothing was sent.")
                   % {"size": human_size(getattr(request, "upload_limit",
                                                 settings.MAX_UPLOAD_SIZE))}}
    html = render_to_string("error.html", context, request=request)
    return HttpResponse(html, status=413)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
