"""The benchmark's tasks for Django's Tasks framework."""

from __future__ import annotations

from django.tasks import task
from harness.common import record_start


@task
def noop() -> None:
    """Does nothing: the measurement is the queue's own cost."""


@task
def record(t_enqueue: float) -> None:
    """Latency probe: write down when it started."""
    record_start(t_enqueue)
