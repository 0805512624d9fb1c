"""Job verbs a person triggers: retry now, cancel, change priority."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from ..models import DeadLetter, Job, JobStatus
from ..priority import validate_priority
from .results import ActionResult, id_batches, user_or_none


def retry_jobs(jobs: Any, *, by: Any = None) -> ActionResult:
    """Queue failed or cancelled jobs again now, and start waiting jobs now.

    A failed or cancelled job keeps its row and its attempts; it gets as many attempts
    again as it had (``max_attempts`` grows by its old value), so run numbers never
    repeat. Its dead letter is marked replayed by this job. Running and succeeded jobs,
    runnable ones, and jobs with a unique key (their key may be held by a newer job;
    replay the dead letter instead) are not eligible.
    """
    alias = router.db_for_write(Job)
    total = ActionResult()
    for batch in id_batches(Job, jobs):
        with transaction.atomic(using=alias):
            now = timezone.now()
            rows = Job.objects.using(alias).select_for_update().filter(pk__in=batch)
            finished = rows.filter(
                status__in=[JobStatus.FAILED, JobStatus.CANCELLED], unique_key__isnull=True
            )
            finished_ids = list(finished.values_list("pk", flat=True))
            finished.update(
                status=JobStatus.QUEUED,
                run_after=now,
                finished_at=None,
                stalls=0,
                max_attempts=F("attempts") + F("max_attempts"),
            )
            DeadLetter.objects.using(alias).filter(
                job_id__in=finished_ids, replayed_at__isnull=True
            ).update(replayed_at=now, replayed_by=user_or_none(by), replayed_job_id=F("job_id"))
            later = rows.filter(status=JobStatus.QUEUED, run_after__gt=now)
            later_ids = list(later.values_list("pk", flat=True))
            later.update(run_after=now)
            changed = finished_ids + later_ids
            total += ActionResult(len(changed), len(batch) - len(changed), tuple(changed))
    return total


def cancel_jobs(jobs: Any, *, by: Any = None) -> ActionResult:
    """Cancel queued jobs at once, and ask the workers of running jobs to stop them.

    A queued job becomes ``cancelled`` and never runs. A running job gets
    ``cancel_requested_at``: the supervisor of the worker that runs it stops it within
    about a second or two, its attempt ends ``cancelled`` and so does the job. Finished
    jobs, and running jobs already asked to stop, are not eligible.
    """
    alias = router.db_for_write(Job)
    total = ActionResult()
    for batch in id_batches(Job, jobs):
        with transaction.atomic(using=alias):
            now = timezone.now()
            rows = Job.objects.using(alias).select_for_update(skip_locked=True)
            queued = rows.filter(pk__in=batch, status=JobStatus.QUEUED)
            ids = list(queued.values_list("pk", flat=True))
            Job.objects.using(alias).filter(pk__in=ids, status=JobStatus.QUEUED).update(
                status=JobStatus.CANCELLED, finished_at=now, reason="cancelled"
            )
            running = Job.objects.using(alias).filter(
                pk__in=batch, status=JobStatus.RUNNING, cancel_requested_at__isnull=True
            )
            running_ids = list(running.values_list("pk", flat=True))
            # No row lock: the worker's fenced writes and this single UPDATE never conflict.
            Job.objects.using(alias).filter(
                pk__in=running_ids, status=JobStatus.RUNNING, cancel_requested_at__isnull=True
            ).update(cancel_requested_at=now)
            changed = ids + running_ids
            total += ActionResult(len(changed), len(batch) - len(changed), tuple(changed))
    return total


def change_priority(jobs: Any, priority: int, *, by: Any = None) -> ActionResult:
    """Set the priority of queued jobs (-100..100); other jobs are not eligible."""
    priority = validate_priority(priority)
    alias = router.db_for_write(Job)
    total = ActionResult()
    for batch in id_batches(Job, jobs):
        with transaction.atomic(using=alias):
            queued = Job.objects.using(alias).filter(pk__in=batch, status=JobStatus.QUEUED)
            ids = list(queued.select_for_update().values_list("pk", flat=True))
            # aged_at is cleared: the new priority is a person's choice, aging starts over.
            Job.objects.using(alias).filter(pk__in=ids).update(priority=priority, aged_at=None)
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total
