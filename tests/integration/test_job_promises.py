"""Expiry, checkpoints, replays and redaction through the real database, in process."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_resilient_queue.alerts.store import raise_alert
from django_resilient_queue.context import CheckpointTooLarge, JobContext
from django_resilient_queue.db import dialect_for
from django_resilient_queue.definition import JobDefinition
from django_resilient_queue.models import Attempt, DeadLetter, Job, JobStatus, Worker
from django_resilient_queue.redaction import MASK
from django_resilient_queue.worker.executor import execute_unit
from django_resilient_queue.worker.expiry import expire_queued_jobs
from django_resilient_queue.worker.outcomes import apply_outcomes
from tests import jobs, jobs_promises
from tests.factories import JobFactory
from tests.integration.runner import run_next, run_until_final

pytestmark = pytest.mark.django_db


def claim(limit: int = 10) -> list[Job]:
    worker = Worker.objects.get_or_create(name="w", defaults={"hostname": "h", "pid": 1})[0]
    return dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=limit, lease_seconds=30, now=timezone.now()
    )


def run_claimed(claimed: list[Job]) -> None:
    pairs = []
    for job in claimed:
        [outcome] = execute_unit([job], timezone.now().timestamp() + 30)
        pairs.append((job, outcome))
    assert all(apply_outcomes(pairs))


# -- expiry --------------------------------------------------------------------------------
def test_expires_after_on_the_decorator_and_using_set_expires_at() -> None:
    before = timezone.now()
    declared = jobs_promises.expiring.enqueue("a")
    assert declared.expires_at is not None
    assert (
        before + dt.timedelta(hours=1)
        <= declared.expires_at
        <= timezone.now() + dt.timedelta(hours=1)
    )
    at = before + dt.timedelta(minutes=3)
    assert jobs_promises.expiring.using(expires_at=at).enqueue("b").expires_at == at
    shorter = jobs_promises.expiring.using(expires_after=dt.timedelta(seconds=5)).enqueue("c")
    assert shorter.expires_at is not None
    assert shorter.expires_at <= timezone.now() + dt.timedelta(seconds=5)
    assert jobs.add.enqueue(1, 2).expires_at is None
    assert Job.objects.get(pk=shorter.pk).expires_at == shorter.expires_at


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"expires_after": 5}, TypeError),
        ({"expires_after": dt.timedelta(0)}, ValueError),
        ({"expires_at": dt.datetime(2030, 1, 1)}, ValueError),  # naive
        ({"stall_timeout": "5"}, TypeError),
        ({"stall_timeout": -1}, ValueError),
    ],
)
def test_bad_promise_options_are_refused_when_declared(options: dict, error: type) -> None:
    with pytest.raises(error, match=r"t\.x: "):
        JobDefinition(func=jobs.add.func, name="t.x", **options)


def test_a_job_claimed_after_its_expiry_ends_cancelled_without_a_run() -> None:
    past = timezone.now() - dt.timedelta(seconds=1)
    expired = JobFactory(task="tests.jobs_promises.expiring", args=["x"], expires_at=past)
    fresh = JobFactory(
        task="tests.jobs_promises.expiring",
        args=["y"],
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    run_claimed(claim())
    row = Job.objects.get(pk=expired.pk)
    assert (row.status, row.reason, row.attempts) == (JobStatus.CANCELLED, "expired", 0)
    assert row.first_started_at is None and row.finished_at is not None
    assert not Attempt.objects.filter(job=expired).exists()
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.SUCCEEDED
    from tests.testapp.models import Execution

    assert list(Execution.objects.values_list("label", flat=True)) == ["y"]


def test_the_sweep_ends_only_queued_jobs_past_their_expiry() -> None:
    now = timezone.now()
    past, future = now - dt.timedelta(seconds=1), now + dt.timedelta(hours=1)
    expired = [JobFactory(expires_at=past, run_after=future) for _ in range(3)]
    waiting = JobFactory(expires_at=future)
    plain = JobFactory()
    running = JobFactory(expires_at=past, status=JobStatus.RUNNING, attempts=1)
    assert expire_queued_jobs(limit=2) == 2
    assert expire_queued_jobs() == 1
    assert expire_queued_jobs() == 0
    for job in expired:
        row = Job.objects.get(pk=job.pk)
        assert (row.status, row.reason) == (JobStatus.CANCELLED, "expired")
        assert row.finished_at is not None
    assert Job.objects.get(pk=waiting.pk).status == JobStatus.QUEUED
    assert Job.objects.get(pk=plain.pk).status == JobStatus.QUEUED
    assert Job.objects.get(pk=running.pk).status == JobStatus.RUNNING


# -- checkpoints ---------------------------------------------------------------------------
def test_a_checkpoint_is_written_at_once_and_read_by_the_next_attempt() -> None:
    JobFactory(task="tests.jobs_promises.record_once", args=["x"])
    [job] = claim()
    context = JobContext(job=job, attempt=job.attempts)
    assert context.last_checkpoint is None
    value = {"offset": 41, "at": dt.date(2026, 1, 1), "rate": Decimal("0.10")}
    assert context.checkpoint(value) is True
    assert Job.objects.get(pk=job.pk).checkpoint["offset"] == 41
    again = JobContext(job=Job.objects.get(pk=job.pk), attempt=job.attempts + 1)
    assert again.last_checkpoint == value


def test_a_checkpoint_of_a_run_that_lost_the_job_writes_nothing() -> None:
    JobFactory(task="tests.jobs_promises.record_once", args=["x"])
    [job] = claim()
    stale = JobContext(job=job, attempt=job.attempts)
    Job.objects.filter(pk=job.pk).update(attempts=job.attempts + 1, run=job.run + 1)  # a newer run
    assert stale.checkpoint({"step": 9}) is False
    assert Job.objects.get(pk=job.pk).checkpoint is None


def test_a_checkpoint_too_large_or_not_json_is_refused_and_nothing_written() -> None:
    JobFactory(task="tests.jobs_promises.record_once", args=["x"])
    [job] = claim()
    context = JobContext(job=job, attempt=job.attempts)
    assert context.checkpoint({"step": 1})
    with pytest.raises(CheckpointTooLarge, match=r"at most 65536"):
        context.checkpoint("x" * 70_000)
    with pytest.raises(TypeError, match="checkpoint"):
        context.checkpoint({"f": object()})
    assert Job.objects.get(pk=job.pk).checkpoint == {"step": 1}


@pytest.mark.parametrize("keep", [False, True])
def test_a_replay_starts_clean_unless_asked_to_keep_the_checkpoint(keep: bool) -> None:
    failed = jobs.fail_validation.enqueue("v")
    row, _ = run_until_final(failed)
    Job.objects.filter(pk=row.pk).update(checkpoint={"step": 3})
    letter = DeadLetter.objects.get(job_id=row.pk)
    new_job = letter.replay(keep_checkpoint=keep)
    assert Job.objects.get(pk=new_job.pk).checkpoint == ({"step": 3} if keep else None)


# -- redaction -----------------------------------------------------------------------------
@override_settings(RESILIENT_QUEUE={"REDACT": ["value"]})
def test_a_failure_message_loses_the_redacted_argument_but_the_row_keeps_it() -> None:
    job = jobs.fail_validation.enqueue("hunter22")
    run_next()
    letter = DeadLetter.objects.get(job_id=job.pk)
    assert letter.error_message == f"bad value '{MASK}'"
    assert "hunter22" not in letter.traceback
    assert "hunter22" not in Attempt.objects.get(job=job).error_message
    assert Job.objects.get(pk=job.pk).args == ["hunter22"]


@override_settings(RESILIENT_QUEUE={"REDACT": ["api_key"]})
def test_an_alert_keeps_no_redacted_value_in_its_context_or_message() -> None:
    alert = raise_alert(
        "PROCESSING_TIME_EXCEEDED",
        "high",
        "call with key abcd-efgh timed out",
        context={"api_key": "abcd-efgh", "job": {"id": 1, "api_key": "abcd-efgh"}},
    )
    alert.refresh_from_db()
    assert alert.message == f"call with key {MASK} timed out"
    assert alert.context == {"api_key": MASK, "job": {"id": 1, "api_key": MASK}}
