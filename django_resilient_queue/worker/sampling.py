"""Queue samples for the admin dashboard: per queue, every few seconds, one row.

One supervisor at a time takes them (a Lease decides which; any may take over when the
holder goes away); the supervisor's housekeeping and ``prunejobs`` delete old ones
(``services.retention.prune_queue_samples``). A sample counts the queue's queued,
runnable and running jobs from the claim's own partial indexes, and carries running
totals of succeeded and failed jobs: each sample adds only the jobs finished since the
previous one, read from the (status, finished_at) index, so no sample ever counts the
job history.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import Job, JobStatus, Lease, QueueSample
from ..services.stats import live_figures

EVERY = 5.0
LEASE = "queue-sampler"


def holder() -> str:
    """This supervisor's name as a lease holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


def hold_lease(name: str, seconds: float, now: datetime) -> bool:
    """Take or renew the lease ``name`` for ``seconds``; False while someone else holds it."""
    me = holder()
    until = now + timedelta(seconds=seconds)
    free_or_mine = Q(expires_at__lt=now) | Q(holder=me)
    if Lease.objects.filter(free_or_mine, name=name).update(holder=me, expires_at=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=me, expires_at=until)
    except IntegrityError:
        return False  # held by another supervisor
    return True


def take_samples(now: datetime | None = None) -> int:
    """Write one QueueSample per queue that has jobs or had some; return how many."""
    now = now or timezone.now()
    if not hold_lease(LEASE, 3 * EVERY, now):
        return 0
    figures = live_figures(now)
    previous = _latest_samples()
    since = max((s.taken_at for s in previous.values()), default=now - timedelta(seconds=EVERY))
    finished = (
        Job.objects.filter(
            status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED],
            finished_at__gt=since,
            finished_at__lte=now,
        )
        .values("queue", "status")
        .annotate(n=Count("pk"))
    )
    done: dict[tuple[str, str], int] = {(r["queue"], r["status"]): r["n"] for r in finished}
    rows = []
    for queue in sorted({*figures, *previous, *(q for q, _ in done)}):
        last = previous.get(queue)
        row: dict[str, Any] = figures.get(queue, {})
        rows.append(
            QueueSample(
                taken_at=now,
                queue=queue,
                queued=row.get("queued", 0),
                runnable=row.get("runnable", 0),
                running=row.get("running", 0),
                succeeded_total=(last.succeeded_total if last else 0)
                + done.get((queue, JobStatus.SUCCEEDED), 0),
                failed_total=(last.failed_total if last else 0)
                + done.get((queue, JobStatus.FAILED), 0),
            )
        )
    QueueSample.objects.bulk_create(rows)
    return len(rows)


def _latest_samples() -> dict[str, QueueSample]:
    """The latest sample of each queue sampled in the last few minutes."""
    latest = QueueSample.objects.order_by("-taken_at").values_list("taken_at", flat=True).first()
    if latest is None or latest < timezone.now() - timedelta(minutes=10):
        return {}
    return {s.queue: s for s in QueueSample.objects.filter(taken_at=latest)}
