"""The claim: runnable jobs only, highest priority then oldest, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import Job, JobStatus, Worker
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker() -> Worker:
    return Worker.objects.create(name="w1", hostname="h", pid=1)


def claim(worker: Worker, limit: int = 10, queues: list[str] | None = None) -> list[Job]:
    return dialect_for(connection).claim(
        worker_id=worker.pk, queues=queues, limit=limit, lease_seconds=30, now=timezone.now()
    )


def test_claim_orders_by_priority_then_age_and_marks_running(worker: Worker) -> None:
    now = timezone.now()
    low_old = JobFactory(priority=-50, run_after=now - timedelta(minutes=5))
    normal_new = JobFactory(priority=0, run_after=now - timedelta(seconds=1))
    normal_old = JobFactory(priority=0, run_after=now - timedelta(minutes=1))
    critical = JobFactory(priority=100, run_after=now)
    claimed = claim(worker, limit=3)
    assert [j.pk for j in claimed] == [critical.pk, normal_old.pk, normal_new.pk]
    rows = {j.pk: j for j in Job.objects.all()}
    for job in claimed:
        row = rows[job.pk]
        assert (row.status, row.attempts, row.worker_id) == (JobStatus.RUNNING, 1, worker.pk)
        assert row.lease_expires_at > timezone.now() + timedelta(seconds=20)
        assert job.attempts == 1 and job.status == JobStatus.RUNNING
    assert rows[low_old.pk].status == JobStatus.QUEUED
    assert [j.pk for j in claim(worker)] == [low_old.pk]
    assert claim(worker) == []


def test_claim_returns_in_priority_order(worker: Worker) -> None:
    for priority in (-50, 0, 50, 100):
        JobFactory(priority=priority)
    assert [j.priority for j in claim(worker)] == [100, 50, 0, -50]
    first = JobFactory(priority=-50)
    second = JobFactory(priority=100)
    assert [j.pk for j in claim(worker, limit=1)] == [second.pk]
    assert [j.pk for j in claim(worker, limit=1)] == [first.pk]


def test_claim_skips_future_jobs_other_queues_and_finished(worker: Worker) -> None:
    JobFactory(run_after=timezone.now() + timedelta(minutes=1))
    JobFactory(queue="other")
    JobFactory(status=JobStatus.SUCCEEDED)
    JobFactory(status=JobStatus.RUNNING)
    wanted = JobFactory(queue="emails")
    assert [j.pk for j in claim(worker, queues=["emails"])] == [wanted.pk]
    assert [j.queue for j in claim(worker)] == ["other"]


def test_the_claim_and_reaper_indexes_survive_every_migration() -> None:
    # SQLite rebuilds a table to alter a column and recreates only the indexes Django
    # knows of: the claim's own indexes, created with SQL, must still be there.
    import re

    table = Job._meta.db_table
    expected = {
        re.search(r"CREATE INDEX (\w+)", sql).group(1)  # type: ignore[union-attr]
        for sql in dialect_for(connection).create_indexes_sql(table)
    }
    with connection.cursor() as cursor:
        present = set(connection.introspection.get_constraints(cursor, table))
    assert expected == {"drq_job_runnable", "drq_job_runnable_any", "drq_job_lease"}
    assert expected <= present
