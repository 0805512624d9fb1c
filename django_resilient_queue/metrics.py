"""Prometheus metrics read from the database at scrape time (no per-process registries)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .models import (
    Alert,
    Attempt,
    AttemptOutcome,
    BreakerState,
    CircuitBreaker,
    DeadLetter,
    Job,
    JobStatus,
    Worker,
)

PREFIX = "resilient_queue_"
BREAKER_VALUES: dict[str, int] = {
    BreakerState.CLOSED: 0,
    BreakerState.HALF_OPEN: 1,
    BreakerState.OPEN: 2,
}
# Upper bounds (seconds) of the job duration histogram: from a no-op to a long batch job.
DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class QueueCollector(Collector):
    """Yield every family from a handful of aggregate queries."""

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def collect(self) -> Iterator[Metric]:
        """Read the aggregates now and yield the metric families."""
        yield from self._queues()
        yield from self._attempts()
        yield from self._others()

    def _queues(self) -> Iterator[Metric]:
        now = timezone.now()
        jobs = Job.objects.using(self.using)
        depth = GaugeMetricFamily(
            PREFIX + "queue_depth", "Jobs that may start now, per queue.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            PREFIX + "oldest_job_age_seconds",
            "Age of the oldest runnable job, per queue.",
            labels=["queue"],
        )
        for row in jobs.runnable(now).values("queue").annotate(n=Count("id"), o=Min("run_after")):
            depth.add_metric([row["queue"]], row["n"])
            oldest.add_metric([row["queue"]], max(0.0, (now - row["o"]).total_seconds()))
        by_status = GaugeMetricFamily(
            PREFIX + "jobs", "Jobs in the table, per queue and status.", labels=["queue", "status"]
        )
        for status_row in jobs.values("queue", "status").annotate(n=Count("id")).order_by():
            by_status.add_metric([status_row["queue"], status_row["status"]], status_row["n"])
        longest = GaugeMetricFamily(
            PREFIX + "longest_running_job_seconds",
            "Runtime of the longest-running job, per queue (a hung-job signal).",
            labels=["queue"],
        )
        running = jobs.filter(status=JobStatus.RUNNING, started_at__isnull=False)
        for run_row in running.values("queue").annotate(s=Min("started_at")).order_by():
            longest.add_metric([run_row["queue"]], max(0.0, (now - run_row["s"]).total_seconds()))
        yield from (depth, oldest, by_status, longest)

    def _attempts(self) -> Iterator[Metric]:
        attempts = Attempt.objects.using(self.using)
        total = CounterMetricFamily(
            PREFIX + "attempts",
            "Attempts kept in the table, per task and outcome.",
            labels=["task", "outcome"],
        )
        for row in attempts.values("job__task", "outcome").annotate(n=Count("id")).order_by():
            total.add_metric([row["job__task"], row["outcome"]], row["n"])
        yield total
        yield self._durations(attempts)

    def _durations(self, attempts: Any) -> Metric:

        duration = ExpressionWrapper(
            F("finished_at") - F("started_at"), output_field=DurationField()
        )
        finished = attempts.filter(
            outcome__in=[AttemptOutcome.SUCCEEDED, AttemptOutcome.FAILED, AttemptOutcome.TIMEOUT],
            started_at__isnull=False,
            finished_at__isnull=False,
        ).annotate(d=duration)
        buckets = {
            f"le{i}": Count("id", filter=Q(d__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(DURATION_BUCKETS)
        }
        family = HistogramMetricFamily(
            PREFIX + "job_duration_seconds",
            "Run time of finished attempts, per task.",
            labels=["task"],
        )
        rows = finished.values("job__task").annotate(n=Count("id"), total=Sum("d"), **buckets)
        for row in rows.order_by():
            counts = [(str(b), float(row[f"le{i}"])) for i, b in enumerate(DURATION_BUCKETS)]
            counts.append(("+Inf", float(row["n"])))
            total = row["total"]
            seconds = total.total_seconds() if hasattr(total, "total_seconds") else 0.0
            family.add_metric([row["job__task"]], counts, seconds)
        return family

    def _others(self) -> Iterator[Metric]:
        letters = GaugeMetricFamily(
            PREFIX + "dead_letters", "Dead letters kept, per task.", labels=["task"]
        )
        dead = DeadLetter.objects.using(self.using).values("task").annotate(n=Count("id"))
        for row in dead.order_by():
            letters.add_metric([row["task"]], row["n"])
        breakers = GaugeMetricFamily(
            PREFIX + "breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            labels=["key"],
        )
        for key, state in CircuitBreaker.objects.using(self.using).values_list("key", "state"):
            breakers.add_metric([key], BREAKER_VALUES.get(state, 0))
        workers = GaugeMetricFamily(
            PREFIX + "workers", "Worker processes, per state.", labels=["state"]
        )
        per_state = Worker.objects.using(self.using).values("state").annotate(n=Count("id"))
        for state_row in per_state.order_by():
            workers.add_metric([state_row["state"]], state_row["n"])
        alerts = GaugeMetricFamily(
            PREFIX + "alerts_active",
            "Unresolved alerts, per kind and severity.",
            labels=["kind", "severity"],
        )
        active = Alert.objects.using(self.using).filter(resolved_at__isnull=True)
        for alert_row in active.values("kind", "severity").annotate(n=Count("id")).order_by():
            alerts.add_metric([alert_row["kind"], alert_row["severity"]], alert_row["n"])
        rss = GaugeMetricFamily(
            PREFIX + "worker_max_rss_bytes", "Largest RSS of a running worker process."
        )
        biggest = (
            Worker.objects.using(self.using).filter(state="running").aggregate(m=Max("rss_bytes"))
        )
        rss.add_metric([], biggest["m"] or 0)
        yield from (letters, breakers, workers, alerts, rss)


def render_metrics(using: str = "default") -> bytes:
    """Return the Prometheus text exposition of every family."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(using))
    return generate_latest(registry)
