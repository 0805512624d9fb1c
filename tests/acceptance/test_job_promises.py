"""Contract §9 promises with real ``runworkers``: expiry, stall detection, checkpoints, typed
arguments."""

from __future__ import annotations

import datetime as dt
import os
import signal
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from django_resilient_queue.models import Attempt, Job, JobStatus
from tests import jobs_promises as promises
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance


def fast_env(**extra: str) -> dict[str, str]:
    return worker_env(
        RESILIENT_QUEUE_FAST_RETRIES="1", RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5", **extra
    )


def row(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


def outcomes(job: Job) -> list[tuple[int, str, str]]:
    return list(
        Attempt.objects.filter(job=job)
        .order_by("id")
        .values_list("number", "outcome", "error_type")
    )


def test_an_expired_job_never_runs(workers: Workers) -> None:
    now = timezone.now()
    # Not runnable before it expires: the worker claims it only once it has expired.
    late = promises.expiring.using(
        run_after=dt.timedelta(seconds=1), expires_after=dt.timedelta(seconds=0.5)
    ).enqueue("late")
    in_time = promises.expiring.using(expires_at=now + dt.timedelta(minutes=5)).enqueue("on-time")
    after = promises.record_once.using(run_after=dt.timedelta(seconds=1.5)).enqueue("after")
    process = workers.start("--processes", "1", env=fast_env())
    wait_until(lambda: row(after).status == JobStatus.SUCCEEDED, timeout=30)
    expired = row(late)
    assert (expired.status, expired.reason, expired.attempts) == (JobStatus.CANCELLED, "expired", 0)
    assert expired.finished_at is not None and expired.expires_at is not None
    assert expired.finished_at >= expired.expires_at
    assert not Attempt.objects.filter(job=late).exists()
    assert not Execution.objects.filter(label="late").exists()
    assert row(in_time).status == JobStatus.SUCCEEDED
    assert Execution.objects.filter(label="on-time").count() == 1
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.mark.parametrize(
    ("flavour", "threads"), [("sync", "1"), ("sync", "2"), ("async", "1"), ("async", "2")]
)
def test_a_stalled_job_is_stopped_and_retried(workers: Workers, flavour: str, threads: str) -> None:
    stalls = promises.stall_first_attempt if flavour == "sync" else promises.astall_first_attempt
    steady = promises.progress_steadily if flavour == "sync" else promises.aprogress_steadily
    stalled = stalls.enqueue("stalled")
    # Runs three times its stall timeout, reporting progress: never stopped.
    progressing = steady.enqueue("steady", 3.0)
    process = workers.start("--processes", "2", "--threads", threads, env=fast_env())
    wait_until(lambda: row(stalled).status == JobStatus.SUCCEEDED, timeout=60)
    wait_until(lambda: row(progressing).status == JobStatus.SUCCEEDED, timeout=60)
    first, second = outcomes(stalled)
    messages = list(Attempt.objects.filter(job=stalled).values_list("error_message", flat=True))
    assert first[:3] == (1, "timeout", "JobStalled"), messages
    assert second[:2] == (2, "succeeded")
    message = Attempt.objects.get(job=stalled, number=1).error_message
    assert "no progress for 1s" in message
    assert Attempt.objects.get(job=stalled, number=1).failure_category == "TIMEOUT"
    assert [o[1] for o in outcomes(progressing)] == ["succeeded"]
    assert Execution.objects.filter(label__startswith="stalled#").count() == 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_a_job_killed_after_its_third_checkpoint_resumes_from_it(workers: Workers) -> None:
    job = promises.checkpoint_then_hang.enqueue("long")
    process = workers.start("--processes", "1", env=fast_env())
    hanging = wait_until(lambda: Execution.objects.filter(label="long:hanging").first(), timeout=30)
    assert row(job).checkpoint == {"step": 3}
    os.kill(hanging.pid, signal.SIGKILL)  # the child running it, not the supervisor
    wait_until(lambda: row(job).status == JobStatus.SUCCEEDED, timeout=60)
    assert Execution.objects.filter(label="long:resumed-from-3").count() == 1
    assert [o[1] for o in outcomes(job)] == ["abandoned", "succeeded"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.mark.parametrize("threads", ["1", "2"])
def test_an_async_job_blocking_its_own_loop_still_times_out(workers: Workers, threads: str) -> None:
    blocked = promises.ablock_own_loop.enqueue(30.0)
    process = workers.start("--processes", "1", "--threads", threads, env=fast_env())
    # 30 s of blocking calls: only an interrupt from outside its loop ends the first run early.
    first = wait_until(lambda: Attempt.objects.filter(job=blocked).first(), timeout=25)
    assert (first.number, first.outcome) == (1, "timeout"), first.error_message
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_typed_arguments_come_back_equal_with_the_same_repr(workers: Workers) -> None:
    paris = ZoneInfo("Europe/Paris")
    values = [
        dt.datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=paris),
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        dt.datetime(2026, 1, 2, 3, 4, 5, 600),  # naive
        dt.date(1999, 12, 31),
        dt.time(23, 59, 58, 1),
        dt.time(8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        Decimal("1.10"),
        Decimal("-0E-8"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        promises.Money("12.50", "EUR"),
        {"nested": [Decimal("3.000"), promises.Money("1", "JPY")], "__resilient_queue_type__": 1},
    ]
    named = {"when": dt.date(2026, 12, 3), "amount": Decimal("0.1")}
    job = promises.echo_types.enqueue(*values, **named)
    code, output = workers.run_burst("--processes", "1", env=fast_env())
    assert code == 0, output
    expected = [repr(v) for v in values] + [f"{k}={v!r}" for k, v in sorted(named.items())]
    assert row(job).result == expected
