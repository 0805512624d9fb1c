"""A child's heartbeat: renew the leases of its running jobs and report on its Worker row."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import reduce
from operator import or_

import psutil
from django.db.models import Q

from ..db.clock import DatabaseNow, database_now_plus
from ..models import Job, JobStatus, Worker
from .dbretry import CONNECTION_ERRORS, OutageTracker, drop_connections

logger = logging.getLogger("django_resilient_queue.worker")


def keep_owned(running: list[tuple[int, int]], lease_seconds: float) -> set[tuple[int, int]]:
    """Renew the runs among ``running`` whose lease is still held; return those.

    One statement when all are (the common case); a run whose lease expired is not
    renewed, even if nobody took it back yet: its owner must not start it any more.
    """
    if not running:
        return set()
    owned = reduce(or_, (Q(pk=job_id, run=run) for job_id, run in running))
    held = Job.objects.filter(owned, status=JobStatus.RUNNING, lease_expires_at__gt=DatabaseNow())
    if held.update(lease_expires_at=database_now_plus(lease_seconds)) == len(running):
        return set(running)
    fresh = Job.objects.filter(
        owned, status=JobStatus.RUNNING, lease_expires_at__gt=database_now_plus(lease_seconds / 2)
    )
    return {(int(pk), int(run)) for pk, run in fresh.values_list("pk", "run")}


def renew_leases(running: list[tuple[int, int]], lease_seconds: float) -> int:
    """Push back the lease of every run (job id, run) that is still running."""
    if not running:
        return 0
    owned = reduce(or_, (Q(pk=job_id, run=run) for job_id, run in running))
    return Job.objects.filter(owned, status=JobStatus.RUNNING).update(
        lease_expires_at=database_now_plus(lease_seconds)  # the server's clock, not ours
    )


class Heartbeat(threading.Thread):
    """Every ``interval`` seconds: renew leases, write the Worker row, call ``on_beat``."""

    def __init__(
        self,
        *,
        worker_id: int,
        interval: float,
        lease_seconds: float,
        running: Callable[[], list[tuple[int, int]]],
        claimed_ahead: Callable[[], list[int]] = list,
        counters: Callable[[], tuple[int, int]],
        on_beat: Callable[[bool, float], None],
        stop: threading.Event,
        tracker: OutageTracker,
    ) -> None:
        super().__init__(name="resilient-queue-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.interval = interval
        self.lease_seconds = lease_seconds
        self.running = running
        self.claimed_ahead = claimed_ahead
        self.counters = counters
        self.on_beat = on_beat
        self.stop = stop
        self.tracker = tracker
        self.process = psutil.Process(os.getpid())
        self.process.cpu_percent()  # the first reading is always 0.0; prime it

    def beat(self) -> None:
        """Renew leases and report once."""
        running = self.running()
        # Read second: a unit that starts between the two reads is reported started (the
        # safe side: the reaper charges a stall to a run that may have begun).
        waiting = set(self.claimed_ahead())
        renew_leases(running, self.lease_seconds)
        processed, failed = self.counters()
        rss = self.process.memory_info().rss
        Worker.objects.filter(pk=self.worker_id).update(
            last_heartbeat_at=DatabaseNow(),
            rss_bytes=rss,
            cpu_percent=self.process.cpu_percent(),
            processed=processed,
            failed=failed,
            current_jobs=[job_id for job_id, _ in running if job_id not in waiting],
            claimed_ahead=[job_id for job_id, _ in running if job_id in waiting],
        )
        stop_requested = Worker.objects.filter(pk=self.worker_id, stop_requested=True).exists()
        self.on_beat(stop_requested, rss / (1024 * 1024))

    def run(self) -> None:
        """Beat until ``stop`` is set; a failed beat is retried at the next interval."""
        while not self.stop.wait(self.interval):
            try:
                self.beat()
                self.tracker.back()
            except CONNECTION_ERRORS:
                self.tracker.lost()
                drop_connections()
            except Exception:
                logger.exception("heartbeat failed")
        drop_connections()
