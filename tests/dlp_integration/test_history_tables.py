"""The recipient checks' history tables (zegel.dlp.history): a check costs the same number of
queries whatever the history, the history is written with the send and only with it, racing
sends to one new address both go through, and the upgrade fills the tables from the
conversations already sent."""

from __future__ import annotations

import hashlib
import importlib
import threading
import time
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import send
from tests.messaging.test_concurrency import run_together
from zegel.dlp import history
from zegel.dlp.models import KnownAddress, KnownDomainKey, KnownName
from zegel.dlp.service import check_draft
from zegel.messaging import actions, guards
from zegel.messaging.errors import ActionError
from zegel.messaging.models import Conversation, Recipient
from zegel.orgs.models import Organisation, User

PIET = actions.RecipientSpec(email="Piet@Huisarts-Noord.nl", name="Piet Bakker", method="email")


def _domain(i: int) -> str:
    """A domain of its own for each number, none alike: ten letters from a hash."""
    digest = hashlib.sha256(str(i).encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:10]) + ".nl"


SEVEN = _domain(7)
SEVEN_SWAPPED = SEVEN[:3] + SEVEN[4] + SEVEN[3] + SEVEN[5:]


def _earlier(sender: User, count: int) -> None:
    """``count`` earlier recipients, each at a domain of its own, written as a send would."""
    now = timezone.now()
    people = [(f"p{i}@{_domain(i)}", f"Persoon {i}") for i in range(count)]
    conversation = Conversation.objects.create(organisation=sender.organisation,
                                               created_by=sender)
    Recipient.objects.bulk_create([Recipient(conversation=conversation, email=e, name=n,
                                             method="email") for e, n in people])
    history.note(sender.organisation_id, sender.pk, people, at=now)


def _check(sender: User, monkeypatch: pytest.MonkeyPatch
           ) -> tuple[int, list[tuple[str, str]]]:
    recipients = [
        actions.RecipientSpec(email=f"p7@{SEVEN}", name="Persoon 7"),
        actions.RecipientSpec(email=f"nieuw@{SEVEN_SWAPPED}", name="Persoon 8"),
        actions.RecipientSpec(email="jan@elders.nl", name="Jan"),
    ]
    read: list[history.Known] = []

    def look_up(*args: Any, **kwargs: Any) -> history.Known:
        read.append(real_look_up(*args, **kwargs))
        return read[-1]

    real_look_up = history.look_up
    monkeypatch.setattr(history, "look_up", look_up)
    with CaptureQueriesContext(connection) as queries:
        result = check_draft(sender=sender, subject="x", body="Hallo", recipients=recipients)
    # Not the whole history: no query reads the recipients of earlier conversations, and the
    # history tables give a few rows per recipient (the domain it looks like, and now and then
    # one that shares half its letters by chance).
    assert not [q for q in queries if "messaging_recipient" in q["sql"]]
    assert len(read[0].addresses) <= 1 and len(read[0].domains) <= 4
    assert all(n <= 1 for n, _members in read[0].names.values())
    return len(queries), sorted((r.kind, r.address) for r in result.recipient_findings)


@pytest.mark.django_db
def test_a_check_costs_the_same_queries_with_no_or_a_long_history(
        org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = User.objects.create_user("quiet@zorggroep-noord.nl", org, "x" * 20)
    busy = User.objects.create_user("busy@zorggroep-noord.nl", org, "x" * 20)
    _earlier(quiet, 0)
    _earlier(busy, 2_000)
    quiet_queries, quiet_findings = _check(quiet, monkeypatch)
    busy_queries, busy_findings = _check(busy, monkeypatch)
    assert quiet_queries == busy_queries
    assert quiet_findings == [
        ("first_contact", "jan@elders.nl"),
        ("first_contact", f"nieuw@{SEVEN_SWAPPED}"),
        ("first_contact", f"p7@{SEVEN}"),
        ("several_organisations", ""),
    ]
    # The history is read all the same: one known address, a look-alike domain and a known
    # name with another address.
    assert busy_findings == [
        ("first_contact", "jan@elders.nl"),
        ("first_contact", f"nieuw@{SEVEN_SWAPPED}"),
        ("lookalike_domain", f"nieuw@{SEVEN_SWAPPED}"),
        ("lookalike_name", f"nieuw@{SEVEN_SWAPPED}"),
        ("several_organisations", ""),
    ]


@pytest.mark.django_db
def test_a_send_writes_its_recipients_once(sender: User) -> None:
    send(sender, recipients=[PIET])
    send(sender, recipients=[PIET])
    assert list(KnownAddress.objects.values_list("sender_id", "address")) == [
        (sender.pk, "piet@huisarts-noord.nl")]
    assert KnownName.objects.get().address == "piet@huisarts-noord.nl"
    assert set(KnownDomainKey.objects.values_list("domain", flat=True)) == {"huisarts-noord.nl"}
    # The date it was first written to: that of the first send's recipient row.
    first = Recipient.objects.order_by("created_at").values_list("created_at", flat=True)
    assert KnownAddress.objects.get().first_sent_at == first[0] != first[1]


class _FailAfterSend:
    def before_send(self, draft: guards.Draft) -> None:
        return None

    def after_send(self, draft: guards.Draft, verdict: Any, conversation: Conversation) -> None:
        raise ActionError("stopped after the history was written")


@pytest.mark.django_db
def test_a_send_that_fails_leaves_no_history(sender: User,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "_guards", [*guards._guards, _FailAfterSend()])
    with pytest.raises(ActionError):
        send(sender, recipients=[PIET])
    assert not Conversation.objects.exists()
    assert not KnownAddress.objects.exists()
    assert not KnownName.objects.exists()
    assert not KnownDomainKey.objects.exists()
    result = check_draft(sender=sender, subject="x", body="Hallo", recipients=[PIET])
    assert [r.kind for r in result.recipient_findings] == ["first_contact"]


@pytest.mark.django_db
def test_the_upgrade_fills_the_tables_from_the_sent_conversations(sender: User,
                                                                  teammate: User) -> None:
    upgrade = importlib.import_module("zegel.dlp.migrations.0004_known_history")
    send(sender, recipients=[PIET])
    send(teammate, recipients=[PIET, actions.RecipientSpec(email="jan@ggd-utrecht.nl",
                                                           method="email")])
    send(sender, recipients=[PIET])

    def tables() -> list[Any]:
        return [
            sorted(KnownAddress.objects.values_list("sender_id", "address", "first_sent_at")),
            sorted(KnownName.objects.values_list("sender_id", "name", "address")),
            sorted(KnownDomainKey.objects.values_list("sender_id", "key", "domain")),
        ]

    written = tables()
    KnownAddress.objects.all().delete()
    KnownName.objects.all().delete()
    KnownDomainKey.objects.all().delete()
    upgrade.fill(apps, None)
    filled = tables()
    assert filled[1:] == written[1:]
    assert [(s, a) for s, a, _at in filled[0]] == [(s, a) for s, a, _at in written[0]]
    assert len(written[0]) == 3  # Piet for each sender, Jan for the teammate
    # Sent twice: the first date is that of the first recipient row.
    first = min(Recipient.objects.filter(conversation__created_by=sender)
                .values_list("created_at", flat=True))
    assert KnownAddress.objects.get(sender=sender).first_sent_at == first
    kinds = [r.kind for r in check_draft(sender=sender, subject="x", body="Hallo",
                                         recipients=[PIET]).recipient_findings]
    assert kinds == []


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and ON CONFLICT waits are PostgreSQL's; SQLite has one writer")


@pytest.mark.django_db(transaction=True)
def test_two_sends_to_one_new_address_at_once_both_go_through(sender: User) -> None:
    _postgres_only()
    results = run_together([lambda: send(sender, recipients=[PIET])] * 2)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Conversation.objects.count() == 2
    assert KnownAddress.objects.count() == 1
    keys = list(KnownDomainKey.objects.values_list("key", "domain"))
    assert len(keys) == len(set(keys)) > 0


@pytest.mark.django_db(transaction=True)
def test_history_writes_in_opposite_orders_do_not_deadlock(sender: User) -> None:
    """One send holds a new address and then writes a second; another send writes both, in
    the opposite order, in between. Rows go in sorted, so the second send waits for the first
    instead of holding the row the first one needs next (PostgreSQL would end one of them
    with a deadlock)."""
    _postgres_only()
    first, second = ("a@praktijk-aan-zee.nl", "A"), ("b@praktijk-bij-zee.nl", "B")
    holding, waiting = threading.Event(), threading.Event()

    def note(people: list[tuple[str, str]]) -> None:
        history.note(sender.organisation_id, sender.pk, people, at=timezone.now())

    def one() -> None:
        with transaction.atomic():
            note([first])
            holding.set()
            assert waiting.wait(timeout=30)
            time.sleep(0.5)  # the other send is now blocked on our row
            note([second])

    def other() -> None:
        assert holding.wait(timeout=30)
        waiting.set()
        with transaction.atomic():
            note([second, first])

    results = run_together([one, other])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(KnownAddress.objects.values_list("address", flat=True)) == [
        first[0], second[0]]
    keys = list(KnownDomainKey.objects.values_list("key", "domain"))
    assert len(keys) == len(set(keys))
