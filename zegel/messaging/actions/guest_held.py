"""A reply that arrived after the recipient's portal session ended: kept, sealed, for a short
time, and handed back once the same browser has verified as the same recipient again.

The reply is held, not sent: whoever posts it has only a link and a browser that was verified
before. It is released only to a session that holds the hold's secret and has just verified,
for the same recipient and the same link, before it expires. Its files stay this recipient's
drafts until then; the worker removes expired holds with their files (purge_held_replies).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zegel.audit.log import guest_actor, record
from zegel.keystore.binding import Role
from zegel.keystore.integrity import report_integrity_failure
from zegel.keystore.keys import (
    ContentIntegrityError,
    ShreddedError,
    create_data_key,
    open_text,
    seal_text,
    unwrap,
)
from zegel.keystore.models import DataKey
from zegel.messaging import access
from zegel.messaging.actions.attachments import delete_drafts
from zegel.messaging.models import Attachment, HeldReply, Recipient, RecipientLink

MAX_HELD_BODY = 100_000


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Released:
    """What a release handed back: the reply to send now, or nothing (none held, expired,
    another recipient's or link's, or a row that failed its check: ``failed`` says so)."""

    body: str = ""
    attachments: Sequence[Attachment] = ()
    found: bool = False
    failed: bool = False


def hold_reply(recipient: Recipient, link: RecipientLink, body: str,
               attachments: Sequence[Attachment], *, replaces: str = "",
               request: HttpRequest | None = None) -> tuple[HeldReply, str]:
    """Seal the reply for this recipient and link; returns the row and the secret the browser
    keeps. A hold this browser made before (its secret in ``replaces``) goes: one at a time."""
    body = body[:MAX_HELD_BODY]
    secret = secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if replaces:
            _delete(HeldReply.objects.filter(recipient=recipient,
                                             secret_hash=_secret_hash(replaces)))
        # Only this recipient's unsent uploads are kept with it.
        files = access.draft_attachments([a.pk for a in attachments], recipient=recipient,
                                         missing_ok=True)
        held = HeldReply(id=uuid.uuid4(), recipient=recipient, link=link,
                         secret_hash=_secret_hash(secret),
                         expires_at=timezone.now()
                         + timedelta(seconds=settings.PORTAL_HELD_REPLY_SECONDS))
        owner = held.owner()
        held.key, dek = create_data_key(owner=owner)
        payload = json.dumps({"held": str(held.id), "recipient": recipient.pk, "link": link.pk,
                              "body": body, "attachments": [str(a.pk) for a in files]},
                             sort_keys=True, separators=(",", ":"))
        held.content_ct = seal_text(dek, held.content_oid, payload, role=Role.HELD_REPLY,
                                    owner=owner)
        held.save()
        # Ids and counts only: never the text.
        record("reply.held", organisation=recipient.conversation.organisation,
               **guest_actor(recipient), object_type="recipient", object_id=recipient.pk,
               request=request, data={"attachments": len(files)})
    return held, secret


def release_held_reply(recipient: Recipient, link: RecipientLink, secret: str, *,
                       request: HttpRequest | None = None) -> Released:
    """After a successful verification: take this browser's held reply for this recipient and
    link, if it is still there and still whole. The row and its key are deleted here, in the
    same transaction, so a reply is released at most once; its files stay drafts for the send.
    A row that fails its check is deleted with its files and reported: nothing is sent."""
    if not secret:
        return Released()
    failure: ContentIntegrityError | None = None
    with transaction.atomic(durable=True):
        held = (HeldReply.objects.select_for_update(of=("self",))
                .select_related("key", "recipient__conversation")
                .filter(secret_hash=_secret_hash(secret), recipient_id=recipient.pk,
                        link_id=link.pk, expires_at__gt=timezone.now()).first())
        if held is None:
            return Released()
        try:
            data = _open(held)
            files = _files_of(held, data)
        except ContentIntegrityError as exc:
            failure = exc
            files = []
            data = {}
        # Gone either way: released at most once. A row that failed is not trusted, and the
        # files it names are not sent (the draft sweep removes them).
        _delete(HeldReply.objects.filter(pk=held.pk), with_files=False)
        if failure is None:
            record("reply.held_released", organisation=recipient.conversation.organisation,
                   **guest_actor(recipient), object_type="recipient", object_id=recipient.pk,
                   request=request, data={"attachments": len(files)})
    if failure is not None:
        report_integrity_failure(failure, request)
        return Released(found=True, failed=True)
    return Released(body=str(data.get("body", "")), attachments=files, found=True)


def _open(held: HeldReply) -> dict[str, object]:
    owner = held.owner()
    try:
        dek = unwrap(held.key, owner)
    except ShreddedError:
        raise ContentIntegrityError(f"held reply {held.pk}: key destroyed", owner,
                                    Role.HELD_REPLY) from None
    data = json.loads(open_text(dek, held.content_oid, held.content_ct, role=Role.HELD_REPLY,
                                owner=owner))
    if not (isinstance(data, dict) and data.get("held") == str(held.pk)
            and data.get("recipient") == held.recipient_id and data.get("link") == held.link_id
            and isinstance(data.get("body"), str) and isinstance(data.get("attachments"), list)):
        raise ContentIntegrityError(f"held reply {held.pk}: does not belong to this row", owner,
                                    Role.HELD_REPLY)
    return data


def _files_of(held: HeldReply, data: dict[str, object]) -> list[Attachment]:
    ids = data.get("attachments")
    if not isinstance(ids, list):  # checked by _open already
        raise ContentIntegrityError(f"held reply {held.pk}: no file list", held.owner(),
                                    Role.HELD_REPLY)
    # The drafts the sealed value names, still this recipient's; one removed meanwhile (the
    # daily sweep) is left out, as the reply form does.
    return access.draft_attachments(ids, recipient=held.recipient, missing_ok=True)


def _delete(holds: QuerySet[HeldReply], *, with_files: bool = True) -> int:
    """Inside a transaction: delete these holds and their keys, and (``with_files``) the
    drafts they carry. A hold whose content does not open leaves its files to the draft sweep."""
    rows = list(holds.select_related("key", "recipient__conversation"))
    count = 0
    for held in rows:
        if with_files:
            try:
                ids = _open(held).get("attachments")
            except ContentIntegrityError:
                ids = []
            if isinstance(ids, list) and ids:
                delete_drafts(Attachment.objects.filter(
                    pk__in=[i for i in ids if _is_uuid(i)], message__isnull=True,
                    uploaded_by_recipient_id=held.recipient_id))
        key_id = held.key_id
        HeldReply.objects.filter(pk=held.pk).delete()
        DataKey.objects.filter(pk=key_id).delete()
        count += 1
    return count


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def purge_held_replies(limit: int = 500) -> int:
    """Remove held replies that expired, or whose recipient can no longer open the message,
    with their keys and files (the worker runs it)."""
    now = timezone.now()
    gone = (Q(expires_at__lte=now) | Q(recipient__revoked_at__isnull=False)
            | Q(recipient__conversation__revoked_at__isnull=False)
            | Q(recipient__conversation__expires_at__lte=now))
    ids = list(HeldReply.objects.filter(gone).order_by("expires_at")
               .values_list("pk", flat=True)[:limit])
    count = 0
    for pk in ids:
        with transaction.atomic(durable=True):
            count += _delete(HeldReply.objects.select_for_update(of=("self",))
                             .filter(pk=pk).filter(gone))
    return count
