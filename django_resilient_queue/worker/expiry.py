"""Expiry: a queued job not started by its ``expires_at`` never runs.

The claim does not look at ``expires_at`` (a filter there would cost every claim): a
claimed job that has expired is ended by the executor before it starts, with no run and
no attempt used, and a housekeeping sweep ends the expired jobs nobody claims.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Job, JobStatus

logger = logging.getLogger("django_resilient_queue.worker")

REASON = "expired"
SWEEP_BATCH = 500


def is_expired(job: Job, now: datetime) -> bool:
    """True when ``job`` has an expiry and ``now`` is past it."""
    return job.expires_at is not None and job.expires_at <= now


def write_expired(fence: Any, finished_at: datetime) -> bool:
    """End a claimed, expired job ``cancelled`` (reason "expired"), giving its attempt back."""
    return bool(
        fence.unclaim(
            status=JobStatus.CANCELLED,
            reason=REASON,
            finished_at=finished_at,
            lease_expires_at=None,
            holds_place=False,
        )
    )


def expire_queued_jobs(limit: int = SWEEP_BATCH) -> int:
    """End up to ``limit`` queued jobs past their expiry; return how many (housekeeping)."""
    now = timezone.now()
    # Read the ids first, without locks, then end them by primary key: on MariaDB an
    # UPDATE ... WHERE expires_at ... would lock every queued row it scans.
    ids = list(
        Job.objects.filter(status=JobStatus.QUEUED, expires_at__lte=now).values_list(
            "pk", flat=True
        )[:limit]
    )
    if not ids:
        return 0
    ended = Job.objects.filter(pk__in=ids, status=JobStatus.QUEUED, expires_at__lte=now).update(
        status=JobStatus.CANCELLED, reason=REASON, finished_at=now
    )
    if ended:
        logger.info("ended %s queued jobs past their expiry", ended)
    return ended
