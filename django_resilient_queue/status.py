"""One snapshot of the queue's state, shared by ``queuestatus``, health and metrics."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from . import conf
from .models import (
    Alert,
    CircuitBreaker,
    DeadLetter,
    Job,
    JobStatus,
    Schedule,
    Worker,
    WorkerState,
)


def collect_status() -> dict[str, Any]:
    """Return queues (depth, oldest age, running, finished), workers, breakers and alerts."""
    now = timezone.now()
    queues: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "runnable": 0,
            "scheduled": 0,
            "oldest_age_s": None,
            "running": 0,
            "succeeded": 0,
            "failed": 0,
            "cancelled": 0,
        }
    )
    for row in (
        Job.objects.runnable(now).values("queue").annotate(n=Count("id"), oldest=Min("run_after"))
    ):
        queues[row["queue"]]["runnable"] = row["n"]
        queues[row["queue"]]["oldest_age_s"] = round((now - row["oldest"]).total_seconds(), 1)
    for later in (
        Job.objects.queued().filter(run_after__gt=now).values("queue").annotate(n=Count("id"))
    ):
        queues[later["queue"]]["scheduled"] = later["n"]
    for other in (
        Job.objects.exclude(status=JobStatus.QUEUED)
        .values("queue", "status")
        .annotate(n=Count("id"))
    ):
        queues[other["queue"]][other["status"]] = other["n"]
    stale_after = now - timedelta(seconds=max(conf.lease_seconds(), 3 * conf.heartbeat_seconds()))
    live_workers = Worker.objects.filter(state=WorkerState.RUNNING)
    return {
        "time": now.isoformat(),
        "queues": [{"queue": name, **values} for name, values in sorted(queues.items())],
        "workers": {
            "live": live_workers.filter(last_heartbeat_at__gte=stale_after).count(),
            "stale": live_workers.filter(last_heartbeat_at__lt=stale_after).count(),
        },
        "dead_letters": DeadLetter.objects.count(),
        "dead_letters_unreplayed": DeadLetter.objects.filter(replayed_at__isnull=True).count(),
        "open_breakers": list(
            CircuitBreaker.objects.exclude(state="closed").values("key", "state", "opened_at")
        ),
        "active_alerts": list(
            Alert.objects.filter(resolved_at__isnull=True)
            .order_by("-last_seen_at")
            .values("kind", "severity", "message", "occurrences", "last_seen_at")
        ),
        "schedules": list(
            Schedule.objects.order_by("name").values(
                "name",
                "task",
                "cron",
                "timezone",
                "enabled",
                "catch_up",
                "source",
                "next_run_at",
                "last_run_at",
            )
        ),
    }
