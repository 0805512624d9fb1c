"""Retention: delete finished jobs past their status's number of days, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Job, QueueSample, ScheduleTick

BATCH = 1000
# The dashboard draws at most a day: samples are kept two.
SAMPLE_RETENTION = timedelta(days=2)


def prune_finished_jobs(
    days_by_status: Mapping[str, int], *, dry_run: bool = False
) -> dict[str, int]:
    """Delete finished jobs older than their retention (dead letters keep their copy)."""
    now = timezone.now()
    counts: dict[str, int] = {}
    for status, days in days_by_status.items():
        old = Job.objects.filter(status=status, finished_at__lt=now - timedelta(days=days))
        if dry_run:
            counts[status] = old.count()
            continue
        deleted = 0
        while True:
            ids = list(old.values_list("pk", flat=True)[:BATCH])
            if not ids:
                break
            with transaction.atomic():
                Job.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
        counts[status] = deleted
    return counts


def prune_schedule_ticks(older_than: timedelta, *, dry_run: bool = False) -> int:
    """Delete the tick rows of schedules older than ``older_than``, in batches.

    Only ticks before their schedule's next run: the scheduler never goes back past it,
    so a deleted tick can never be enqueued again. ``older_than`` is the longest job
    retention, so that ``context.scheduled_at`` stays readable while a tick's job exists.
    """
    old = ScheduleTick.objects.filter(tick_at__lt=timezone.now() - older_than).filter(
        tick_at__lt=F("schedule__next_run_at")
    )
    if dry_run:
        return old.count()
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[: BATCH * 5]):
        ScheduleTick.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def prune_queue_samples(older_than: timedelta = SAMPLE_RETENTION, *, dry_run: bool = False) -> int:
    """Delete the dashboard's queue samples older than ``older_than``, in batches."""
    old = QueueSample.objects.filter(taken_at__lt=timezone.now() - older_than)
    if dry_run:
        return old.count()
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[: BATCH * 5]):
        QueueSample.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
