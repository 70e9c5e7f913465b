"""What the background workers share: leases for the periodic jobs."""

from __future__ import annotations

from django.db import models


class Lease(models.Model):
    """Which worker runs a periodic job now, and until when (zegel.jobs.lease). One row per
    job, taken with a conditional UPDATE, so the job runs once however many workers run."""

    name = models.CharField(primary_key=True, max_length=64)
    holder = models.CharField(max_length=64, blank=True)
    until = models.DateTimeField()
