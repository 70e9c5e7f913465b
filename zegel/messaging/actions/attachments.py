"""Uploads become attachments; drafts that never became part of a message are removed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.files.blobs import blob_store
from zegel.files.uploads import EncryptedUpload
from zegel.keystore.binding import Role
from zegel.keystore.keys import create_data_key, rewrap, seal_text, unwrap
from zegel.keystore.models import DataKey
from zegel.messaging import access
from zegel.messaging.content import AttachmentMeta
from zegel.messaging.errors import NotFound
from zegel.messaging.models import (
    Attachment,
    Message,
    Recipient,
)
from zegel.orgs.models import Organisation, User


def store_upload(upload: EncryptedUpload, *, organisation: Organisation,
                 user: User | None = None, recipient: Recipient | None = None) -> Attachment:
    """Take an upload that the encrypting handler already wrote as ciphertext."""
    if upload.organisation_id != organisation.pk:
        # The file was encrypted for another organisation; it could never be read here.
        raise ValueError("upload was encrypted for another organisation")
    with transaction.atomic(durable=True):
        attachment = Attachment(id=upload.attachment_id, organisation=organisation,
                                uploaded_by_user=user, uploaded_by_recipient=recipient,
                                blob_id=upload.blob_id, size=upload.size or 0)
        owner = attachment.upload_owner()
        attachment.key, dek = create_data_key(upload.dek, owner=owner)
        meta = AttachmentMeta(name=upload.name or "attachment",
                              content_type=upload.content_type or "application/octet-stream",
                              sha256=upload.sha256, size=attachment.size)
        attachment.meta_ct = seal_text(dek, attachment.meta_oid, meta.to_json(),
                                       role=Role.FILE_METADATA, owner=owner)
        attachment.save()
        upload.claimed = True
    return attachment


def check_owned(attachments: Sequence[Attachment], *, user: User | None = None,
                 recipient: Recipient | None = None, for_update: bool = False) -> None:
    """Refuse attachments this person did not upload or that a message already has; checked
    before anything reads them (the DLP scan) and again, locked, when they are claimed."""
    access.draft_attachments([a.pk for a in attachments], user=user, recipient=recipient,
                             for_update=for_update)


def claim_attachments(attachments: Sequence[Attachment], message: Message, *,
                       user: User | None = None, recipient: Recipient | None = None) -> None:
    """Inside the sending transaction: bind the drafts to the message."""
    if not attachments:
        return
    check_owned(attachments, user=user, recipient=recipient, for_update=True)
    ids = [a.pk for a in attachments]
    # Bind only drafts that are still unbound: a concurrent send cannot take the same file,
    # and one the sweep removed meanwhile makes the send fail instead of losing the file.
    updated = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(message=message)
    if updated != len(set(ids)):
        raise NotFound(_("An attachment could not be found."), field="attachments")
    # Re-wrap each file's key for its place in the conversation (cheap: the file itself is not
    # re-encrypted), so an attachment row moved to another message afterwards does not unwrap.
    # Unwrapping for the draft owner first means a row pointed at another upload's key fails.
    for attachment in Attachment.objects.filter(pk__in=ids):
        # Locked, so a key rotation running now waits and then sees the new wrap.
        key = DataKey.objects.select_for_update(no_key=True).get(pk=attachment.key_id)
        dek = unwrap(key, attachment.upload_owner())
        attachment.message = message
        rewrap(key, dek, attachment.owner())


def remove_draft(attachment_id: object, *, user: User) -> None:
    """The sender takes an uploaded file out of a message before sending it: the draft, its
    key and its blob go at once. Only this user's own unsent upload; anything else (another
    person's, one a message has, one already gone) is NotFound."""
    with transaction.atomic(durable=True):
        drafts = access.draft_attachments([attachment_id], user=user, for_update=True)
        delete_drafts(Attachment.objects.filter(pk__in=[a.pk for a in drafts]))


def discard_draft_attachments(older_than: timedelta = timedelta(days=1), *,
                              batch: int = 500) -> int:
    """Remove uploads that never became part of a message.

    A send may bind a draft at the same moment: the rows are locked and deleted only while
    still unbound, in one transaction, and a blob is removed only after that commits and only
    for a row this call deleted. So the sweep never takes a file that a message now has."""
    cutoff = timezone.now() - older_than
    count = 0
    while True:
        removed = _discard_batch(cutoff, batch)
        count += removed
        if removed < batch:
            return count


def _discard_batch(cutoff: datetime, batch: int) -> int:
    with transaction.atomic(durable=True):
        return delete_drafts(Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff)
                             .order_by("created_at", "id")[:batch])


def delete_drafts(drafts: QuerySet[Attachment]) -> int:
    """Inside a transaction: delete these uploads, locked first and only while no message has
    them, with their data keys; their blobs go after the commit. Returns how many went."""
    doomed = list(drafts.select_for_update(of=("self",)).values_list("pk", "blob_id", "key_id"))
    ids = [pk for pk, _blob, _key in doomed]
    _total, by_model = Attachment.objects.filter(pk__in=ids, message__isnull=True).delete()
    if by_model.get(Attachment._meta.label, 0) != len(ids):
        # Cannot happen while the rows are locked; refuse rather than guess which went.
        raise RuntimeError("draft attachments changed under their lock")
    DataKey.objects.filter(pk__in=[key for _pk, _blob, key in doomed]).delete()
    blob_ids = [blob for _pk, blob, _key in doomed]

    def delete_blobs() -> None:
        for blob_id in blob_ids:
            blob_store().delete(blob_id)

    transaction.on_commit(delete_blobs)
    return len(ids)
