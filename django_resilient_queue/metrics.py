"""Prometheus metrics read from the database at scrape time (no per-process registries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

from django.db.models import Count, Max, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .counters import (
    ATTEMPTS,
    DURATION_BUCKET,
    DURATION_BUCKETS,
    DURATION_SUM,
    INF,
    WAIT_BUCKET,
    WAIT_BUCKETS,
    WAIT_SUM,
)
from .models import (
    Alert,
    AlertDelivery,
    BreakerState,
    CircuitBreaker,
    Counter,
    DeadLetter,
    Job,
    JobStatus,
    Schedule,
    Worker,
)
from .snapshots import LIVE_STATUSES, finished_counts

PREFIX = "resilient_queue_"
BREAKER_VALUES: dict[str, int] = {
    BreakerState.CLOSED: 0,
    BreakerState.HALF_OPEN: 1,
    BreakerState.OPEN: 2,
}


class QueueCollector(Collector):
    """Yield every family from a handful of aggregate queries."""

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def collect(self) -> Iterator[Metric]:
        """Read the aggregates now and yield the metric families."""
        yield from self._queues()
        yield from self._attempts()
        yield from self._others()
        yield from self._schedules()

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
        finished = finished_counts(self.using)
        counted = jobs if finished is None else jobs.filter(status__in=LIVE_STATUSES)
        groups = {
            (r["queue"], r["status"]): r["n"]
            for r in counted.values("queue", "status").annotate(n=Count("id")).order_by()
        }
        groups.update(finished or {})
        for (queue, status), n in sorted(groups.items()):
            by_status.add_metric([queue, status], n)
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
        # Cumulative counters (``counters.py``): pruning Attempt rows never lowers them.
        rows = Counter.objects.using(self.using).filter(
            name__in=[ATTEMPTS, DURATION_BUCKET, DURATION_SUM, WAIT_BUCKET, WAIT_SUM]
        )
        values: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for name, task, label, value in rows.values_list("name", "task", "label", "value"):
            values[name][task][label] = value
        total = CounterMetricFamily(
            PREFIX + "attempts",
            "Attempts ended, per task and outcome (kept when rows are pruned).",
            labels=["task", "outcome"],
        )
        for task, outcomes in sorted(values[ATTEMPTS].items()):
            for outcome, n in sorted(outcomes.items()):
                total.add_metric([task, outcome], n)
        yield total
        yield _histogram(
            PREFIX + "job_duration_seconds",
            "Run time of finished attempts (succeeded, failed, timeout), per task.",
            "task",
            DURATION_BUCKETS,
            values[DURATION_BUCKET],
            values[DURATION_SUM],
        )
        yield _histogram(
            PREFIX + "queue_wait_seconds",
            "Time a runnable job waited before a worker started it, per queue.",
            "queue",
            WAIT_BUCKETS,
            values[WAIT_BUCKET],
            values[WAIT_SUM],
        )

    def _schedules(self) -> Iterator[Metric]:
        now = timezone.now()
        lag = GaugeMetricFamily(
            PREFIX + "schedule_lag_seconds",
            "Seconds the next tick of an enabled schedule is overdue (0 when on time).",
            labels=["schedule"],
        )
        last = GaugeMetricFamily(
            PREFIX + "schedule_last_run_timestamp_seconds",
            "When each schedule last ticked (Unix time).",
            labels=["schedule"],
        )
        rows = Schedule.objects.using(self.using).filter(enabled=True)
        for name, next_run, last_run in rows.values_list("name", "next_run_at", "last_run_at"):
            overdue = (now - next_run).total_seconds() if next_run else 0.0
            lag.add_metric([name], max(0.0, overdue))
            if last_run:
                last.add_metric([name], last_run.timestamp())
        deliveries = GaugeMetricFamily(
            PREFIX + "alert_deliveries",
            "Alert notifications in the outbox, per channel type and status.",
            labels=["channel_type", "status"],
        )
        per_status = (
            AlertDelivery.objects.using(self.using)
            .values("channel_type", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in per_status:
            deliveries.add_metric([row["channel_type"], row["status"]], row["n"])
        yield from (lag, last, deliveries)

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


def _histogram(
    name: str,
    documentation: str,
    label: str,
    bounds: tuple[float, ...],
    buckets: Mapping[str, Mapping[str, int]],
    sums: Mapping[str, Mapping[str, int]],
) -> Metric:
    """Build a histogram family from per-bucket counters (each counts its own interval)."""
    family = HistogramMetricFamily(name, documentation, labels=[label])
    for key, counts in sorted(buckets.items()):
        running = 0
        cumulative = []
        for bound in bounds:
            running += counts.get(str(bound), 0)
            cumulative.append((str(bound), float(running)))
        running += counts.get(INF, 0)
        cumulative.append((INF, float(running)))
        seconds = sums.get(key, {}).get("", 0) / 1_000_000
        family.add_metric([key], cumulative, seconds)
    return family
