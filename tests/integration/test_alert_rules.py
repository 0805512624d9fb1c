"""Each condition rule fires on its threshold, and the evaluator resolves what cleared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from django_resilient_queue.alerts.evaluator import evaluate
from django_resilient_queue.alerts.store import raise_alert
from django_resilient_queue.counters import count_outcomes
from django_resilient_queue.models import (
    Alert,
    AlertDelivery,
    Attempt,
    BreakerState,
    JobStatus,
)
from django_resilient_queue.worker.executor import Outcome
from tests.factories import BreakerFactory, DeadLetterFactory, JobFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def rules(**rules: dict[str, Any]) -> Any:
    return override_settings(
        RESILIENT_QUEUE={"ALERTS": {"CHANNELS": [{"type": "log"}], "RULES": rules}}
    )


def active(kind: str) -> list[str]:
    rows = Alert.objects.filter(kind=kind, resolved_at__isnull=True)
    return sorted(rows.values_list("fingerprint", flat=True))


def test_queue_depth_fires_at_the_threshold_and_resolves_with_a_notification() -> None:
    with rules(QUEUE_DEPTH_HIGH={"threshold": 3, "severity": "critical"}):
        JobFactory.create_batch(2)
        evaluate(timezone.now())
        assert active("QUEUE_DEPTH_HIGH") == []
        JobFactory()
        evaluate(timezone.now())
        assert active("QUEUE_DEPTH_HIGH") == ["QUEUE_DEPTH_HIGH:default"]
        assert Alert.objects.get().severity == "critical"
        evaluate(timezone.now())
        assert Alert.objects.get().occurrences == 2
        JobFactory._meta.model.objects.update(status=JobStatus.SUCCEEDED)
        evaluate(timezone.now())
    assert active("QUEUE_DEPTH_HIGH") == []
    events = list(AlertDelivery.objects.order_by("id").values_list("event", flat=True))
    assert events == ["fired", "resolved"]


def test_failure_rate_over_the_window_per_task() -> None:
    now = timezone.now()
    job = JobFactory(status=JobStatus.FAILED)
    for number in range(10):
        outcome = "failed" if number < 3 else "succeeded"
        Attempt.objects.create(job=job, number=number + 1, outcome=outcome, finished_at=now)
    with rules(FAILURE_RATE_HIGH={"threshold": 0.3, "window": 60}):
        evaluate(now)
        assert active("FAILURE_RATE_HIGH") == ["FAILURE_RATE_HIGH:tests.jobs.add"]
        evaluate(now + timedelta(seconds=120))  # the failures left the window
    assert active("FAILURE_RATE_HIGH") == []


def test_too_few_runs_make_no_rate() -> None:
    job = JobFactory(status=JobStatus.FAILED)
    Attempt.objects.create(job=job, number=1, outcome="failed", finished_at=timezone.now())
    evaluate(timezone.now())
    assert active("FAILURE_RATE_HIGH") == []


def test_memory_high_reads_worker_rss() -> None:
    WorkerFactory(name="big", rss_bytes=300 * 1024 * 1024)
    WorkerFactory(name="small", rss_bytes=100 * 1024 * 1024)
    with rules(MEMORY_HIGH={"threshold": 200}):
        evaluate(timezone.now())
    assert active("MEMORY_HIGH") == ["MEMORY_HIGH:big"]


def test_processing_time_far_past_the_usual_run_time() -> None:
    now = timezone.now()
    done = [JobFactory(status=JobStatus.RUNNING, started_at=now) for _ in range(5)]
    pairs = [
        (j, Outcome(kind="succeeded", started_at=now, finished_at=now + timedelta(seconds=2)))
        for j in done
    ]
    count_outcomes(pairs, [True] * 5, "default")  # usual time: 2 s
    slow = JobFactory(status=JobStatus.RUNNING, started_at=now - timedelta(seconds=30))
    JobFactory(status=JobStatus.RUNNING, started_at=now - timedelta(seconds=4))
    with rules(PROCESSING_TIME_EXCEEDED={"threshold": 5, "window": 1}):
        evaluate(now)
        assert active("PROCESSING_TIME_EXCEEDED") == [f"PROCESSING_TIME_EXCEEDED:{slow.pk}"]
        JobFactory._meta.model.objects.filter(pk=slow.pk).update(status=JobStatus.SUCCEEDED)
        evaluate(now)
    assert active("PROCESSING_TIME_EXCEEDED") == []


def test_processing_time_without_history_uses_the_job_timeout() -> None:
    now = timezone.now()
    hung = JobFactory(status=JobStatus.RUNNING, timeout=10, started_at=now - timedelta(60))
    evaluate(now)
    assert active("PROCESSING_TIME_EXCEEDED") == [f"PROCESSING_TIME_EXCEEDED:{hung.pk}"]


def test_dead_letters_growing_per_task() -> None:
    DeadLetterFactory.create_batch(3)
    with rules(DEAD_LETTERS_GROWING={"threshold": 3, "window": 60}):
        evaluate(timezone.now())
    assert active("DEAD_LETTERS_GROWING") == ["DEAD_LETTERS_GROWING:tests.jobs.add"]


def test_a_disabled_rule_is_not_evaluated() -> None:
    JobFactory.create_batch(3)
    with rules(QUEUE_DEPTH_HIGH={"threshold": 1, "enabled": False}):
        evaluate(timezone.now())
    assert active("QUEUE_DEPTH_HIGH") == []


def test_event_alerts_resolve_when_their_condition_clears() -> None:
    BreakerFactory(key="dep", state=BreakerState.CLOSED)
    BreakerFactory(key="still", state=BreakerState.OPEN)
    for key in ("dep", "still"):
        raise_alert("BREAKER_OPEN", "high", "open", fingerprint=f"BREAKER_OPEN:{key}")
    raise_alert("WORKER_CRASHED", "high", "died", fingerprint="WORKER_CRASHED:h:1")
    evaluate(timezone.now())
    assert active("BREAKER_OPEN") == ["BREAKER_OPEN:still"]
    assert active("WORKER_CRASHED") == ["WORKER_CRASHED:h:1"]
    evaluate(timezone.now() + timedelta(seconds=901))  # quiet for the rule's window
    assert active("WORKER_CRASHED") == []
