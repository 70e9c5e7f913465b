"""An organisation's own data-leak rules, patterns and special-category terms.

An organisation without any ``DlpRule`` row uses ``rules.default_rules()``. Every query for
these rows filters by organisation; ``zegel.dlp.policy`` is the only place that changes them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zegel.dlp import patterns, rules

# The largest value of a PositiveIntegerField that every supported database accepts.
MAX_POSITION = 2_147_483_647


class DlpRule(models.Model):
    class Action(models.TextChoices):
        AUDIT = rules.AUDIT, _("audit only")
        SUGGEST = rules.SUGGEST, _("suggest")
        WARN = rules.WARN, _("warn (the sender must confirm)")
        REQUIRE = rules.REQUIRE, _("require a verification method")
        BLOCK = rules.BLOCK, _("block")

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="dlp_rules"
    )
    name = models.CharField(_("name"), max_length=200)
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    # For action "require": any one of these methods ("sms", "access_code", "email_code").
    required_methods = models.JSONField(_("required methods"), default=list, blank=True)
    message_nl = models.CharField(_("message in Dutch"), max_length=500)
    message_en = models.CharField(_("message in English"), max_length=500)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="dlp_rule_name_per_org"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not isinstance(self.required_methods, list):
            raise ValidationError({"required_methods": _("Give a list of methods.")})
        # The column's range on every database (SQLite would store more, PostgreSQL fails).
        if not 0 <= self.position <= MAX_POSITION:
            raise ValidationError(
                {"position": _("The position is a whole number from 0 to %(max)d.")
                 % {"max": MAX_POSITION}}
            )
        try:
            rules.validate_rule(self.as_rule())
        except rules.RuleError as exc:
            raise ValidationError({"condition": str(exc)}) from None

    def as_rule(self) -> rules.Rule:
        return rules.Rule(
            name=self.name,
            condition=self.condition,
            action=self.action,
            message_nl=self.message_nl,
            message_en=self.message_en,
            enabled=self.enabled,
            required_methods=frozenset(str(m) for m in self.required_methods or ()),
        )


class OrgPattern(models.Model):
    """A pattern such as a patient number; findings have kind ``org:<name>``."""

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="dlp_patterns"
    )
    name = models.CharField(_("name"), max_length=100)
    regex = models.CharField(_("regular expression"), max_length=patterns.MAX_PATTERN_LENGTH)
    # Named "checksum", not "check": a field called check would hide Model.check().
    checksum = models.CharField(
        _("check"),
        max_length=16,
        blank=True,
        choices=[(name, name) for name in sorted(patterns.CHECKS)],
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="dlp_pattern_name_per_org"
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Refused here too, so no code path can store a pattern the scanner would skip.
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            patterns.validate_pattern(self.regex)
            patterns.validate_check(self.checksum or None)
        except patterns.PatternError as exc:
            raise ValidationError({"regex": str(exc)}) from None

    def as_pattern(self) -> patterns.OrgPattern:
        return patterns.OrgPattern(self.name, self.regex, self.checksum or None)


class DlpTerm(models.Model):
    """A special-category term the admin added to the shipped lists (term-file syntax)."""

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="dlp_terms"
    )
    term = models.CharField(_("term"), max_length=200)

    class Meta:
        ordering = ["term", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "term"], name="dlp_term_per_org"),
        ]


class SensitiveContact(models.Model):
    """An address this sender has sent sensitive content to, and since when.

    The recipient check's "first sensitive message to this address" reads this table; it is
    written with the send's `dlp.decision` event, in the same transaction. Per sender, not per
    organisation: a sender may only see their own conversations (zegel.messaging.access), so
    the check must not tell them what colleagues wrote to whom.
    """

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey("orgs.User", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)  # lower case
    first_sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sender", "address"],
                name="dlp_sensitive_contact_per_sender",
            ),
        ]


class KnownAddress(models.Model):
    """An address this sender has written to, and since when: the "first message to this
    address" check reads it. Per sender, as SensitiveContact, and written with the send."""

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey("orgs.User", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)  # lower case
    first_sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sender", "address"],
                name="dlp_known_address_per_sender",
            ),
        ]


class KnownName(models.Model):
    """A display name this sender wrote to an address under: the look-alike name check reads
    it. ``name`` is the key of ``recipients.name_index_key`` (a hash of the compared form)."""

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey("orgs.User", on_delete=models.CASCADE, related_name="+")
    name = models.BigIntegerField()
    address = models.CharField(max_length=254)  # lower case

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sender", "name", "address"],
                name="dlp_known_name_per_sender",
            ),
        ]


class KnownDomainKey(models.Model):
    """A domain this sender wrote to, under one of its look-up keys
    (``recipients.lookalike_index_keys``): the look-alike domain check finds its candidates by
    these keys instead of comparing with every known domain."""

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey("orgs.User", on_delete=models.CASCADE, related_name="+")
    key = models.BigIntegerField()
    domain = models.CharField(max_length=255)  # recipients.known_domain's form

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sender", "key", "domain"],
                name="dlp_known_domain_key_per_sender",
            ),
        ]


class AttachmentScan(models.Model):
    """What the scan found in an uploaded file, kept from the upload on so the compose page's
    live hints never read the file again: kinds, confidences and counts, no content (not even
    a masked value). Only the reason of a ``not_scanned`` finding is kept, to show it."""

    attachment = models.OneToOneField(
        "messaging.Attachment", on_delete=models.CASCADE, primary_key=True,
        related_name="dlp_scan",
    )
    # [{"kind": "bsn", "confidence": 0.95, "count": 2}, {"kind": "not_scanned", ..., "reason": ""}]
    findings = models.JSONField(default=list)
    scanned_at = models.DateTimeField(default=timezone.now)


class MessageScan(models.Model):
    """What the scan found in a guest's reply when it arrived, for the staff reading it: kinds
    and counts per part (body or attachment), no content."""

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, primary_key=True, related_name="dlp_scan"
    )
    # [{"kind": "bsn", "where": "body", "name": "", "count": 1}, ...]
    findings = models.JSONField(default=list)
    scanned_at = models.DateTimeField(default=timezone.now)


class AllowedValue(models.Model):
    """A value an organisation marked as "not sensitive" for one kind ("this is not a BSN").

    Only a keyed hash of the normalised value is stored (``zegel.dlp.allowlist``), never the
    value: the list itself must not become a list of BSNs. The built-in lists are not touched.
    """

    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=120)
    value_hash = models.CharField(max_length=64)  # HMAC-SHA256, hex
    created_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "value_hash"], name="dlp_allowed_value_per_org"
            ),
        ]
