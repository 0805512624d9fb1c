"""Backpressure at enqueue, gate admission in the claim, breaker transitions (one process)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_resilient_queue import Breaker, FailureCategory, Priority, QueueFull
from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import (
    Alert,
    BreakerState,
    CircuitBreaker,
    Gate,
    GateKind,
    Job,
    Worker,
)
from django_resilient_queue.protection import breaker
from django_resilient_queue.protection.options import RateLimit
from django_resilient_queue.worker.executor import Outcome
from django_resilient_queue.worker.gates import GateKeeper
from django_resilient_queue.worker.outcomes import apply_outcome
from django_resilient_queue.worker.reaper import reap_expired_leases
from tests import jobs, jobs_protection

pytestmark = pytest.mark.django_db
# Backpressure tests use committed data: a depth alert raised inside a transaction (the
# test's own, otherwise) is written beside it, on its own connection.
committed = pytest.mark.django_db(transaction=True)

BOUNDED = jobs.add.using(queue="bounded", priority=Priority.LOW)


@pytest.fixture(autouse=True)
def _fresh_backpressure_caches() -> Iterator[None]:
    """Each test starts with no cached depth and no throttled alert (process-wide state)."""
    from django_resilient_queue.protection import backpressure

    backpressure._estimates.clear()
    backpressure._alerted.clear()
    yield
    backpressure.wait_for_alerts()  # nothing is written after the test's data is flushed


@committed
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
    alert = Alert.objects.get(kind="QUEUE_DEPTH_HIGH")
    assert alert.context["queue"] == "bounded"
    # Raised at the 81st, which was deferred, not refused: the message says so.
    assert "enqueues are deferred" in alert.message and alert.context["refused"] is False


@committed
def test_the_depth_alert_survives_the_callers_rollback() -> None:
    from django.db import transaction

    from django_resilient_queue.protection import backpressure

    BOUNDED.enqueue_many([(i, i) for i in range(95)])
    Alert.objects.all().delete()
    backpressure._alerted.clear()
    with pytest.raises(QueueFull), transaction.atomic():
        BOUNDED.enqueue(95, 95)  # QueueFull rolls back the caller's transaction
    backpressure.wait_for_alerts()
    alert = Alert.objects.get(kind="QUEUE_DEPTH_HIGH")
    assert "refused (QueueFull)" in alert.message
    assert Job.objects.filter(queue="bounded").count() == 95


@committed
def test_the_depth_alert_of_a_refusal_says_refused() -> None:
    from django_resilient_queue.protection import backpressure

    BOUNDED.enqueue_many([(i, i) for i in range(95)])  # its own alert says deferred
    Alert.objects.all().delete()
    backpressure._alerted.clear()
    with pytest.raises(QueueFull):
        BOUNDED.enqueue(95, 95)
    alert = Alert.objects.get(kind="QUEUE_DEPTH_HIGH")
    assert "enqueues are refused (QueueFull)" in alert.message
    assert alert.context["refused"] is True


@committed
def test_deferral_grows_with_the_fill_level() -> None:
    BOUNDED.enqueue_many([(i, i) for i in range(80)])
    first = BOUNDED.enqueue(0, 0).run_after - timezone.now()
    BOUNDED.enqueue_many([(i, i) for i in range(12)])
    later = BOUNDED.enqueue(0, 0).run_after - timezone.now()
    assert later > first


@committed
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


def claim(limit: int = 10, sequential: bool = False, lease: float = 30) -> list[Job]:
    worker = Worker.objects.get_or_create(name="gated", defaults={"hostname": "h", "pid": 1})[0]
    gates = GateKeeper()
    now = timezone.now()
    return dialect_for(connection).claim(
        worker_id=worker.pk,
        queues=None,
        limit=limit,
        lease_seconds=lease,
        now=now,
        where=gates.exclusions(now).claim_filter(),
        admit=functools.partial(gates.admit, sequential=sequential),
    )


def running_places(key: str) -> int:
    return Gate.objects.get(kind=GateKind.CONCURRENCY, key=key).running


def test_concurrency_gate_admits_one_per_key_and_puts_the_rest_back() -> None:
    a1 = jobs_protection.per_account.enqueue("A", 1, 0)
    a2 = jobs_protection.per_account.enqueue("A", 2, 0)
    b1 = jobs_protection.per_account.enqueue("B", 1, 0)
    claimed = claim()
    assert sorted(j.pk for j in claimed) == sorted([a1.pk, b1.pk])
    refused = Job.objects.get(pk=a2.pk)
    assert (refused.status, refused.attempts, refused.worker_id) == ("queued", 0, None)
    assert refused.first_started_at is None
    assert running_places("tests.jobs_protection.per_account:A") == 1
    assert claim() == []  # A is full, B is full: nothing is claimable, nothing spins


ACCOUNT_A = "tests.jobs_protection.per_account:A"


def succeeded(job: Job) -> Outcome:
    return Outcome(kind="succeeded", started_at=job.started_at, finished_at=timezone.now())


def test_a_sequential_claim_takes_one_place_held_by_the_last_job_to_run() -> None:
    queued = [jobs_protection.per_account.enqueue("A", n, 0) for n in range(3)]
    claimed = claim(sequential=True)
    assert [j.pk for j in claimed] == [j.pk for j in queued]  # limit 1, yet all three
    assert running_places(ACCOUNT_A) == 1
    holders = list(Job.objects.filter(holds_place=True).values_list("pk", flat=True))
    assert holders == [queued[-1].pk] and claimed[-1].holds_place
    assert claim(sequential=True) == []  # another worker finds the key full
    for job in claimed[:2]:
        assert apply_outcome(job, succeeded(job))
        assert running_places(ACCOUNT_A) == 1  # the place covers the job still to run
    assert apply_outcome(claimed[2], succeeded(claimed[2]))
    assert running_places(ACCOUNT_A) == 0


def test_the_reaper_gives_back_the_one_place_of_a_lost_sequential_claim() -> None:
    for n in range(3):
        jobs_protection.per_account.enqueue("A", n, 0)
    assert len(claim(sequential=True, lease=-1)) == 3  # the lease has already expired
    assert running_places(ACCOUNT_A) == 1
    assert reap_expired_leases() == 3
    assert running_places(ACCOUNT_A) == 0
    assert Job.objects.filter(status="queued").count() == 3


def test_a_refused_claim_gives_back_what_it_took() -> None:
    for n in range(3):
        jobs_protection.doubly_limited.enqueue(n)
    Gate.objects.create(
        kind=GateKind.RATE,
        key="tests.jobs_protection.doubly_limited",
        limit=1000,
        window=1.0,
        starts=[[timezone.now().timestamp(), 1000]],
    )
    assert claim(sequential=True) == []  # the rate gate is full: the place goes back
    assert running_places("tests.jobs_protection.doubly_limited") == 0
    assert not Job.objects.filter(holds_place=True).exists()


def test_rate_and_concurrency_of_one_key_are_two_gates() -> None:
    for n in range(3):
        jobs_protection.doubly_limited.enqueue(n)
    assert len(claim()) == 2  # concurrency_limit=2, one place each
    key = "tests.jobs_protection.doubly_limited"
    assert running_places(key) == 2
    assert sum(n for _, n in Gate.objects.get(kind=GateKind.RATE, key=key).starts) == 2
    # The full concurrency gate shows in the claim's snapshot, not hidden by the rate row.
    assert key in GateKeeper().exclusions(timezone.now()).concurrency_keys


def test_a_gated_claim_costs_queries_per_key_not_per_job() -> None:
    def queries_for(jobs_per_key: int) -> int:
        Job.objects.all().delete()
        Gate.objects.update(running=0, starts=[], blocked_until=None)  # rows stay: steady state
        for account in "ABCD":
            for n in range(jobs_per_key):
                jobs_protection.per_account.enqueue(account, n, 0)
                jobs_protection.doubly_limited.enqueue(n)
                jobs_protection.call_dependency.enqueue(n)
        Worker.objects.get_or_create(name="gated", defaults={"hostname": "h", "pid": 1})
        with CaptureQueriesContext(connection) as queries:
            claimed = claim(limit=1000, sequential=True)
        assert len(claimed) == 4 * jobs_per_key * 3
        return len(queries)

    queries_for(1)  # creates the gate rows
    few, many = queries_for(1), queries_for(10)
    assert many == few, f"{few} queries for 12 jobs, {many} for 120"
    # The helper's worker lookup 1, snapshot 2, savepoint 2, claim 1; then for all five
    # concurrency keys and the rate key: one statement on PostgreSQL, four elsewhere;
    # writing the rate 1.
    assert many <= (8 if connection.vendor == "postgresql" else 12)


def test_rate_gate_admits_n_per_window() -> None:
    for i in range(15):
        jobs_protection.rate_limited.enqueue(i)
    assert len(claim(limit=15)) == 10
    assert claim(limit=15) == []
    gate = Gate.objects.get(kind=GateKind.RATE, key="tests.jobs_protection.rate_limited")
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
