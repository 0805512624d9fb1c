"""Backpressure at enqueue, gate admission in the claim, breaker transitions (one process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_resilient_queue import Breaker, FailureCategory, Priority, QueueFull
from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import Alert, BreakerState, CircuitBreaker, Gate, Job, Worker
from django_resilient_queue.protection import breaker
from django_resilient_queue.protection.gates import GateKeeper
from django_resilient_queue.protection.options import RateLimit
from tests import jobs, jobs_protection

pytestmark = pytest.mark.django_db

BOUNDED = jobs.add.using(queue="bounded", priority=Priority.LOW)


def test_backpressure_defers_then_refuses_below_high() -> None:
    for i in range(80):
        BOUNDED.enqueue(i, i)
    assert not Job.objects.filter(run_after__gt=timezone.now()).exists()
    deferred = BOUNDED.enqueue(80, 80)  # the 81st
    assert deferred.run_after > timezone.now() + timedelta(milliseconds=500)
    for i in range(81, 95):
        BOUNDED.enqueue(i, i)
    assert Job.objects.filter(queue="bounded").count() == 95
    with pytest.raises(QueueFull, match="'bounded' holds 95"):
        BOUNDED.enqueue(95, 95)  # the 96th
    assert Job.objects.filter(queue="bounded").count() == 95
    critical = jobs.add.using(queue="bounded", priority=Priority.CRITICAL).enqueue(1, 1)
    assert critical.run_after <= timezone.now()
    assert Job.objects.filter(queue="bounded").count() == 96
    assert Alert.objects.get(kind="QUEUE_DEPTH_HIGH").context["queue"] == "bounded"


def test_deferral_grows_with_the_fill_level() -> None:
    BOUNDED.enqueue_many([(i, i) for i in range(80)])
    first = BOUNDED.enqueue(0, 0).run_after - timezone.now()
    BOUNDED.enqueue_many([(i, i) for i in range(12)])
    later = BOUNDED.enqueue(0, 0).run_after - timezone.now()
    assert later > first


def test_bulk_enqueue_is_refused_whole_when_it_would_overflow() -> None:
    BOUNDED.enqueue_many([(i, i) for i in range(90)])
    with pytest.raises(QueueFull):
        BOUNDED.enqueue_many([(i, i) for i in range(10)])
    assert Job.objects.filter(queue="bounded").count() == 90


def test_rate_limit_parse() -> None:
    assert RateLimit.parse("100/m") == RateLimit(100, 60.0)
    with pytest.raises(ValueError, match="must look like"):
        RateLimit.parse("fast")
    with pytest.raises(ValueError, match="must look like"):
        jobs.add.__class__(func=len, name="x", rate_limit="10/day")


def run_of(key: str, job_id: int = 1, attempt: int = 1) -> Job:
    """A run of a job with a breaker key (the breaker functions read id, attempt and key)."""
    return Job(pk=job_id, attempts=attempt, breaker_key=key)


def test_breaker_opens_after_threshold_then_half_opens_and_closes() -> None:
    config = Breaker(failure_threshold=3, window=60, reset_timeout=5)
    now = timezone.now()
    record = breaker.record
    assert (
        record(run_of("k"), config, succeeded=False, category=FailureCategory.VALIDATION, now=now)
        is None
    )
    assert not CircuitBreaker.objects.filter(key="k").exists()  # VALIDATION does not count
    for _ in range(2):
        assert (
            record(run_of("k"), config, succeeded=False, category=FailureCategory.NETWORK, now=now)
            is None
        )
    assert (
        record(run_of("k"), config, succeeded=False, category=FailureCategory.TIMEOUT, now=now)
        == "opened"
    )
    assert CircuitBreaker.objects.get(key="k").state == BreakerState.OPEN
    assert breaker.admit(run_of("k", 2), now + timedelta(seconds=1)) is False
    later = now + timedelta(seconds=6)
    trial = run_of("k", 3)
    assert breaker.admit(trial, later) is True  # the one trial
    assert breaker.admit(run_of("k", 4), later) is False
    assert CircuitBreaker.objects.get(key="k").state == BreakerState.HALF_OPEN
    assert (
        record(trial, config, succeeded=False, category=FailureCategory.NETWORK, now=later)
        == "opened"
    )
    again = later + timedelta(seconds=6)
    second_trial = run_of("k", 5)
    assert breaker.admit(second_trial, again) is True
    # Only the trial's success closes it: another run's success writes nothing.
    assert record(run_of("k", 6), config, succeeded=True, category=None, now=again) is None
    assert record(second_trial, config, succeeded=True, category=None, now=again) == "closed"
    assert CircuitBreaker.objects.get(key="k").state == BreakerState.CLOSED


def test_failures_outside_the_window_start_a_new_count() -> None:
    config = Breaker(failure_threshold=2, window=10, reset_timeout=5)
    now = timezone.now()
    breaker.record(run_of("w"), config, succeeded=False, category=FailureCategory.NETWORK, now=now)
    later = now + timedelta(seconds=11)
    assert (
        breaker.record(
            run_of("w"), config, succeeded=False, category=FailureCategory.NETWORK, now=later
        )
        is None
    )
    assert CircuitBreaker.objects.get(key="w").failures == 1


def claim(limit: int = 10) -> list[Job]:
    worker = Worker.objects.get_or_create(name="gated", defaults={"hostname": "h", "pid": 1})[0]
    gates = GateKeeper()
    now = timezone.now()
    return dialect_for(connection).claim(
        worker_id=worker.pk,
        queues=None,
        limit=limit,
        lease_seconds=30,
        now=now,
        where=gates.exclusions(now).claim_filter(),
        admit=gates.admit,
    )


def test_concurrency_gate_admits_one_per_key_and_puts_the_rest_back() -> None:
    a1 = jobs_protection.per_account.enqueue("A", 1, 0)
    a2 = jobs_protection.per_account.enqueue("A", 2, 0)
    b1 = jobs_protection.per_account.enqueue("B", 1, 0)
    claimed = claim()
    assert sorted(j.pk for j in claimed) == sorted([a1.pk, b1.pk])
    refused = Job.objects.get(pk=a2.pk)
    assert (refused.status, refused.attempts, refused.worker_id) == ("queued", 0, None)
    assert refused.first_started_at is None
    assert Gate.objects.get(key="tests.jobs_protection.per_account:A").running == 1
    assert claim() == []  # A is full, B is full: nothing is claimable, nothing spins


def test_rate_gate_admits_n_per_window() -> None:
    for i in range(15):
        jobs_protection.rate_limited.enqueue(i)
    assert len(claim(limit=15)) == 10
    assert claim(limit=15) == []
    gate = Gate.objects.get(key="tests.jobs_protection.rate_limited")
    assert sum(n for _, n in gate.starts) == 10 and gate.blocked_until > timezone.now()


def test_open_breaker_keeps_its_jobs_queued_without_blocking_others() -> None:
    CircuitBreaker.objects.create(
        key="tests.jobs_protection.call_dependency",
        state=BreakerState.OPEN,
        opened_at=timezone.now(),
        reset_timeout=60,
    )
    held = [jobs_protection.call_dependency.enqueue(i) for i in range(3)]
    other = jobs.add.using(priority=Priority.LOW).enqueue(1, 1)
    assert [j.pk for j in claim()] == [other.pk]
    assert all(Job.objects.get(pk=j.pk).status == "queued" for j in held)


def test_a_replay_keeps_the_gate_keys_of_the_original() -> None:
    from django_resilient_queue.models import DeadLetter

    letter = DeadLetter.objects.create(
        task="tests.jobs_protection.per_account",
        queue="default",
        args=["A", 1, 0],
        kwargs={},
        reason="test",
    )
    replayed = letter.replay()
    assert replayed.concurrency_key == "tests.jobs_protection.per_account:A"
    breaker_letter = DeadLetter.objects.create(
        task="tests.jobs_protection.call_dependency", queue="default", args=[1], reason="test"
    )
    assert breaker_letter.replay().breaker_key == "tests.jobs_protection.call_dependency"
