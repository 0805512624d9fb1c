"""The supervisor's periodic work, shared through the database (any number may run it):
renew the leases of its children's jobs, take back expired leases, age priorities,
mark silent workers lost, and evaluate the alert rules (one holder at a time)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from ..alerts.evaluator import INTERVAL as EVALUATOR_INTERVAL
from ..alerts.evaluator import AlertEvaluator
from ..db.clock import DatabaseNow
from ..models import Worker, WorkerState
from ..protection.aging import age_priorities, aging_settings
from ..services.retention import prune_queue_samples
from .config import WorkerConfig
from .dbretry import CONNECTION_ERRORS, OutageTracker, drop_connections
from .expiry import expire_queued_jobs
from .heartbeat import renew_leases
from .reaper import reap_expired_leases
from .sampling import EVERY as SAMPLE_EVERY
from .sampling import take_samples

logger = logging.getLogger("django_resilient_queue.supervisor")


@dataclass
class Periodic:
    """A task and when it is next due."""

    every: float
    run: Callable[[], object]
    due: float = 0.0


@dataclass
class Housekeeping:
    """Runs each periodic task when due; a database error skips the tick, never the loop."""

    config: WorkerConfig
    running_runs: Callable[[], list[tuple[int, int]]]
    tracker: OutageTracker
    tasks: list[Periodic] = field(default_factory=list)

    def __post_init__(self) -> None:
        lease = self.config.lease_seconds
        interval, _ = aging_settings()
        self.tasks = [
            # The supervisor renews its children's leases too: a job that holds the GIL
            # in a long C call silences its child's heartbeat thread, not this process.
            Periodic(self.config.heartbeat_seconds, self._renew_children_leases),
            Periodic(max(0.5, min(5.0, lease / 4)), reap_expired_leases),
            Periodic(max(0.5, min(30.0, interval / 4)), lambda: age_priorities(timezone.now())),
            Periodic(max(5.0, lease), self._mark_lost_workers),
            Periodic(30.0, expire_queued_jobs),  # the claim ends the rest (worker/expiry.py)
            Periodic(SAMPLE_EVERY, take_samples),  # the admin dashboard's history
            Periodic(600.0, prune_queue_samples),
            Periodic(EVALUATOR_INTERVAL, AlertEvaluator().tick),  # one holder of its lease
        ]

    def tick(self) -> None:
        """Run the tasks that are due."""
        now = time.monotonic()
        for task in self.tasks:
            if now < task.due:
                continue
            task.due = now + task.every
            try:
                task.run()
                self.tracker.back()
            except CONNECTION_ERRORS:
                self.tracker.lost()
                drop_connections()
                return
            except Exception:
                logger.exception("housekeeping task failed")

    def _renew_children_leases(self) -> None:
        renew_leases(self.running_runs(), self.config.lease_seconds)

    def _mark_lost_workers(self) -> None:
        # On the database's clock, like the heartbeats it judges.
        silent_since = DatabaseNow() - timedelta(
            seconds=max(self.config.lease_seconds, 3 * self.config.heartbeat_seconds)
        )
        lost = Worker.objects.filter(
            state=WorkerState.RUNNING, last_heartbeat_at__lt=silent_since
        ).update(state=WorkerState.LOST, stopped_at=timezone.now())
        if lost:
            logger.warning("marked %s silent workers lost", lost)


def mark_worker_gone(pid: int | None, state: str) -> None:
    """Record that this supervisor's child ``pid`` is gone (stopped or lost)."""
    if pid is None:
        return
    Worker.objects.filter(pid=pid, supervisor_pid=os.getpid(), state=WorkerState.RUNNING).update(
        state=state, stopped_at=timezone.now(), current_jobs=[]
    )
