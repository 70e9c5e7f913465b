"""The lease that lets one worker at a time run a periodic job (zegel.jobs.lease). Two workers
taking it at once on PostgreSQL: tests/messaging/test_lifecycle_race.py."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from zegel.jobs.lease import renew_lease, take_lease
from zegel.jobs.models import Lease


def test_the_lease_goes_to_one_worker_until_it_runs_out(db: None) -> None:
    first = take_lease("lifecycle", 60)
    assert first is not None
    assert take_lease("lifecycle", 60) is None
    assert renew_lease("lifecycle", first, 60)
    assert not renew_lease("lifecycle", "not-the-holder", 60)
    Lease.objects.update(until=timezone.now() - timedelta(seconds=1))
    second = take_lease("lifecycle", 60)
    assert second is not None and second != first
    assert not renew_lease("lifecycle", first, 60)  # the old holder stops
