"""Claim work for this worker: single jobs, and whole batches of batch tasks."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .. import registry
from ..db import Dialect
from ..models import Job
from ..protection.batching import batch_readiness
from .config import WorkerConfig
from .gates import GateKeeper
from .pausing import PausedQueues, exclude_paused


class Claimer:
    """Knows who claims (worker id), what (queues), for how long (lease), and the gates."""

    def __init__(self, dialect: Dialect, worker_id: int, config: WorkerConfig) -> None:
        self.dialect = dialect
        self.worker_id = worker_id
        self.config = config
        self.gates = GateKeeper()
        self.paused = PausedQueues()

    def claim(self, free_slots: int) -> list[list[Job]]:
        """Return units of work now marked running: ``[job]``, or a batch of one task's jobs."""
        now = timezone.now()
        if not GateKeeper.active():
            return [[job] for job in self._claim(free_slots, now)]
        queues = list(self.config.queues)
        units: list[list[Job]] = []
        ready, waiting = batch_readiness(queues, now)
        for task in ready:
            if free_slots == 0:
                break
            size = registry.lookup(task).batch_size or 1
            where = self.gates.exclusions(now).claim_filter(only_task=task)
            batch = self._claim(size, now, where=where, one_by_one=False)
            if batch:
                units.append(batch)
                free_slots -= 1
        if free_slots:
            skip = [*ready, *waiting]
            where = self.gates.exclusions(now, skip).claim_filter()
            units.extend(
                [job] for job in self._claim(free_slots, now, where=where, one_by_one=True)
            )
        return units

    def _claim(
        self, limit: int, now: datetime, one_by_one: bool = True, **options: object
    ) -> list[Job]:
        """Claim up to ``limit`` jobs; ``one_by_one``: units that run one after another (a
        batch runs all its jobs at once)."""
        # A single-threaded child runs the jobs it claimed ahead one after another: one
        # concurrency place per key covers them all.
        sequential = one_by_one and self.config.threads == 1
        options["where"] = exclude_paused(options.get("where"), self.paused.current())  # type: ignore[arg-type]

        def admit(jobs: list[Job], at: datetime) -> list[Job]:
            return self.gates.admit(jobs, at, sequential=sequential)

        return self.dialect.claim(
            worker_id=self.worker_id,
            queues=self.config.queues,
            limit=limit,
            lease_seconds=self.config.lease_seconds,
            now=now,
            admit=admit if GateKeeper.active() and self.gates.admission_needed() else None,
            **options,  # type: ignore[arg-type]
        )

    def runnable_left(self) -> bool:
        """True while a job that may start now is queued (held-back jobs do not count)."""
        now = timezone.now()
        runnable = Job.objects.runnable(now).in_queues(list(self.config.queues))
        if paused := self.paused.current():
            runnable = runnable.exclude(queue__in=paused)
        if GateKeeper.active():
            self.gates.invalidate()  # deciding to exit: no stale snapshot
            runnable = runnable.filter(self.gates.exclusions(now).q())
        return runnable.exists()

    def next_change(self) -> datetime | None:
        """When a held-back key may run again (an open breaker's reset, a rate window)."""
        if not GateKeeper.active():
            return None
        return self.gates.exclusions(timezone.now()).next_change
