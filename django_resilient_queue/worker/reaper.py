"""Take back jobs whose lease expired: their worker died, froze or lost its host."""

from __future__ import annotations

import dataclasses
import logging

from ..db.clock import DatabaseNow
from ..models import Job, JobStatus, Worker
from . import stalls
from .dbretry import CONNECTION_ERRORS
from .executor import Outcome, OutcomeKind
from .outcomes import apply_outcome

logger = logging.getLogger("django_resilient_queue.reaper")

BATCH = 100
# Columns a take-back never reads: a big or malformed result or progress is not loaded.
UNNEEDED = ("result", "progress", "checkpoint")


def reap_expired_leases(limit: int = BATCH) -> int:
    """Record an ``abandoned`` Attempt for each expired lease and requeue (or dead-letter) it.

    Safe with many reapers at once: each write is fenced by (id, run, running), so a
    job is taken back by exactly one of them.
    """
    expired = list(
        # Expired on the database server's clock: the one the leases were set on.
        Job.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=DatabaseNow())
        .defer(*UNNEEDED)
        .order_by("lease_expires_at")[:limit]
    )
    taken = 0
    ahead = claimed_ahead(expired)
    for job in expired:
        kind: OutcomeKind = OutcomeKind.ABANDONED
        message = "lease expired: the worker was lost"
        if job.cancel_requested_at:
            kind = OutcomeKind.CANCELLED  # asked to stop: done
        elif job.pk in ahead:
            kind, message = OutcomeKind.UNSTARTED, "lease expired before its worker started it"
        outcome = Outcome.lost(kind, job.started_at, message)
        if _apply_one(job, outcome):
            taken += 1
    if taken:
        logger.warning("took back %s jobs whose lease expired", taken)
    return taken


def claimed_ahead(jobs: list[Job]) -> set[int]:
    """Ids among ``jobs`` that their worker's last heartbeat, after their claim, reported
    claimed ahead and not started: taking them back charges no stall, as they never ran."""
    worker_ids = {job.worker_id for job in jobs if job.worker_id is not None}
    if not worker_ids:
        return set()
    reports = {
        pk: (reported_at, set(ids or []))
        for pk, reported_at, ids in Worker.objects.filter(pk__in=worker_ids).values_list(
            "pk", "last_heartbeat_at", "claimed_ahead"
        )
    }
    return {
        job.pk
        for job in jobs
        if job.worker_id in reports
        and job.pk in reports[job.worker_id][1]
        and job.started_at is not None
        and reports[job.worker_id][0] >= job.started_at
    }


def take_back(job_id: int, run: int, kind: OutcomeKind, message: str) -> bool:
    """Record how the run (job_id, run) of a dead or killed child ended, if still running."""
    job = Job.objects.run_of(job_id, run).defer(*UNNEEDED).first()
    if job is None:
        return False
    if job.cancel_requested_at is not None:
        kind = (
            OutcomeKind.CANCELLED
        )  # an operator asked to stop it: it never comes back to the queue
    outcome = Outcome.lost(kind, job.started_at, message)
    if kind == OutcomeKind.TIMEOUT and stalls.killed_for_stall(job):
        outcome = dataclasses.replace(
            outcome, error_type=stalls.ERROR_TYPE, error_message=stalls.stall_message(job)
        )
    return apply_outcome(job, outcome)


def _apply_one(job: Job, outcome: Outcome) -> bool:
    """Write one take-back; a row that cannot be written is logged, never stops the pass."""
    try:
        return apply_outcome(job, outcome)
    except CONNECTION_ERRORS:
        raise  # the caller reconnects and tries again later
    except Exception:
        logger.exception("job id=%s: its expired lease could not be taken back", job.pk)
        return False
