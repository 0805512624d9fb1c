"""A periodic snapshot of finished-job row counts, so a scrape never scans the history.

Counting a million finished rows takes longer than a scrape may (see docs/performance.md).
The alert evaluator (one process across every runworkers) refreshes these counts every
``REFRESH_SECONDS`` into ``Counter`` rows; the collector reads them, and counts queued and
running jobs live (their indexes keep that cheap).
"""

from __future__ import annotations

import time

from django.db import router, transaction
from django.db.models import Count

from .models import Counter, Job, JobStatus

JOB_ROWS = "job_rows"  # task column: the queue; label: the status
TAKEN_AT = "job_rows_taken_at"  # value: Unix time of the snapshot
REFRESH_SECONDS = 30.0
# Older than this, the snapshot is ignored (no evaluator runs) and the collector counts live.
STALE_SECONDS = 300.0
LIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def refresh_job_counts(alias: str | None = None) -> int:
    """Replace the snapshot of finished rows per (queue, status); return the groups written."""
    alias = alias or router.db_for_write(Counter)
    rows = (
        Job.objects.using(alias)
        .exclude(status__in=LIVE_STATUSES)
        .values("queue", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = [
        Counter(name=JOB_ROWS, task=row["queue"], label=row["status"], value=row["n"])
        for row in rows
    ]
    with transaction.atomic(using=alias):
        Counter.objects.using(alias).filter(name__in=[JOB_ROWS, TAKEN_AT]).delete()
        Counter.objects.using(alias).bulk_create(
            [*counts, Counter(name=TAKEN_AT, task="", label="", value=int(time.time()))]
        )
    return len(counts)


def finished_counts(alias: str) -> dict[tuple[str, str], int] | None:
    """Return the snapshot's (queue, status) -> rows, or None when it is missing or stale."""
    rows = list(
        Counter.objects.using(alias)
        .filter(name__in=[JOB_ROWS, TAKEN_AT])
        .values_list("name", "task", "label", "value")
    )
    taken = [value for name, _, _, value in rows if name == TAKEN_AT]
    if not taken or time.time() - taken[0] > STALE_SECONDS:
        return None
    return {(task, label): value for name, task, label, value in rows if name == JOB_ROWS}
