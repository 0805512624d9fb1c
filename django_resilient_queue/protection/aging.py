"""Priority aging: a job that waited gains priority, up to HIGH, so low priority never starves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Least

from .. import conf
from ..models import Job, JobStatus
from ..priority import Priority

BATCH = 1000


def aging_settings() -> tuple[float, int]:
    """Return (interval seconds, step) from ``PRIORITY_AGING``."""
    value: Mapping[str, Any] = conf.get("PRIORITY_AGING") or {}
    return float(value.get("interval", 300)), int(value.get("step", 10))


def age_priorities(now: datetime, *, limit: int = BATCH) -> int:
    """Add ``step`` to jobs queued below HIGH that waited ``interval`` since they became
    runnable or last aged; capped at HIGH; at most ``limit`` rows per call."""
    interval, step = aging_settings()
    if step <= 0 or interval <= 0:
        return 0
    cutoff = now - timedelta(seconds=interval)
    # Only runnable jobs age: a retry waiting out its backoff is not starving.
    waited = Q(aged_at__lte=cutoff, run_after__lte=now) | Q(
        aged_at__isnull=True, run_after__lte=cutoff
    )
    ids = list(
        Job.objects.filter(waited, status=JobStatus.QUEUED, priority__lt=Priority.HIGH)
        .order_by("run_after")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    # The WHERE is re-checked by the UPDATE, so two supervisors never age a job twice.
    return Job.objects.filter(
        waited, pk__in=ids, status=JobStatus.QUEUED, priority__lt=Priority.HIGH
    ).update(
        priority=Least(F("priority") + step, Value(int(Priority.HIGH))),
        aged_at=Coalesce(Value(now), F("aged_at")),
    )
