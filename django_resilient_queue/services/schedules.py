"""Schedule verbs: enqueue one tick exactly once; enable, disable, run now."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from .. import registry
from ..cron import Cron, CronError
from ..exceptions import QueueFull
from ..models import Schedule, ScheduleTick
from .results import ActionResult, id_batches

if TYPE_CHECKING:
    from ..models import Job

logger = logging.getLogger("django_resilient_queue.scheduler")


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """Return the schedule's first tick after ``after``, or None when its cron cannot be used."""
    try:
        return Cron(schedule.cron, schedule.timezone).next_after(after)
    except CronError:
        return None


def _enqueue(schedule: Schedule, tick_at: datetime, alias: str) -> Job | None:
    """Enqueue the tick's job in a savepoint; None (logged) when it cannot be enqueued."""
    if not registry.is_registered(schedule.task):
        logger.error("schedule %s: task %s is not a registered @job", schedule.name, schedule.task)
        return None
    if not isinstance(schedule.args, list) or not isinstance(schedule.kwargs, dict):
        logger.error("schedule %s: args must be a list and kwargs a dict", schedule.name)
        return None
    definition = registry.lookup(schedule.task).using(
        queue=schedule.queue or None, priority=schedule.priority, run_after=tick_at
    )
    try:
        with transaction.atomic(using=alias):
            return definition.enqueue(*schedule.args, **schedule.kwargs)
    except (QueueFull, TypeError, ValueError) as exc:
        logger.error("schedule %s tick %s not enqueued: %s", schedule.name, tick_at, exc)
        return None


def record_tick(schedule: Schedule, tick_at: datetime) -> bool:
    """Enqueue the job of one tick and record the tick, in one transaction.

    The UNIQUE (schedule, tick_at) row makes this happen once however many workers
    try: a peer that got there first makes the insert fail, and False is returned.
    The Job's ``run_after`` is ``tick_at``. A tick whose job cannot be enqueued (an
    unknown task, a full queue) is still recorded, with no job, and logged.
    """
    alias = router.db_for_write(Schedule)
    try:
        with transaction.atomic(using=alias):
            # Contenders queue on the schedule row, then the first one's tick row makes
            # the others fail at once, before they write a job. Without this lock,
            # MariaDB deadlocks: each loser's tick insert holds a shared lock on the
            # schedule row (its foreign key check) that the winner's update then needs.
            # (SQLite has no row locks and must write first: its write lock is the queue.)
            if connections[alias].features.has_select_for_update:
                rows = Schedule.objects.using(alias).select_for_update().filter(pk=schedule.pk)
                list(rows.values_list("pk"))
            tick = ScheduleTick.objects.using(alias).create(schedule=schedule, tick_at=tick_at)
            job = _enqueue(schedule, tick_at, alias)
            if job is not None:
                ScheduleTick.objects.using(alias).filter(pk=tick.pk).update(job=job)
            Schedule.objects.using(alias).filter(
                Q(last_run_at__lt=tick_at) | Q(last_run_at__isnull=True), pk=schedule.pk
            ).update(last_run_at=tick_at)
    except IntegrityError:
        return False
    logger.info(
        "schedule %s tick %s enqueued job=%s", schedule.name, tick_at.isoformat(), job and job.pk
    )
    return True


def advance(schedule: Schedule, next_run_at: datetime | None) -> None:
    """Move the schedule's next run forward (never back: a peer may be further along)."""
    rows = Schedule.objects.filter(pk=schedule.pk)
    if next_run_at is not None:
        rows = rows.filter(Q(next_run_at__lt=next_run_at) | Q(next_run_at__isnull=True))
    rows.update(next_run_at=next_run_at)


def enable_schedules(schedules: Any, *, by: Any = None) -> ActionResult:
    """Enable the selected schedules from their next tick on; enabled ones are not eligible.

    Ticks missed while a schedule was disabled are not caught up.
    """
    alias = router.db_for_write(Schedule)
    total = ActionResult()
    now = timezone.now()
    for batch in id_batches(Schedule, schedules):
        with transaction.atomic(using=alias):
            rows = Schedule.objects.using(alias).filter(pk__in=batch, enabled=False)
            changed = list(rows.select_for_update())
            for schedule in changed:
                schedule.enabled = True
                schedule.next_run_at = next_run(schedule, now)
                schedule.save(update_fields=["enabled", "next_run_at"])
            ids = tuple(s.pk for s in changed)
            total += ActionResult(len(ids), len(batch) - len(ids), ids)
    return total


def disable_schedules(schedules: Any, *, by: Any = None) -> ActionResult:
    """Disable the selected schedules (no next run); disabled ones are not eligible."""
    alias = router.db_for_write(Schedule)
    total = ActionResult()
    for batch in id_batches(Schedule, schedules):
        with transaction.atomic(using=alias):
            rows = Schedule.objects.using(alias).filter(pk__in=batch, enabled=True)
            ids = list(rows.select_for_update().values_list("pk", flat=True))
            Schedule.objects.using(alias).filter(pk__in=ids).update(enabled=False, next_run_at=None)
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total


def run_schedules_now(schedules: Any, *, by: Any = None) -> ActionResult:
    """Enqueue one job per selected schedule now, recorded as a tick at this instant.

    It sets ``last_run_at`` and leaves the next run where it was. A schedule whose
    task is not a registered ``@job`` is not eligible (nothing is written for it).
    """
    total = ActionResult()
    for batch in id_batches(Schedule, schedules):
        made: list[int] = []
        for schedule in Schedule.objects.filter(pk__in=batch).order_by("pk"):
            if registry.is_registered(schedule.task) and record_tick(schedule, timezone.now()):
                made.append(schedule.pk)
        total += ActionResult(len(made), len(batch) - len(made), tuple(made))
    return total
