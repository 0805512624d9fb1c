"""The supervisor's cron scheduler: enqueue each due tick, and say when the next one is due.

Any number of supervisors run it at once, with no leader: every one of them wakes
at the tick time and tries; the UNIQUE (schedule, tick_at) row lets exactly one
succeed (services.schedules.record_tick). It does not run jobs, and it does not
sync the declared schedules (runworkers does that once, at start).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.db.models import Min, Q
from django.utils import timezone

from ..cron import Cron, CronError, due_ticks
from ..models import Schedule
from ..services.schedules import advance, next_run, record_tick
from .dbretry import CONNECTION_ERRORS, OutageTracker, drop_connections

logger = logging.getLogger("django_resilient_queue.scheduler")

# The table is read again at least this often, to see schedules added, changed or
# enabled in the admin (and peers' progress) between two ticks.
REFRESH_SECONDS = 2.0
# After an error, wait this long before the next try (never a busy loop).
RETRY_SECONDS = 1.0


class Scheduler:
    """Enqueues due ticks; ``timeout()`` tells the supervisor how long it may sleep."""

    def __init__(self, tracker: OutageTracker, *, active: bool = True) -> None:
        self.tracker = tracker
        self.active = active  # runworkers --burst drains the queue and does not tick
        self.due_at = 0.0  # time.time() of the earliest next run (0: read the table)
        self.refresh_at = 0.0  # time.monotonic() of the next read regardless
        self.broken: set[int] = set()  # schedules whose cron was logged as unusable

    def timeout(self, cap: float) -> float:
        """Return how long the caller may sleep: ``cap`` at most, less when a tick is due."""
        if not self.active:
            return cap
        return max(0.0, min(cap, self.due_at - time.time()))

    def tick(self) -> None:
        """Enqueue the ticks due now, if any (and read the table when it is time to)."""
        if not self.active or (time.time() < self.due_at and time.monotonic() < self.refresh_at):
            return
        try:
            earliest = self.run_due(timezone.now())
            self.tracker.back()
        except CONNECTION_ERRORS:
            self.tracker.lost()
            drop_connections()
            earliest = None
            self.due_at = time.time() + RETRY_SECONDS
        except Exception:
            logger.exception("scheduler tick failed")
            earliest = None
            self.due_at = time.time() + RETRY_SECONDS
        else:
            self.due_at = earliest.timestamp() if earliest else time.time() + REFRESH_SECONDS
        self.refresh_at = time.monotonic() + REFRESH_SECONDS

    def run_due(self, now: datetime) -> datetime | None:
        """Enqueue every schedule's due ticks; return the earliest next run afterwards."""
        enabled = Schedule.objects.filter(enabled=True)
        for schedule in enabled.filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True)):
            self._run_schedule(schedule, now)
        earliest: datetime | None = enabled.aggregate(at=Min("next_run_at"))["at"]
        return earliest

    def _run_schedule(self, schedule: Schedule, now: datetime) -> None:
        try:
            cron = Cron(schedule.cron, schedule.timezone)
        except CronError as exc:
            if schedule.pk not in self.broken:
                logger.error("schedule %s cannot tick: %s", schedule.name, exc)
                self.broken.add(schedule.pk)
            if schedule.next_run_at is not None:
                advance(schedule, None)
            return
        self.broken.discard(schedule.pk)
        if schedule.next_run_at is None:
            # New in the admin, or just enabled: it starts at its next tick.
            advance(schedule, next_run(schedule, now))
            return
        catch_up = schedule.catch_up if schedule.catch_up in ("latest", "all", "none") else "latest"
        ticks = due_ticks(cron, schedule.next_run_at, now, catch_up)
        if not ticks or ticks[0] > schedule.next_run_at:
            logger.warning(
                "schedule %s: ticks from %s skipped (catch_up=%s)",
                schedule.name,
                schedule.next_run_at.isoformat(),
                catch_up,
            )
        for tick_at in ticks:
            record_tick(schedule, tick_at)
        advance(schedule, cron.next_after(now))
