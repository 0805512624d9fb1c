"""Run jobs in-process through the real claim, executor and outcome writer (no processes)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import Job, JobStatus, Worker
from django_resilient_queue.worker.executor import execute
from django_resilient_queue.worker.outcomes import apply_outcome


def run_next() -> Job | None:
    """Claim the next runnable job, run it, write its outcome; return it reloaded."""
    worker = Worker.objects.get_or_create(name="in-process", defaults={"hostname": "h", "pid": 1})[
        0
    ]
    claimed = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    if not claimed:
        return None
    job = claimed[0]
    apply_outcome(job, execute(job, deadline=timezone.now().timestamp() + (job.timeout or 30)))
    return Job.objects.get(pk=job.pk)


def run_until_final(job: Job, max_runs: int = 20) -> tuple[Job, list[float]]:
    """Run ``job`` again and again (skipping its retry delays) until it is finished.

    Return the final row and the retry delays that were scheduled, in seconds.
    """
    delays: list[float] = []
    for _ in range(max_runs):
        row = Job.objects.get(pk=job.pk)
        if row.is_finished:
            return row, delays
        if row.status == JobStatus.QUEUED and row.run_after > timezone.now():
            delays.append((row.run_after - timezone.now()).total_seconds())
            Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        run_next()
    raise AssertionError(f"job {job.pk} did not finish in {max_runs} runs")
