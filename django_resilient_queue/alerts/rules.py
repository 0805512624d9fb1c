"""The conditions behind five alert kinds, each read from a few aggregate queries.

Each rule returns what fires now; ``evaluator`` raises those and resolves the rest. The
thresholds and windows come from ``ALERTS["RULES"]`` (``config.DEFAULT_RULES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q

from .. import conf
from ..counters import DURATION_BUCKET, DURATION_SUM
from ..models import (
    Attempt,
    AttemptOutcome,
    Counter,
    DeadLetter,
    Job,
    JobStatus,
    Worker,
    WorkerState,
)
from ..protection.backpressure import QueueLimits
from .config import MIN_ATTEMPTS_FOR_RATE, Rule

MB = 1024 * 1024
# A task needs this many finished runs before its mean run time is its "usual" time.
MIN_RUNS_FOR_MEAN = 5


@dataclass(frozen=True)
class Firing:
    """One alert a rule finds true now."""

    fingerprint: str
    message: str
    context: dict[str, Any] = field(default_factory=dict)


RuleFunc = Callable[[Rule, datetime, str], list[Firing]]


def queue_depth_high(rule: Rule, now: datetime, alias: str) -> list[Firing]:
    """Queues holding at least the threshold (or their backpressure level) of queued jobs."""
    rows = (
        Job.objects.using(alias)
        .filter(status=JobStatus.QUEUED)
        .values("queue")
        .annotate(n=Count("id"))
        .order_by()
    )
    firings = []
    for row in rows:
        limit = rule.threshold
        limits = QueueLimits.from_options(conf.queue_options(row["queue"]))
        if limits is not None:
            limit = min(limit, limits.max_depth * limits.backpressure_threshold)
        if row["n"] >= max(1.0, limit):
            firings.append(
                Firing(
                    f"QUEUE_DEPTH_HIGH:{row['queue']}",
                    f"Queue {row['queue']!r} holds {row['n']} queued jobs (alert at {limit:.0f}).",
                    {"queue": row["queue"], "depth": row["n"], "threshold": limit},
                )
            )
    return firings


def failure_rate_high(rule: Rule, now: datetime, alias: str) -> list[Firing]:
    """Tasks whose failed and timed-out share of finished attempts in the window is too high."""
    bad = [AttemptOutcome.FAILED, AttemptOutcome.TIMEOUT]
    rows = (
        Attempt.objects.using(alias)
        .filter(
            finished_at__gte=now - timedelta(seconds=rule.window),
            outcome__in=[AttemptOutcome.SUCCEEDED, *bad],
        )
        .values("job__task")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(outcome__in=bad)))
        .order_by()
    )
    firings = []
    for row in rows:
        if row["total"] < MIN_ATTEMPTS_FOR_RATE:
            continue
        rate = row["failed"] / row["total"]
        if rate >= rule.threshold and row["failed"]:
            task = row["job__task"]
            firings.append(
                Firing(
                    f"FAILURE_RATE_HIGH:{task}",
                    f"{rate:.0%} of {task}'s {row['total']} runs in the last "
                    f"{rule.window:.0f} s failed (alert at {rule.threshold:.0%}).",
                    {"task": task, "rate": round(rate, 4), "runs": row["total"]},
                )
            )
    return firings


def memory_high(rule: Rule, now: datetime, alias: str) -> list[Firing]:
    """Live worker processes whose resident memory is above the threshold (MB)."""
    rows = Worker.objects.using(alias).filter(
        state=WorkerState.RUNNING, rss_bytes__gt=rule.threshold * MB
    )
    return [
        Firing(
            f"MEMORY_HIGH:{name}",
            f"Worker {name} uses {rss / MB:.0f} MB (alert at {rule.threshold:.0f} MB).",
            {"worker": name, "rss_bytes": rss},
        )
        for name, rss in rows.values_list("name", "rss_bytes")
    ]


def _mean_runtimes(tasks: set[str], alias: str) -> dict[str, float]:
    """Return each task's mean run time from the duration counters (enough runs only)."""
    sums: dict[str, int] = {}
    counts: dict[str, int] = {}
    rows = Counter.objects.using(alias).filter(
        name__in=[DURATION_BUCKET, DURATION_SUM], task__in=tasks
    )
    for name, task, value in rows.values_list("name", "task", "value"):
        if name == DURATION_SUM:
            sums[task] = value
        else:
            counts[task] = counts.get(task, 0) + value
    return {
        task: sums.get(task, 0) / 1_000_000 / n
        for task, n in counts.items()
        if n >= MIN_RUNS_FOR_MEAN
    }


def processing_time_exceeded(rule: Rule, now: datetime, alias: str) -> list[Firing]:
    """Running jobs past ``threshold`` times their task's mean (or past their own timeout)."""
    running = list(
        Job.objects.using(alias)
        .filter(status=JobStatus.RUNNING, started_at__lte=now - timedelta(seconds=rule.window))
        .values("pk", "task", "queue", "started_at", "timeout", "args", "kwargs")[:500]
    )
    means = _mean_runtimes({row["task"] for row in running}, alias)
    firings = []
    for row in running:
        started = row["started_at"] or now
        runtime = (now - started).total_seconds()
        mean = means.get(row["task"])
        if mean is not None:
            limit, usual = max(rule.window, rule.threshold * mean), f"{mean:.1f} s on average"
        else:
            limit = max(rule.window, row["timeout"] or conf.default_timeout())
            usual = f"a timeout of {limit:.0f} s"
        if runtime > limit:
            firings.append(
                Firing(
                    f"PROCESSING_TIME_EXCEEDED:{row['pk']}",
                    f"Job {row['pk']} ({row['task']}) has run {runtime:.0f} s; "
                    f"it usually takes {usual}.",
                    {
                        "job_id": row["pk"],
                        "task": row["task"],
                        "queue": row["queue"],
                        "runtime_seconds": round(runtime, 1),
                        "args": row["args"],
                        "kwargs": row["kwargs"],
                    },
                )
            )
    return firings


def dead_letters_growing(rule: Rule, now: datetime, alias: str) -> list[Firing]:
    """Tasks with at least ``threshold`` new dead letters in the window."""
    rows = (
        DeadLetter.objects.using(alias)
        .filter(created_at__gte=now - timedelta(seconds=rule.window))
        .values("task")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        Firing(
            f"DEAD_LETTERS_GROWING:{row['task']}",
            f"{row['n']} jobs of {row['task']} were dead-lettered in the last "
            f"{rule.window:.0f} s (alert at {rule.threshold:.0f}).",
            {"task": row["task"], "dead_letters": row["n"]},
        )
        for row in rows
        if row["n"] >= max(1.0, rule.threshold)
    ]


CONDITIONS: Mapping[str, RuleFunc] = {
    "QUEUE_DEPTH_HIGH": queue_depth_high,
    "FAILURE_RATE_HIGH": failure_rate_high,
    "MEMORY_HIGH": memory_high,
    "PROCESSING_TIME_EXCEEDED": processing_time_exceeded,
    "DEAD_LETTERS_GROWING": dead_letters_growing,
}
