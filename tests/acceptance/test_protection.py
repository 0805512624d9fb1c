"""Breakers, rate and concurrency limits, aging and batching across real worker processes."""

from __future__ import annotations

import itertools
import time

import pytest

from django_resilient_queue import Priority
from django_resilient_queue.models import (
    Alert,
    Attempt,
    BreakerState,
    CircuitBreaker,
    DeadLetter,
    Gate,
    Job,
)
from tests import jobs, jobs_protection
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution, Widget

pytestmark = pytest.mark.acceptance

DEPENDENCY = "tests.jobs_protection.call_dependency"


def env(**extra: str) -> dict[str, str]:
    return worker_env(
        RESILIENT_QUEUE_LEASE_SECONDS="3",
        RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5",
        RESILIENT_QUEUE_FAST_RETRIES="1",
        **extra,
    )


def breaker_state() -> str | None:
    row = CircuitBreaker.objects.filter(key=DEPENDENCY).first()
    return row.state if row else None


def dependency_runs() -> int:
    return Execution.objects.filter(label__startswith="dependency-").count()


def test_breaker_opens_holds_the_backlog_trials_and_closes(workers: Workers) -> None:
    Widget.objects.create(name="down")
    for i in range(3):
        jobs_protection.call_dependency.enqueue(i)
    process = workers.start("--processes", "2", env=env())
    wait_until(lambda: breaker_state() == BreakerState.OPEN, timeout=30)
    assert Alert.objects.filter(kind="BREAKER_OPEN", resolved_at__isnull=True).exists()

    backlog = [jobs_protection.call_dependency.enqueue(100 + i) for i in range(20)]
    others = [jobs.add.enqueue(i, i) for i in range(10)]
    wait_until(
        lambda: all(Job.objects.get(pk=j.pk).status == "succeeded" for j in others), timeout=30
    )
    runs_while_open = dependency_runs()
    assert all(Job.objects.get(pk=j.pk).attempts == 0 for j in backlog)  # waiting, not failed

    # After reset_timeout (2 s) exactly one trial runs; it fails and the breaker reopens.
    wait_until(lambda: dependency_runs() == runs_while_open + 1, timeout=15)
    wait_until(lambda: breaker_state() == BreakerState.OPEN, timeout=10)
    time.sleep(0.5)
    assert dependency_runs() == runs_while_open + 1

    Widget.objects.filter(name="down").update(name="up")  # the dependency is fixed
    wait_until(
        lambda: Job.objects.filter(task=DEPENDENCY, status="succeeded").count() == 23, timeout=60
    )
    assert breaker_state() == BreakerState.CLOSED
    assert not Alert.objects.filter(kind="BREAKER_OPEN", resolved_at__isnull=True).exists()
    assert Job.objects.filter(task=DEPENDENCY).exclude(status="succeeded").count() == 0
    workers.kill_group(process)


def test_rate_limit_holds_across_processes(workers: Workers) -> None:
    for i in range(50):
        jobs_protection.rate_limited.enqueue(i)
    process = workers.start("--processes", "2", env=env())
    wait_until(
        lambda: Job.objects.filter(task__endswith="rate_limited", status="succeeded").count() == 50,
        timeout=60,
    )
    # A start is the claim that admitted the job (Job.started_at), as the gate counts it.
    starts = sorted(
        s.timestamp()
        for s in Job.objects.filter(task__endswith="rate_limited").values_list(
            "started_at", flat=True
        )
    )
    assert len(starts) == 50
    # No 11 starts in any one-second window: any 11 consecutive starts span a second or more.
    assert min(b - a for a, b in zip(starts, starts[10:], strict=False)) >= 0.999
    assert starts[-1] - starts[0] >= 3.9  # 50 starts at 10/s need four full windows
    assert starts[-1] - starts[0] < 15
    workers.kill_group(process)


def overlapping(intervals: list[tuple[float, float]]) -> bool:
    ordered = sorted(intervals)
    return any(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(ordered))


def intervals_of(prefix: str) -> list[tuple[float, float]]:
    return [
        (s, f)
        for s, f in Execution.objects.filter(label__startswith=prefix).values_list(
            "started_at", "finished_at"
        )
        if f is not None
    ]


def test_concurrency_limit_never_overlaps_a_key_and_survives_kill_9(workers: Workers) -> None:
    for n in range(6):
        jobs_protection.per_account.enqueue("A", n, 0.3)
        jobs_protection.per_account.enqueue(f"B{n}", n, 0.3)
    first = workers.start("--processes", "2", "--threads", "2", env=env())
    wait_until(
        lambda: (
            Execution.objects.filter(label__startswith="A-", finished_at__isnull=False).count() >= 2
        )
    )
    # kill -9 the whole group while key A is (very likely) held.
    wait_until(
        lambda: Execution.objects.filter(label__startswith="A-", finished_at__isnull=True).exists()
    )
    workers.kill_group(first)
    first.communicate(timeout=10)
    assert (
        Gate.objects.get(key="tests.jobs_protection.per_account:A").running == 1
    )  # held by the dead

    second = workers.start("--processes", "2", "--threads", "2", env=env())
    wait_until(
        lambda: Job.objects.filter(task__endswith="per_account", status="succeeded").count() == 12,
        timeout=60,
    )
    assert not overlapping(intervals_of("A-"))
    everything = intervals_of("A-") + intervals_of("B")
    assert overlapping(everything), "jobs of other keys must run while A is held"
    assert Gate.objects.get(key="tests.jobs_protection.per_account:A").running == 0
    assert Attempt.objects.filter(outcome="abandoned", job__task__endswith="per_account").exists()
    workers.kill_group(second)


def test_workers_claiming_ahead_hold_one_place_per_key(workers: Workers) -> None:
    """Single-threaded children claim quick jobs ahead and run them one after another: a
    key with concurrency_limit=1 still never runs twice at once, and claiming ahead does
    not use up the key's places (every key drains, every place comes back)."""
    for n in range(60):
        jobs_protection.per_account.enqueue("A", n, 0)
        jobs_protection.per_account.enqueue(f"B{n % 4}", n, 0)
    code, output = workers.run_burst("--processes", "2", env=env())
    assert code == 0, output
    assert Job.objects.filter(task__endswith="per_account", status="succeeded").count() == 120
    for prefix in ("A-", "B0-", "B1-", "B2-", "B3-"):
        assert not overlapping(intervals_of(prefix)), prefix
    assert set(Gate.objects.values_list("running", flat=True)) == {0}
    assert not Attempt.objects.exclude(outcome="succeeded").exists()


def test_aging_lets_a_low_job_through_a_steady_stream_of_high_ones(workers: Workers) -> None:
    high = jobs.sleep_then_record.using(priority=Priority.HIGH)
    for i in range(3):
        high.enqueue(f"high-{i}", 0.1)
    low = jobs.sleep_then_record.using(priority=Priority.LOW).enqueue("low", 0)
    enqueued_at = time.time()
    # interval 1 s, step 50: LOW (-50) reaches HIGH (50) after two intervals.
    process = workers.start("--threads", "1", env=env(RESILIENT_QUEUE_AGING="1,50"))
    counter = itertools.count(3)
    deadline = time.monotonic() + 20
    while not Execution.objects.filter(label="low").exists():
        assert time.monotonic() < deadline, "the LOW job starved"
        if Job.objects.filter(status="queued", priority__gte=Priority.HIGH).count() < 3:
            high.enqueue(f"high-{next(counter)}", 0.1)
        time.sleep(0.02)
    started = Execution.objects.get(label="low").started_at
    # Bound: two aging intervals, plus the aging pass cadence (interval / 4, at least 0.5 s,
    # twice), plus the HIGH jobs already queued ahead of it at equal priority (3 x 0.1 s).
    assert started - enqueued_at < 2 * 1 + 2 * 0.5 + 0.5 + 1.5
    assert Job.objects.filter(status="succeeded", priority__gte=Priority.HIGH).count() >= 5
    assert Job.objects.get(pk=low.pk).priority == Priority.HIGH
    workers.kill_group(process)


def test_batches_call_the_function_once_per_ten(workers: Workers) -> None:
    jobs_protection.batch_sum.enqueue_many([(i,) for i in range(95)])
    code, output = workers.run_burst(env=env())
    assert code == 0, output
    calls = list(
        Execution.objects.filter(label__startswith="batch:").values_list("label", flat=True)
    )
    assert sorted(calls) == sorted(["batch:10"] * 9 + ["batch:5"])
    assert Job.objects.filter(task__endswith="batch_sum", status="succeeded").count() == 95
    for args, result in Job.objects.filter(task__endswith="batch_sum").values_list(
        "args", "result"
    ):
        assert result == args[0] * 2  # a list of results is handed out item by item


def test_a_failed_batch_is_split_and_only_the_bad_item_fails(workers: Workers) -> None:
    items = [*range(9), "bad"]
    jobs_protection.batch_sum.enqueue_many([(i,) for i in items])
    code, output = workers.run_burst(env=env())
    assert code == 0, output
    assert Job.objects.filter(task__endswith="batch_sum", status="succeeded").count() == 9
    bad = Job.objects.get(task__endswith="batch_sum", status="failed")
    assert bad.args == ["bad"] and bad.solo
    assert list(
        Attempt.objects.filter(job=bad).order_by("id").values_list("outcome", flat=True)
    ) == [
        "released",
        "failed",
    ]
    assert DeadLetter.objects.get(job=bad).failure_category == "VALIDATION"
    calls = sorted(
        Execution.objects.filter(label__startswith="batch:").values_list("label", flat=True)
    )
    assert calls == sorted(["batch:10"] + ["batch:1"] * 10)
