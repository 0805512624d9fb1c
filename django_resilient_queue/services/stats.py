"""Read-only figures for the admin's lists and dashboard: estimates, known names, samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import Count, Max, Min, Model, Q
from django.db.models.functions import TruncMinute

from .. import conf, registry
from ..db.estimates import estimated_rows
from ..models import (
    Alert,
    AlertSeverity,
    BreakerState,
    CircuitBreaker,
    DeadLetter,
    Job,
    JobStatus,
    QueueSample,
    QueueState,
    Worker,
    WorkerState,
)


def estimated_count(model: type[Model]) -> int | None:
    """The database's own estimate of ``model``'s row count, or None where it has none."""
    alias = router.db_for_read(model)
    return estimated_rows(connections[alias], model._meta.db_table)


def known_queues() -> list[str]:
    """Every queue name the project knows of, without scanning the job table."""
    names = {conf.default_queue(), *(conf.get("QUEUES") or {})}
    for name in registry.registered_names():
        queue = registry.lookup(name).queue
        if queue:
            names.add(queue)
    names.update(QueueState.objects.values_list("name", flat=True))
    latest = QueueSample.objects.order_by("-taken_at").values_list("taken_at", flat=True).first()
    if latest is not None:
        names.update(QueueSample.objects.filter(taken_at=latest).values_list("queue", flat=True))
    return sorted(str(n) for n in names)


def recent_error_types(limit: int = 1000) -> list[str]:
    """The error types of the latest ``limit`` dead letters (a bounded read, not a DISTINCT)."""
    recent = DeadLetter.objects.order_by("-id").values_list("error_type", flat=True)[:limit]
    return sorted({t for t in recent if t})


@dataclass(frozen=True)
class QueueNow:
    """One queue as it is now."""

    name: str
    queued: int = 0
    runnable: int = 0
    running: int = 0
    oldest_runnable_age: float | None = None
    paused_at: datetime | None = None
    paused_by: str = ""


def live_figures(now: datetime) -> dict[str, dict[str, Any]]:
    """Per queue: queued, runnable and running jobs, and the oldest runnable's run_after.

    Two queries, one per status: each is answered from that status's partial claim or
    lease index (one query over both statuses would read the whole table instead).
    """
    figures: dict[str, dict[str, Any]] = {}
    queued = (
        Job.objects.filter(status=JobStatus.QUEUED)
        .values("queue")
        .annotate(
            queued=Count("pk"),
            runnable=Count("pk", filter=Q(run_after__lte=now)),
            oldest=Min("run_after", filter=Q(run_after__lte=now)),
        )
        .order_by()
    )
    for row in queued:
        figures[row["queue"]] = {**row, "running": 0}
    running = (
        Job.objects.filter(status=JobStatus.RUNNING)
        .values("queue")
        .annotate(running=Count("pk"))
        .order_by()
    )
    for held in running:
        figures.setdefault(held["queue"], {"queued": 0, "runnable": 0, "oldest": None})
        figures[held["queue"]]["running"] = held["running"]
    return figures


def queues_now(now: datetime) -> list[QueueNow]:
    """Every known queue's depth, running jobs, oldest runnable age and pause state."""
    rows = live_figures(now)
    states = {s.name: s for s in QueueState.objects.select_related("paused_by")}
    result = []
    for name in sorted({*known_queues(), *rows}):
        row: dict[str, Any] = rows.get(name, {})
        state = states.get(name)
        oldest = row.get("oldest")
        result.append(
            QueueNow(
                name=name,
                queued=row.get("queued", 0),
                runnable=row.get("runnable", 0),
                running=row.get("running", 0),
                oldest_runnable_age=(now - oldest).total_seconds() if oldest else None,
                paused_at=state.paused_at if state else None,
                paused_by=str(state.paused_by) if state and state.paused_by else "",
            )
        )
    return result


Points = list[tuple[datetime, float]]


def depth_history(since: datetime, until: datetime) -> dict[str, Points]:
    """Queued jobs per queue per minute (the largest sample of each minute)."""
    rows = (
        QueueSample.objects.filter(taken_at__gte=since, taken_at__lte=until)
        .annotate(minute=TruncMinute("taken_at"))
        .values("queue", "minute")
        .annotate(depth=Max("queued"))
        .order_by("queue", "minute")
    )
    series: dict[str, Points] = {}
    for row in rows:
        series.setdefault(row["queue"], []).append((row["minute"], float(row["depth"])))
    return series


def throughput_history(
    since: datetime, until: datetime, step_minutes: int = 1
) -> dict[str, Points]:
    """Jobs succeeded and failed per minute, from the samples' running totals.

    With ``step_minutes`` > 1 only the samples of every step-th minute are read: the
    totals only grow, so the difference between two of them is what finished in between,
    and the day's chart reads a tenth of the day's samples.
    """
    samples = QueueSample.objects.filter(
        taken_at__gte=since - timedelta(minutes=step_minutes), taken_at__lte=until
    )
    if step_minutes > 1:
        samples = samples.filter(taken_at__minute__in=range(0, 60, step_minutes))
    rows = (
        samples.annotate(minute=TruncMinute("taken_at"))
        .values("queue", "minute")
        .annotate(ok=Max("succeeded_total"), bad=Max("failed_total"))
        .order_by("queue", "minute")
    )
    per_minute: dict[datetime, list[float]] = {}
    last: dict[str, tuple[datetime, int, int]] = {}
    for row in rows:
        previous = last.get(row["queue"])
        last[row["queue"]] = (row["minute"], row["ok"], row["bad"])
        if previous is None:
            continue  # the first minute of a queue only sets its starting totals
        # A rate over the minutes that really passed: a sampler that stopped for a while
        # leaves a gap, not a spike. max(0, ...): totals restart from zero when the samples
        # were pruned or interrupted.
        minutes = max(1.0, (row["minute"] - previous[0]).total_seconds() / 60)
        slot = per_minute.setdefault(row["minute"], [0.0, 0.0])
        slot[0] += max(0, row["ok"] - previous[1]) / minutes
        slot[1] += max(0, row["bad"] - previous[2]) / minutes
    minutes_seen = sorted(m for m in per_minute if m >= since)
    return {
        "succeeded": [(m, per_minute[m][0]) for m in minutes_seen],
        "failed": [(m, per_minute[m][1]) for m in minutes_seen],
    }


@dataclass(frozen=True)
class TaskFailures:
    """A task's finished jobs in a window, and the share that failed."""

    task: str
    succeeded: int
    failed: int

    @property
    def rate(self) -> float:
        """Failed / finished, 0..1."""
        total = self.succeeded + self.failed
        return self.failed / total if total else 0.0


def failures_by_task(since: datetime, limit: int = 12) -> list[TaskFailures]:
    """Tasks by failure rate among the jobs that finished since ``since`` (at most ``limit``)."""
    rows = (
        Job.objects.filter(
            status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED], finished_at__gte=since
        )
        .values("task")
        .annotate(
            ok=Count("pk", filter=Q(status=JobStatus.SUCCEEDED)),
            bad=Count("pk", filter=Q(status=JobStatus.FAILED)),
        )
    )
    tasks = [TaskFailures(r["task"], r["ok"], r["bad"]) for r in rows]
    tasks.sort(key=lambda t: (-t.rate, -t.failed, t.task))
    return tasks[:limit]


def live_workers(now: datetime, limit: int = 50) -> list[Worker]:
    """Running and stopping workers, then those gone in the last hour."""
    recent = now - timedelta(hours=1)
    return list(
        Worker.objects.filter(
            Q(state__in=[WorkerState.RUNNING, WorkerState.STOPPING]) | Q(stopped_at__gte=recent)
        ).order_by("state", "-last_heartbeat_at")[:limit]
    )


def troubled_breakers(limit: int = 50) -> list[CircuitBreaker]:
    """Breakers that are not closed."""
    return list(CircuitBreaker.objects.exclude(state=BreakerState.CLOSED).order_by("key")[:limit])


SEVERITY_ORDER = {str(severity): severity.rank for severity in AlertSeverity}


def active_alerts(limit: int = 50) -> list[Alert]:
    """Unresolved alerts, the most severe first."""
    alerts = list(Alert.objects.filter(resolved_at__isnull=True).order_by("-last_seen_at")[:limit])
    alerts.sort(key=lambda a: SEVERITY_ORDER.get(a.severity, 9))
    return alerts
