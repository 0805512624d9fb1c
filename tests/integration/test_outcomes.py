"""Outcomes are written once, fenced by (id, run): a run that lost its lease writes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import Attempt, DeadLetter, Job, JobStatus, Worker
from django_resilient_queue.worker.executor import Outcome, OutcomeKind, execute
from django_resilient_queue.worker.heartbeat import renew_leases
from django_resilient_queue.worker.outcomes import apply_outcome, apply_outcomes
from django_resilient_queue.worker.reaper import take_back
from tests.factories import JobFactory
from tests.testapp.models import Widget

pytestmark = pytest.mark.django_db


def run_once(job: Job) -> Job:
    worker = Worker.objects.get_or_create(name="w", defaults={"hostname": "h", "pid": 1})[0]
    [claimed] = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    assert claimed.pk == job.pk
    assert apply_outcome(claimed, execute(claimed, deadline=timezone.now().timestamp() + 30))
    return Job.objects.get(pk=job.pk)


def test_success_writes_result_and_attempt() -> None:
    row = run_once(JobFactory(task="tests.jobs.add", args=[2, 3]))
    assert (row.status, row.result, row.attempts) == (JobStatus.SUCCEEDED, 5, 1)
    [attempt] = Attempt.objects.filter(job=row)
    assert (attempt.number, attempt.outcome) == (1, "succeeded")
    assert attempt.finished_at >= attempt.started_at


def test_model_reference_is_reloaded() -> None:
    widget = Widget.objects.create(name="old")
    from tests.jobs import rename_widget

    job = rename_widget.enqueue(widget, "new")
    assert run_once(job).result == "new"
    widget.refresh_from_db()
    assert widget.name == "new"


def test_unknown_task_is_dead_lettered_without_import(tmp_path) -> None:
    marker = tmp_path / "pwned"
    job = JobFactory(task="os.system", args=[f"touch {marker}"])
    row = run_once(job)
    assert row.status == JobStatus.FAILED
    letter = DeadLetter.objects.get(job=row)
    assert letter.reason == "unknown task"
    assert not marker.exists()


def test_stale_run_cannot_overwrite_the_newer_run() -> None:
    job = JobFactory(task="tests.jobs.add", args=[1, 1])
    worker = Worker.objects.create(name="w2", hostname="h", pid=2)
    [first] = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    # The lease is taken back and the job runs again (attempt 2) elsewhere.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    [second] = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    assert (first.attempts, second.attempts) == (1, 2)
    late = execute(first, deadline=timezone.now().timestamp() + 30)
    assert apply_outcome(first, late) is False
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    assert not Attempt.objects.exists()
    assert apply_outcome(second, execute(second, deadline=timezone.now().timestamp() + 30))
    assert list(Attempt.objects.values_list("number", "outcome")) == [(2, "succeeded")]


def test_a_flush_of_successes_writes_each_attempt_once_and_skips_lost_runs() -> None:
    jobs = [JobFactory(task="tests.jobs.add", args=[i, i]) for i in range(5)]
    worker = Worker.objects.create(name="w3", hostname="h", pid=3)
    claimed = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=5, lease_seconds=30, now=timezone.now()
    )
    assert sorted(j.pk for j in claimed) == sorted(j.pk for j in jobs)
    outcomes = [execute(job, deadline=timezone.now().timestamp() + 30) for job in claimed]
    lost = claimed[2]  # taken back meanwhile: its run must write nothing
    Job.objects.filter(pk=lost.pk).update(attempts=2, run=2)
    written = apply_outcomes(list(zip(claimed, outcomes, strict=True)))
    assert written == [job is not lost for job in claimed]
    rows = Attempt.objects.order_by("job_id").values_list(
        "job_id", "number", "worker_id", "outcome", "started_at", "finished_at"
    )
    expected = sorted(
        (job.pk, 1, worker.pk, "succeeded", outcome.started_at, outcome.finished_at)
        for job, outcome in zip(claimed, outcomes, strict=True)
        if job is not lost
    )
    assert list(rows) == expected
    results = dict(Job.objects.values_list("pk", "result"))
    assert [results[job.pk] for job in claimed if job is not lost] == [
        2 * job.args[0] for job in claimed if job is not lost
    ]
    assert Job.objects.get(pk=lost.pk).status == JobStatus.RUNNING


@pytest.mark.parametrize("given_back", ["unstarted", "released"])
def test_a_run_given_back_leaves_no_token_a_later_run_could_share(given_back: str) -> None:
    """The sequence that once broke the fence: give back, claim again, then a stale write."""
    job = JobFactory(task="tests.jobs.add", args=[2, 2])
    worker = Worker.objects.create(name="w4", hostname="h", pid=4)
    claim = lambda: dialect_for(connection).claim(  # noqa: E731
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    [first] = claim()
    # Its worker gives it back before running it (no attempt used)...
    assert apply_outcome(first, Outcome.lost(given_back, None, "given back"))  # type: ignore[arg-type]
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    # ...and a newer run claims it: the same attempt number, a new run number.
    [second] = claim()
    assert (first.attempts, second.attempts) == (1, 1)
    assert second.run > first.run
    # Stale writes from the first run are all refused: take-back, renewal, success.
    assert take_back(job.pk, first.run, OutcomeKind.UNSTARTED, "stale") is False
    assert renew_leases([(job.pk, first.run)], 30) == 0
    assert apply_outcome(first, execute(first, deadline=timezone.now().timestamp() + 30)) is False
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.worker_id, row.run) == (JobStatus.RUNNING, worker.pk, second.run)
    assert not Attempt.objects.filter(outcome="succeeded").exists()
    # The live run is untouched and writes its own outcome.
    assert apply_outcome(second, execute(second, deadline=timezone.now().timestamp() + 30))
    assert list(Attempt.objects.filter(outcome="succeeded").values_list("number")) == [(1,)]
