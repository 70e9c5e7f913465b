"""Delivery under faults, with real processes: three `zegel worker`s, one killed every few
seconds and one stopped now and then for longer than its lease, against a loopback relay that
delays, drops the connection and answers 421/451. Every notification arrives; the only
duplicates are those a kill or a pause between the relay's 250 and the worker's commit explains.
Figures: docs/performance.md ("Reliability")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.notify.faults import Scenario, run
from zegel.orgs.models import Organisation


@pytest.mark.skipif(
    os.environ.get("ZEGEL_FAULT_TEST") != "1" and "postgres" not in os.environ.get(
        "DATABASE_URL", ""),
    reason="runs in make test's PostgreSQL pass, the set-up for many workers (about two minutes "
           "a run); ZEGEL_FAULT_TEST=1 runs it on SQLite too")
@pytest.mark.django_db(transaction=True)
def test_every_notification_arrives_despite_killed_workers_and_a_bad_relay(
        org: Organisation, tmp_path: Path) -> None:
    seed = os.environ.get("ZEGEL_FAULT_SEED")
    scenario = Scenario(seed=int(seed)) if seed else Scenario()
    outcome = run(scenario, org, tmp_path)
    print(outcome.figures())
    print("\n".join(outcome.duplicate_details()))
    figures = outcome.figures()
    assert outcome.sent == scenario.notifications, figures
    arrived = {d.to for d in outcome.deliveries}
    assert arrived == {f"r{i}@example.nl" for i in range(scenario.notifications)}, figures
    # One Message-ID per notification, whatever the number of attempts.
    ids_per_address: dict[str, set[str]] = {}
    for delivery in outcome.deliveries:
        ids_per_address.setdefault(delivery.to, set()).add(delivery.message_id)
    assert all(len(ids) == 1 for ids in ids_per_address.values()), figures
    # Each notification is recorded as sent exactly once, however often it went out.
    assert outcome.sent_events == outcome.distinct_sent_events == scenario.notifications
    unexplained = outcome.explain_duplicates()[3]
    assert not unexplained, f"{figures}\n" + "\n".join(unexplained)
    assert all(d.pid for d in outcome.deliveries), "a delivery from an unknown process"
    assert len(outcome.kills) >= 5 and outcome.pauses, figures
    assert outcome.exit_codes == [0] * scenario.workers, figures
