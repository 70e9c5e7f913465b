"""Writing and verifying the audit log."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from zegel.audit import chain
from zegel.audit.models import AuditEvent, AuditHead

log = logging.getLogger(__name__)
HASH_RE = re.compile(r"[0-9a-f]{64}")
# How often one process asks the database whether today's anchor is written yet.
ANCHOR_CHECK_SECONDS = 600.0


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from. Behind a reverse proxy listed in
    ZEGEL_TRUSTED_PROXIES, the nearest address in X-Forwarded-For that is not a proxy of ours;
    anything a client wrote further left in that header is not believed."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or ""
    if remote and _trusted(remote):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            if not _trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break
    return remote or None


def staff_actor(user: Any) -> dict[str, Any]:
    """The actor fields of an event done by a staff user."""
    return {"actor_type": "user", "actor_id": user.pk, "actor_label": user.email}


def guest_actor(recipient: Any) -> dict[str, Any]:
    """The actor fields of an event done by a recipient through the portal."""
    return {"actor_type": "recipient", "actor_id": recipient.pk, "actor_label": recipient.email}


# Any 64-bit number, the same in every process: serialises creating the head row on PostgreSQL.
_HEAD_CREATION_LOCK = 0x7A6567656C0A

def _locked_head() -> AuditHead:
    """The head row, locked. On a fresh log two writers may both find it missing: on
    PostgreSQL they take turns through an advisory lock, so the second one finds the row the
    first created (the database refuses a head created after the first event). SQLite's
    IMMEDIATE transactions already let only one writer in."""
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HEAD_CREATION_LOCK])
    head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
    return head


def record(
    action: str,
    *,
    organisation: models.Model | None,
    actor_type: str,
    actor_id: object = "",
    actor_label: str = "",
    object_type: str = "",
    object_id: object = "",
    request: HttpRequest | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Callers pass identifiers and outcomes, never message content.

    Inside the caller's transaction the event takes no savepoint of its own (two statements
    fewer per event): the event and the change it records commit or roll back together, and
    an error while recording fails the caller's transaction as a whole."""
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        event = AuditEvent(
            organisation_id=organisation.pk if organisation is not None else None,
            actor_type=actor_type,
            actor_id=str(actor_id),
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            ip=ip or client_ip(request),
            data=data or {},
            prev_hash=head.last_hash,
            version=chain.KEYED,
        )
        key = chain.chain_key()
        event.hash = chain.keyed_digest(key, head.last_hash, chain.event_fields(event))
        event.save()
        head.last_hash = event.hash
        head.seal = chain.head_seal(key, event.hash)
        head.save(update_fields=["last_hash", "seal"])
    return event


class ChainBroken(Exception):
    def __init__(self, message: str, event_id: int | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


class AnchorNotFound(Exception):
    """The chain verifies, but an anchor kept elsewhere is not in it: events were cut."""


@dataclass(frozen=True)
class ChainState:
    head: str  # the hash of the newest event (the genesis hash for an empty log)
    events: int
    legacy_events: int  # unkeyed events from before the upgrade, sealed by the first keyed one


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """Read the events and the head as of one moment, so a write that commits while the walk
    runs is either wholly seen or not at all (no false alarm on a live system)."""
    if connection.in_atomic_block:
        # Inside the caller's transaction: what it sees is what it asked for.
        yield
        return
    if connection.vendor == "sqlite":
        # Not transaction.atomic(): the settings make that BEGIN IMMEDIATE, which takes the
        # write lock and would stall every writer while a long log is walked. A deferred
        # transaction in WAL mode reads one snapshot and blocks nobody.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                cursor.execute("ROLLBACK")
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def verify_log(anchors: tuple[str, ...] = ()) -> ChainState:
    """Walk the whole log in one snapshot; raise ChainBroken, or AnchorNotFound if one of
    `anchors` (heads printed earlier by `zegel audit anchor`) is not an event of the chain."""
    key = chain.chain_key()
    wanted = set(anchors)
    prev = chain.GENESIS
    count = legacy = 0
    last_version = None
    with _snapshot():
        for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
            expected = chain.digest_of(key, event.version, prev, chain.event_fields(event))
            if (event.prev_hash != prev or expected is None
                    or not hmac.compare_digest(event.hash, expected)):
                raise ChainBroken(f"event {event.id} does not follow the one before it (changed, "
                                  "removed, or written under another key file)", event.id)
            if event.version == chain.LEGACY:
                if last_version == chain.KEYED:
                    raise ChainBroken(f"event {event.id} is unkeyed but follows keyed events",
                                      event.id)
                legacy += 1
            wanted.discard(event.hash)
            last_version = event.version
            prev = event.hash
            count += 1
        head = AuditHead.objects.filter(pk=1).first()
    if last_version == chain.LEGACY:
        # The upgrade seals unkeyed events with a keyed one at once; a log that ends unkeyed
        # was re-hashed by someone without the key.
        raise ChainBroken("the newest event is not keyed: the log was re-hashed without the key")
    if count == 0:
        # A head row exists only once an event was written; one that names an event or
        # carries a seal outlived its events.
        if head is not None and (head.last_hash != chain.GENESIS or head.seal):
            raise ChainBroken("the log is empty but its head names an event: it was emptied")
    elif head is None or head.last_hash != prev:
        # The newest events were removed: the chain ends before the head that writers kept.
        raise ChainBroken("the newest events are missing: the log ends before its head")
    elif not hmac.compare_digest(head.seal, chain.head_seal(key, prev)):
        raise ChainBroken("the head was moved: its seal does not match (newest events cut?)")
    if wanted:
        raise AnchorNotFound(f"anchor {sorted(wanted)[0]} is not in the audit log: events were "
                             "removed or replaced after it was taken")
    return ChainState(head=prev, events=count, legacy_events=legacy)


def verify_chain() -> str:
    """Walk the whole log. Returns the hash of the newest event (keep it elsewhere: a later
    check that does not reach the same hash shows events were removed); raises ChainBroken."""
    return verify_log().head


def current_head() -> str:
    """The head as writers left it, if its seal checks out; ChainBroken otherwise."""
    head = AuditHead.objects.filter(pk=1).first()
    if head is None or head.last_hash == chain.GENESIS:
        raise ChainBroken("the audit log is empty: there is nothing to anchor yet")
    if not hmac.compare_digest(head.seal, chain.head_seal(chain.chain_key(), head.last_hash)):
        raise ChainBroken("the head was moved: its seal does not match (newest events cut?)")
    return head.last_hash


def write_daily_anchor(now: datetime | None = None) -> AuditEvent | None:
    """Write today's `audit.anchor` event unless one exists; None if it did.

    The head row's lock makes several workers agree: the first writes, the others see it.
    The new head goes to the application log too, which keeps a copy outside the database.
    """
    now = now or timezone.now()
    start_of_day = datetime.combine(timezone.localdate(now), datetime.min.time(),
                                    tzinfo=timezone.get_current_timezone())
    with transaction.atomic(durable=True):
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        if AuditEvent.objects.filter(action="audit.anchor", at__gte=start_of_day).exists():
            return None
        event = record("audit.anchor", organisation=None, actor_type="system",
                       object_type="audit_log", data={"head": head.last_hash})
    log.info("Audit anchor: the audit log's head is %s", event.hash)
    return event


_next_anchor_check = 0.0


def anchor_due() -> AuditEvent | None:
    """Cheap enough for every turn of the worker loop: asks the database at most every
    ANCHOR_CHECK_SECONDS and writes at most one anchor a day across all workers."""
    global _next_anchor_check
    if time.monotonic() < _next_anchor_check:
        return None
    # Set first: a database that fails here is retried in ten minutes, not on every turn.
    _next_anchor_check = time.monotonic() + ANCHOR_CHECK_SECONDS
    return write_daily_anchor()
