"""One message as an .eml (RFC 5322 / MIME, Python's email package): the headers as the
recipient was shown them, the text, and the files inside up to a size limit."""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

from django.conf import settings
from django.utils.translation import gettext as _

from zegel.messaging import content
from zegel.messaging.content import AttachmentMeta, OpenMessage
from zegel.messaging.models import Attachment, Message, Recipient
from zegel.portal.owncopy.people import Party, addressees, local, safe_filename, size_text

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")


# Bytes of a file per line of base64 (76 characters, RFC 2045), and per piece streamed.
_LINE = 57
PIECE = _LINE * 9198  # about 512 KiB


@dataclass
class SavedMessage:
    """An .eml ready to stream: `size` bytes in all, from `chunks`."""

    size: int
    chunks: Iterator[bytes]
    embedded: list[Attachment] = field(default_factory=list)
    # Over the size limit: listed under the text, to download from the portal on their own.
    separate: list[tuple[Attachment, AttachmentMeta]] = field(default_factory=list)


def header_text(text: str) -> str:
    """One line fit for a mail header. No control characters, and no "=?": the email package
    decodes an encoded-word it finds in a value given to it, so a subject holding
    "=?utf-8?q?=0A...?=" would come out as a header line of its own."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.replace("=?", "= ?").split())


def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("ascii").decode()
    except UnicodeEncodeError:
        return domain.encode("idna").decode("ascii")


def _address(party: Party) -> Address:
    name, email = party
    user, _at, domain = email.rpartition("@")
    return Address(display_name=header_text(name), username=user, domain=_ascii_domain(domain))


def message_id(message: Message) -> str:
    """The same id each time the message is saved, so a mail program sees one message."""
    return f"<{message.pk}@{_ascii_domain(message.conversation.organisation.domain)}>"


def _mime_type(meta: AttachmentMeta) -> tuple[str, str]:
    maintype, _slash, subtype = meta.content_type.strip().lower().partition("/")
    if (not maintype or not subtype or len(maintype) + len(subtype) > 127
            or not set(maintype + subtype) <= _TOKEN_CHARS
            # message/* and multipart/* parts must be MIME themselves, not an encoded file.
            or maintype in ("message", "multipart")):
        return "application", "octet-stream"
    return maintype, subtype


def message_eml(viewer: Recipient, entry: OpenMessage, earlier: Iterable[Message] = (), *,
                embed_limit: int | None = None) -> SavedMessage:
    """The message with its files inside (base64, names RFC 2231-encoded) while they add up to
    at most `embed_limit` bytes (default settings.OWN_COPY_EML_MAX_SIZE); the others are listed
    under the text with size and SHA-256, to download separately. `earlier`: the messages
    before it that the viewer may see, for In-Reply-To and References.

    The email package writes every header, the text and each file's part headers; the files'
    base64 is streamed into their parts, so no file is held in memory. Every embedded file is
    opened (its key unwrapped, its first chunk authenticated) before this returns, as for a
    download of the file itself; a file that fails later breaks the stream off short of `size`.
    """
    budget = settings.OWN_COPY_EML_MAX_SIZE if embed_limit is None else embed_limit
    message = entry.message
    people = addressees(message, viewer)
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = _address(people.sender)
    for header, parties in (("To", people.to), ("Cc", people.cc), ("Bcc", people.bcc)):
        if parties:
            mail[header] = [_address(p) for p in parties]
    mail["Date"] = local(message.created_at)
    mail["Subject"] = header_text(entry.subject)
    mail["Message-ID"] = message_id(message)
    references = [message_id(m) for m in earlier]
    if references:
        mail["In-Reply-To"] = references[-1]
        mail["References"] = " ".join(references)
    mail["Organization"] = header_text(message.conversation.organisation.name)

    inside: list[tuple[Attachment, AttachmentMeta]] = []
    separate: list[tuple[Attachment, AttachmentMeta]] = []
    for attachment, meta in entry.files:
        if meta.size > budget:
            separate.append((attachment, meta))
        else:
            budget -= meta.size
            inside.append((attachment, meta))
    body = entry.body.replace("\r\n", "\n").replace("\r", "\n")
    if separate:
        body += "\n\n----\n" + _(
            "Not included in this saved message because of its size; download it from the "
            "message page while the message is available:") + "\n" + "\n".join(
            f"- {meta.name} ({size_text(meta.size)}, SHA-256 {meta.sha256})"
            for _attachment, meta in separate)
    mail.set_content(body, cte="quoted-printable")
    for _attachment, meta in inside:
        maintype, subtype = _mime_type(meta)
        mail.add_attachment(b"", maintype=maintype, subtype=subtype,
                            filename=header_text(meta.name) or "attachment")
    marks = [f"zegel-file-{secrets.token_hex(16)}" for _file in inside]
    for part, mark in zip(mail.iter_attachments(), marks, strict=True):
        part.set_payload(mark)
    pieces = _split(mail.as_bytes(), marks)
    # Opened now: a file that cannot be opened fails the request before anything is sent.
    streams = [content.iter_attachment(attachment) for attachment, _meta in inside]
    size = sum(len(p) for p in pieces) + sum(base64_size(meta.size) for _a, meta in inside)

    def chunks() -> Iterator[bytes]:
        yield pieces[0]
        for stream, piece in zip(streams, pieces[1:], strict=True):
            yield from base64_lines(stream)
            yield piece

    return SavedMessage(size=size, chunks=chunks(), embedded=[a for a, _meta in inside],
                        separate=separate)


def _split(skeleton: bytes, marks: list[str]) -> list[bytes]:
    """The message around each file's place: len(marks) + 1 pieces."""
    pieces = []
    rest = skeleton
    for mark in marks:
        before, found, rest = rest.partition(mark.encode("ascii"))
        if not found or mark.encode("ascii") in rest:
            raise ValueError("a file's place in the message is not unique")
        pieces.append(before)
    pieces.append(rest)
    return pieces


def base64_size(size: int) -> int:
    """The length of base64_lines() for `size` bytes: lines of 76 characters joined by CRLF."""
    if size == 0:
        return 0
    lines = -(-size // _LINE)
    return 4 * -(-size // 3) + 2 * (lines - 1)


def base64_lines(stream: Iterable[bytes]) -> Iterator[bytes]:
    """base64 in lines of 76 characters, CRLF between them and none after the last (the part's
    closing boundary brings its own line break)."""
    held = bytearray()
    first = True
    for chunk in stream:
        held += chunk
        cut = len(held) - len(held) % PIECE
        if cut:
            yield (b"" if first else b"\r\n") + _encode(held[:cut])
            del held[:cut]
            first = False
    if held:
        yield (b"" if first else b"\r\n") + _encode(held)


def _encode(data: bytes | bytearray) -> bytes:
    return b"\r\n".join(binascii.b2a_base64(data[i:i + _LINE], newline=False)
                         for i in range(0, len(data), _LINE))


def eml_filename(message: Message) -> str:
    moment = local(message.created_at).strftime("%Y-%m-%d %H%M")
    return safe_filename(f"{message.conversation.organisation.name} {moment}", "eml")
