"""Retention: delete finished jobs past their status's number of days, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone

from ..models import Job, QueueSample, ScheduleTick

BATCH = 1000
# The dashboard draws at most a day: samples are kept two.
SAMPLE_RETENTION = timedelta(days=2)


def delete_in_batches(old: QuerySet[Model], batch: int = BATCH, *, dry_run: bool = False) -> int:
    """Delete the rows of ``old`` ``batch`` at a time, each batch its own transaction (no
    long lock, no huge transaction); return how many (or, dry, how many would be)."""
    if dry_run:
        return old.count()
    model = old.model
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        with transaction.atomic(using=old.db):
            model._default_manager.using(old.db).filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def prune_finished_jobs(
    days_by_status: Mapping[str, int], *, dry_run: bool = False
) -> dict[str, int]:
    """Delete finished jobs older than their retention (dead letters keep their copy)."""
    now = timezone.now()
    counts: dict[str, int] = {}
    for status, days in days_by_status.items():
        old = Job.objects.filter(status=status, finished_at__lt=now - timedelta(days=days))
        counts[status] = delete_in_batches(old, dry_run=dry_run)
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
    return delete_in_batches(old, BATCH * 5, dry_run=dry_run)


def prune_queue_samples(older_than: timedelta = SAMPLE_RETENTION, *, dry_run: bool = False) -> int:
    """Delete the dashboard's queue samples older than ``older_than``, in batches."""
    old = QueueSample.objects.filter(taken_at__lt=timezone.now() - older_than)
    return delete_in_batches(old, BATCH * 5, dry_run=dry_run)
