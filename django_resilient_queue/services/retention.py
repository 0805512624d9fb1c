"""Retention: delete finished jobs past their status's number of days, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Job

BATCH = 1000


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
