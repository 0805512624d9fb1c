"""Batching: claim up to ``batch_size`` jobs of a task together and call it once.

A batch task is ready when ``batch_size`` jobs of it are runnable, or when its oldest
runnable job has waited ``batch_wait`` seconds; until then the normal claim skips it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Min

from .. import registry
from ..models import Job


def batch_readiness(queues: list[str], now: datetime) -> tuple[list[str], list[str]]:
    """Return (ready batch tasks, batch tasks to skip for now)."""
    definitions = registry.batch_definitions()
    if not definitions:
        return [], []
    counts = {
        row["task"]: (row["n"], row["oldest"])
        for row in Job.objects.runnable(now)
        .in_queues(queues)
        .filter(task__in=list(definitions), solo=False)
        .values("task")
        .annotate(n=Count("id"), oldest=Min("run_after"))
    }
    ready: list[str] = []
    waiting: list[str] = []
    for name, definition in definitions.items():
        if name not in counts:
            continue
        count, oldest = counts[name]
        size = definition.batch_size or 1
        if count >= size or oldest <= now - timedelta(seconds=definition.batch_wait):
            ready.append(name)
        else:
            waiting.append(name)
    return ready, waiting


def batch_arguments(jobs: list[Job]) -> list[object]:
    """Return the list the batch function receives: each job's single argument."""
    return [job.args[0] if job.args else None for job in jobs]
