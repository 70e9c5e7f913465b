"""The recipient directory: what an organisation knows of the people it writes to, once, so no
sender types a phone number or access code again (docs/directory.md).

The directory does not depend on messaging: compose and the API read it when they build a
recipient, and copy what they need (a recipient keeps working when its contact changes later).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zegel.orgs.models import Organisation


class Method(models.TextChoices):
    """How a contact proves who they are; the same values as messaging's Recipient.Method."""
    SMS = "sms", _("SMS code")
    ACCESS_CODE = "access_code", _("Access code")
    EMAIL = "email", _("E-mail code")


class Language(models.TextChoices):
    DUTCH = "nl", _("Dutch")
    ENGLISH = "en", _("English")


class SharedCode(models.Model):
    """One access code several contacts at a partner organisation use (the letter asks them to
    share it with colleagues). Stored as Argon2id, never shown again after it is set."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="shared_codes")
    name = models.CharField(_("name"), max_length=200)  # e.g. the partner organisation
    code_hash = models.CharField(max_length=200)
    hint = models.CharField(_("hint"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "organisation",
                                    name="directory_sharedcode_unique_name"),
        ]


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="contacts")
    # The key in the organisation's own system (EHR, CRM); empty when staff added the contact.
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail address"))  # stored lower-case
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)  # E.164
    access_code_hash = models.CharField(max_length=200, blank=True)  # Argon2id
    access_code_hint = models.CharField(_("access code hint"), max_length=200, blank=True)
    shared_code = models.ForeignKey(SharedCode, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="contacts")
    # Empty: the most secure method the contact has (SMS or access code above e-mail code).
    preferred_method = models.CharField(_("preferred method"), max_length=16,
                                        choices=Method.choices, blank=True)
    # The language letters to the contact are written in (zegel.directory.letters).
    language = models.CharField(_("language"), max_length=8, choices=Language.choices,
                                default=Language.DUTCH, db_default=Language.DUTCH)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "email"],
                                    name="directory_contact_unique_email"),
            models.UniqueConstraint(fields=["organisation", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="directory_contact_unique_external_id"),
        ]
        indexes = [models.Index(fields=["organisation", "name"])]

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def has_access_code(self) -> bool:
        return bool(self.access_code_hash) or self.shared_code_id is not None

    def available_methods(self) -> list[str]:
        """The methods this contact can use now, most secure first. E-mail code is always
        possible as far as the contact goes; the organisation's policy may still forbid it."""
        methods = []
        if self.phone:
            methods.append(Method.SMS.value)
        if self.has_access_code:
            methods.append(Method.ACCESS_CODE.value)
        methods.append(Method.EMAIL.value)
        return methods

    def default_method(self) -> str:
        """The preferred method when it is available, else the most secure available one."""
        available = self.available_methods()
        if self.preferred_method and self.preferred_method in available:
            return self.preferred_method
        return available[0]
