"""The mixed workload the page and the ``demo`` command enqueue, and what each job should end as."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from django_resilient_queue.models import Job, JobStatus

from . import jobs

# How many jobs of each task one workload holds, in the order they are enqueued.
WORKLOAD: Mapping[str, int] = {"quick": 20, "slow": 3, "flaky": 3, "failing": 2}

# The final state each task must reach, in the words of ``describe_outcome``.
EXPECTED: Mapping[str, str] = {
    "quick": "succeeded",
    "slow": "succeeded",
    "flaky": "succeeded on attempt 2",
    "failing": "failed + dead letter",
}

TASK_PREFIX = f"{jobs.__name__}."


def enqueue_workload(counts: Mapping[str, int] = WORKLOAD) -> list[Job]:
    """Enqueue the mixed workload in one transaction and return its jobs."""
    # One transaction: a failure half-way leaves no job behind, and the workers are
    # woken only once every job is committed.
    with transaction.atomic():
        created = [jobs.quick.enqueue(n) for n in range(counts.get("quick", 0))]
        created += [jobs.slow.enqueue(2.0) for _ in range(counts.get("slow", 0))]
        created += [jobs.flaky.enqueue(f"payments-api-{n}") for n in range(counts.get("flaky", 0))]
        created += [jobs.failing.enqueue(f"ORD-{n:04d}") for n in range(counts.get("failing", 0))]
    return created


def short_name(task: str) -> str:
    """Return the function name of a demo task (``demo.jobs.quick`` -> ``quick``)."""
    return task.removeprefix(TASK_PREFIX)


def describe_outcome(job: Job, *, has_dead_letter: bool) -> str:
    """Return where ``job`` ended, in the words ``EXPECTED`` uses."""
    if job.status == JobStatus.SUCCEEDED:
        return "succeeded" if job.attempts <= 1 else f"succeeded on attempt {job.attempts}"
    if job.status == JobStatus.FAILED:
        return "failed + dead letter" if has_dead_letter else "failed, no dead letter"
    return str(job.status)
