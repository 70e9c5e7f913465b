"""The sender's history as the recipient checks need it, in indexed tables of its own.

The checks ask three things of the past: was this address written to (``KnownAddress``), is
this display name known with other addresses (``KnownName``), and which known domains could
this recipient's domain be a look-alike of (``KnownDomainKey``). ``note`` writes them with the
send, in its transaction, so a rolled-back send leaves no history; ``look_up`` reads only the
rows of this message's addresses, names and domain keys, so a check costs the same whatever
the history. The scope is the sender, as the access rule (zegel.messaging.access): a check
never tells a sender to whom a colleague wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db.models import Count

from zegel.dlp.models import KnownAddress, KnownDomainKey, KnownName
from zegel.dlp.recipients import (
    domain_index_key,
    known_domain,
    lookalike_index_keys,
    lookalike_lookup_keys,
    name_index_key,
)

# Keys per query: well below every supported database's limit on parameters.
_CHUNK = 2_000
_T = TypeVar("_T")


def _chunks(values: Iterable[_T]) -> Iterator[list[_T]]:
    items = sorted(values)  # type: ignore[type-var]
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


@dataclass(frozen=True)
class Rows:
    """What one batch of recipients adds to a sender's history, in insertion order."""

    addresses: list[str]
    names: list[tuple[int, str]]
    domains: dict[str, set[int]]


def rows_for(people: Iterable[tuple[str, str]]) -> Rows:
    """The history rows of (e-mail, display name) pairs, sorted: concurrent sends insert in the
    same order, so they wait for each other instead of deadlocking."""
    addresses: set[str] = set()
    names: set[tuple[int, str]] = set()
    domains: dict[str, set[int]] = {}
    for email, name in people:
        address = email.strip().lower()
        addresses.add(address)
        key = name_index_key(name) if name else None
        if key is not None:
            names.add((key, address))
        domain = known_domain(address)
        if domain not in domains:
            domains[domain] = lookalike_index_keys(domain)
    return Rows(sorted(addresses), sorted(names), domains)


def note(organisation_id: int, sender_id: int, people: Iterable[tuple[str, str]], *,
         at: datetime) -> None:
    """Add these (e-mail, display name) pairs to the sender's history. Idempotent: an address,
    name or domain seen before keeps its row (and an address its first date); two sends racing
    to the same new address both succeed, the unique constraints keep one row."""
    rows = rows_for(people)
    scope = {"organisation_id": organisation_id, "sender_id": sender_id}
    KnownAddress.objects.bulk_create(
        [KnownAddress(**scope, address=a, first_sent_at=at) for a in rows.addresses],
        ignore_conflicts=True,
    )
    KnownName.objects.bulk_create(
        [KnownName(**scope, name=n, address=a) for n, a in rows.names], ignore_conflicts=True
    )
    # A domain known before has all its keys: skip it, most sends write no key at all. Looked
    # up by the key it has as itself, so the unique index answers.
    known: set[str] = set()
    for chunk in _chunks(rows.domains):
        known.update(
            KnownDomainKey.objects.filter(
                **scope, key__in=[domain_index_key(d) for d in chunk], domain__in=chunk
            ).values_list("domain", flat=True)
        )
    new = sorted((key, domain) for domain, keys in rows.domains.items() if domain not in known
                 for key in keys)
    KnownDomainKey.objects.bulk_create(
        [KnownDomainKey(**scope, key=k, domain=d) for k, d in new], ignore_conflicts=True
    )


@dataclass(frozen=True)
class Known:
    """What the history says about one message's recipients."""

    addresses: set[str]  # the message's addresses written to before
    domains: set[str]  # the known domains its domains may look like (or are)
    names: dict[int, tuple[int, set[str]]]  # name key: (addresses in all, those asked about)


def look_up(organisation_id: int, sender_id: int, addresses: Iterable[str],
            name_keys: Iterable[int], *, name_addresses: Iterable[str] = ()) -> Known:
    """The sender's history for these lower-case addresses and name keys: index look-ups
    only, a bounded number of rows per recipient. ``name_addresses`` are further addresses
    whose membership of the names is wanted (the staff directory's)."""
    scope = {"organisation_id": organisation_id, "sender_id": sender_id}
    wanted = set(addresses)
    previous: set[str] = set()
    for chunk in _chunks(wanted):
        previous.update(
            KnownAddress.objects.filter(**scope, address__in=chunk)
            .values_list("address", flat=True)
        )
    domain_keys: set[int] = set()
    for address in wanted:
        domain_keys |= lookalike_lookup_keys(address)
    domains: set[str] = set()
    for key_chunk in _chunks(domain_keys):
        domains.update(
            KnownDomainKey.objects.filter(**scope, key__in=key_chunk)
            .values_list("domain", flat=True)
            .distinct()
        )
    keys = set(name_keys)
    names: dict[int, tuple[int, set[str]]] = {}
    if keys:
        counted = (
            KnownName.objects.filter(**scope, name__in=keys)
            .values("name")
            .annotate(n=Count("id"))
            .values_list("name", "n")
        )
        members: dict[int, set[str]] = {}
        asked = wanted | set(name_addresses)
        for part in _chunks(asked):
            for key, address in KnownName.objects.filter(
                **scope, name__in=keys, address__in=part
            ).values_list("name", "address"):
                members.setdefault(key, set()).add(address)
        names = {key: (n, members.get(key, set())) for key, n in counted}
    return Known(previous, domains, names)
