"""Searching the audit log: one filter for the page and both exports (CSV and JSON).

Who (a staff user's or recipient's e-mail address, or a kind of actor), what (an action, by
prefix or exactly), when (days of the installation's time zone), which object (a message,
conversation, recipient or user id) and from where (an address, or a network in CIDR
notation). Every value is checked before a query is made; a bad one comes back as a sentence
for the page, never as a server error. Events hold identifiers and outcomes, never content.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import GenericIPAddressField, Lookup, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.models import AuditEvent

ACTOR_TYPES = ("user", "recipient", "system", "api", "anonymous")
# The longest value each field can hold in the table; anything longer cannot match.
MAX_ACTOR = 254
MAX_ACTION = 64
MAX_OBJECT = 64
MAX_IP = 64  # an IPv6 network with its prefix length fits in 43


@dataclass
class AuditFilter:
    actor: str = ""
    actor_type: str = ""
    action: str = ""
    exact: bool = False
    first: date | None = None
    last: date | None = None
    object_id: str = ""
    ip: str = ""
    errors: list[str] = field(default_factory=list)

    def query(self) -> dict[str, str]:
        """The filter as query-string values (for links to the next page and the exports)."""
        values = {"actor": self.actor, "actor_type": self.actor_type, "action": self.action,
                  "match": "exact" if self.exact else "",
                  "from": self.first.isoformat() if self.first else "",
                  "until": self.last.isoformat() if self.last else "",
                  "object": self.object_id, "ip": self.ip}
        return {k: v for k, v in values.items() if v}

    def querystring(self) -> str:
        return urlencode(self.query())

    def record_data(self) -> dict[str, str]:
        """What an export's audit event keeps of the filter (all identifiers, no content)."""
        return {"from": self.first.isoformat() if self.first else "",
                "until": self.last.isoformat() if self.last else "", "action": self.action,
                **{k: v for k, v in self.query().items() if k not in ("from", "until",
                                                                        "action")}}


def _text(params: Any, name: str, limit: int, errors: list[str], label: str) -> str:
    value = str(params.get(name, "")).strip()
    if len(value) > limit:
        errors.append(_("%(field)s is too long: at most %(limit)d characters.")
                      % {"field": label, "limit": limit})
        return ""
    if any(ord(c) < 32 for c in value):
        errors.append(_("%(field)s contains control characters.") % {"field": label})
        return ""
    return value


def _day(params: Any, name: str, errors: list[str], message: str) -> date | None:
    text = str(params.get(name, "")).strip()
    if not text:
        return None
    try:
        if len(text) > 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        errors.append(message)
        return None


def parse(params: Any) -> AuditFilter:
    """The filter in `params` (request.GET); `errors` says in words what was wrong."""
    errors: list[str] = []
    actor = _text(params, "actor", MAX_ACTOR, errors, _("Who"))
    actor_type = str(params.get("actor_type", "")).strip()
    if actor_type and actor_type not in ACTOR_TYPES:
        errors.append(_("Choose a kind of actor from the list."))
        actor_type = ""
    action = _text(params, "action", MAX_ACTION, errors, _("Action"))
    match = str(params.get("match", "")).strip()
    if match not in ("", "prefix", "exact"):
        errors.append(_("Choose whether the action starts with the text or is exactly it."))
    first = _day(params, "from", errors,
                 _("Give the first day as YYYY-MM-DD, such as 2027-03-01."))
    last = _day(params, "until", errors,
                _("Give the last day as YYYY-MM-DD, such as 2027-03-31."))
    if first and last and first > last:
        errors.append(_("The period starts after it ends."))
    object_id = _text(params, "object", MAX_OBJECT, errors, _("Object id"))
    ip = _text(params, "ip", MAX_IP, errors, _("Address"))
    if ip:
        try:
            network = ipaddress.ip_network(ip, strict=False)
        except ValueError:
            errors.append(_("Give an address such as 192.0.2.10 or 2001:db8::1, or a network "
                            "such as 192.0.2.0/24."))
            ip = ""
        else:
            if "/" in ip and connection.vendor != "postgresql" and not _text_prefix(network):
                errors.append(_("This database can only search whole-byte IPv4 networks "
                                "(/8, /16, /24) or single addresses."))
                ip = ""
            else:
                ip = str(network) if "/" in ip else str(network.network_address)
    return AuditFilter(actor=actor, actor_type=actor_type, action=action,
                       exact=match == "exact", first=first, last=last, object_id=object_id,
                       ip=ip, errors=errors)


def _text_prefix(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str | None:
    """The text every address of `network` starts with, where addresses are stored as text
    (SQLite): only IPv4 networks of whole bytes have one."""
    if network.version != 4 or network.prefixlen % 8:
        return None
    if network.prefixlen == 0:
        return ""
    octets = str(network.network_address).split(".")[:network.prefixlen // 8]
    return ".".join(octets) + ("." if network.prefixlen < 32 else "")


def _start_of(day: date) -> datetime:
    # A day of the installation's time zone (Europe/Amsterdam), as the pages show times.
    return timezone.make_aware(datetime.combine(day, time.min))


def events(organisation_id: int, flt: AuditFilter) -> QuerySet[AuditEvent]:
    """The organisation's events that match (unordered). Call only when flt.errors is empty."""
    qs = AuditEvent.objects.filter(organisation_id=organisation_id)
    if flt.actor:
        qs = qs.filter(actor_label=flt.actor)
    if flt.actor_type:
        qs = qs.filter(actor_type=flt.actor_type)
    if flt.action:
        qs = qs.filter(action=flt.action) if flt.exact else qs.filter(
            action__startswith=flt.action)
    if flt.first:
        qs = qs.filter(at__gte=_start_of(flt.first))
    if flt.last:
        qs = qs.filter(at__lt=_start_of(flt.last + timedelta(days=1)))
    if flt.object_id:
        qs = qs.filter(object_id=flt.object_id)
    if flt.ip:
        if "/" not in flt.ip:
            qs = qs.filter(ip=flt.ip)
        elif connection.vendor == "postgresql":
            # `<<=` on inet: "within this network"; PostgreSQL turns it into a range scan of
            # the btree index on ip.
            qs = qs.filter(ip__within=flt.ip)
        else:
            prefix = _text_prefix(ipaddress.ip_network(flt.ip))
            if prefix:
                qs = qs.filter(ip__startswith=prefix)
    return qs


@GenericIPAddressField.register_lookup
class Within(Lookup):
    """`ip__within="192.0.2.0/24"` on PostgreSQL: `<<=` on inet ("within this network"), which
    the planner turns into a range scan of a btree index on the address."""

    lookup_name = "within"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} <<= {rhs}::inet", [*lhs_params, *rhs_params]


_KNOWN_ACTIONS = (
    "WITH RECURSIVE seen(action) AS (SELECT MIN(action) FROM audit_auditevent UNION ALL "
    "SELECT (SELECT MIN(action) FROM audit_auditevent WHERE action > seen.action) FROM seen "
    "WHERE seen.action IS NOT NULL) SELECT action FROM seen WHERE action IS NOT NULL")


def actor_choices() -> list[tuple[str, str]]:
    return [("user", _("Staff user")), ("recipient", _("Recipient")), ("system", _("System")),
            ("api", _("API")), ("anonymous", _("Not logged in"))]


def known_actions() -> list[str]:
    """Every action written so far, installation-wide (action names come from the code, not
    from anyone's data). A skip scan of the action index: one short index probe per distinct
    action, not a walk over the log, on PostgreSQL and SQLite alike."""
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN_ACTIONS)
        return [row[0] for row in cursor.fetchall()]
