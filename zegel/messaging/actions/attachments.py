"""Uploads become attachments; drafts that never became part of a message are removed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.files.blobs import blob_store
from zegel.files.uploads import EncryptedUpload
from zegel.keystore.binding import Role
from zegel.keystore.keys import create_data_key, rewrap, seal_text, unwrap
from zegel.keystore.models import DataKey
from zegel.messaging.content import AttachmentMeta
from zegel.messaging.errors import ActionError
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
    with transaction.atomic():
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
                 recipient: Recipient | None = None) -> None:
    """Refuse attachments this person did not upload or that a message already has; checked
    before anything reads them (the DLP scan) and again when they are claimed."""
    for attachment in attachments:
        owned = (attachment.uploaded_by_user_id == (user.pk if user else None)
                 and attachment.uploaded_by_recipient_id == (recipient.pk if recipient else None))
        if not owned or attachment.message_id is not None:
            raise ActionError(_("An attachment could not be found."), field="attachments",
                              status=404)


def claim_attachments(attachments: Sequence[Attachment], message: Message, *,
                       user: User | None = None, recipient: Recipient | None = None) -> None:
    check_owned(attachments, user=user, recipient=recipient)
    ids = [a.pk for a in attachments]
    # Bind only drafts that are still unbound: a concurrent send cannot take the same file.
    updated = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(message=message)
    if updated != len(ids):
        raise ActionError(_("An attachment could not be found."), field="attachments",
                          status=404)
    # Re-wrap each file's key for its place in the conversation (cheap: the file itself is not
    # re-encrypted), so an attachment row moved to another message afterwards does not unwrap.
    # Unwrapping for the draft owner first means a row pointed at another upload's key fails.
    for attachment in Attachment.objects.filter(pk__in=ids):
        # Locked, so a key rotation running now waits and then sees the new wrap.
        key = DataKey.objects.select_for_update().get(pk=attachment.key_id)
        dek = unwrap(key, attachment.upload_owner())
        attachment.message = message
        rewrap(key, dek, attachment.owner())


def discard_draft_attachments(older_than: timedelta = timedelta(days=1)) -> int:
    """Remove uploads that never became part of a message."""
    cutoff = timezone.now() - older_than
    count = 0
    for attachment in Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff):
        blob_store().delete(attachment.blob_id)
        key = attachment.key
        attachment.delete()
        key.delete()
        count += 1
    return count
